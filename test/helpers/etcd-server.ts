/**
 * A real, throw-away etcd for integration tests: free loopback ports, a temporary data dir, killed when the
 * test closes it and — as a last resort — when the test process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "../../src/registry/etcd-registry-client.js";
import { assertBinary, freePort, installExitHook, liveChildren, tempDirs } from "./child-servers.js";

export interface EtcdServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A new client for this server (closed by close()). */
  client(): Etcd3;
  /** Kills the process (SIGKILL, like a crash); keeps the data dir. */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same data. */
  restart(): Promise<void>;
  /** Kills the process and removes the data dir; idempotent. */
  close(): Promise<void>;
  /** Compacts the key space up to the current revision. */
  compact(): Promise<void>;
}

const ETCD_BINARY = process.env.ETCD_BINARY ?? "etcd";
const READY_TIMEOUT_MS = 15_000;

/** Starts an etcd and resolves once it reports healthy. */
export async function startEtcd(): Promise<EtcdServer> {
  assertBinary(ETCD_BINARY, "scripts/install-etcd.sh", "ETCD_BINARY");
  installExitHook();
  const dataDir = mkdtempSync(join(tmpdir(), "refract-etcd-"));
  tempDirs.add(dataDir);
  const clients: Etcd3[] = [];
  let current: ChildProcess | undefined;
  let closed = false;
  let clientPort = 0;
  let peerPort = 0;

  async function launch(): Promise<void> {
    const name = "refract-test";
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const child = spawn(
      ETCD_BINARY,
      [
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${name}=${peerUrl}`,
        "--initial-cluster-state=new",
        // Faster election on (re)start. Also lowers etcd's minimum lease TTL (1.5 × election timeout,
        // rounded up to seconds) to 1 s, so 1 s leases in tests really are 1 s.
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--logger=zap",
        "--log-level=error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    current = child;
    liveChildren.add(child);
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4_000);
    });
    let exited: string | undefined;
    child.once("exit", (code, signal) => {
      liveChildren.delete(child);
      exited = `etcd exited (code ${code}, signal ${signal}): ${stderr.trim() || "no output"}`;
    });
    child.once("error", (error) => {
      exited = `etcd failed to start: ${error.message}`;
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(exited);
      try {
        const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(500) });
        const body = (await response.json()) as { health?: string };
        if (body.health === "true") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`etcd did not become healthy within ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function kill(): Promise<void> {
    const child = current;
    current = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  // Ports are found free and then handed to etcd, so another process can take one in between: retry.
  for (let attempt = 1; ; attempt++) {
    clientPort = await freePort();
    peerPort = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      await kill();
      if (attempt >= 3 || !/address already in use/i.test(String(error))) {
        rmSync(dataDir, { recursive: true, force: true });
        tempDirs.delete(dataDir);
        throw error;
      }
    }
  }
  const endpoint = `http://127.0.0.1:${clientPort}`;

  const server: EtcdServer = {
    endpoint,
    client() {
      const client = createEtcdClient({ endpoints: [endpoint], callTimeoutMs: 3_000 });
      clients.push(client);
      return client;
    },
    stop: kill,
    async restart() {
      if (closed) throw new Error("etcd server is closed");
      await kill();
      await launch();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const client of clients.splice(0)) client.close();
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
      tempDirs.delete(dataDir);
    },
    async compact() {
      const client = createEtcdClient({ endpoints: [endpoint], callTimeoutMs: 3_000 });
      try {
        const { header } = await client.kv.range({ key: Buffer.from("\0") });
        await client.kv.compact({ revision: header.revision, physical: true });
      } finally {
        client.close();
      }
    },
  };
  return server;
}
