/**
 * A real, throw-away redis-server for integration tests: a free loopback port, a temporary working dir, no
 * persistence (`--save "" --appendonly no`), killed when the test closes it and — as a last resort — when
 * the test process exits. Like test/helpers/etcd-server.ts for etcd.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertBinary, freePort, installExitHook, liveChildren, tempDirs } from "./child-servers.js";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Kills the process (SIGKILL, like a crash). Nothing is persisted: a restart starts empty. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing is answered (a hung Redis). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Kills the process and removes the working dir; idempotent. */
  close(): Promise<void>;
  /** Sends one inline command (`FLUSHALL`, `DBSIZE`) and resolves with the raw reply line. */
  command(line: string): Promise<string>;
}

const REDIS_BINARY = process.env.REDIS_BINARY ?? "redis-server";
const READY_TIMEOUT_MS = 15_000;

/** One inline command over a fresh socket; bounded by `timeoutMs`. */
function sendCommand(port: number, line: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis did not answer "${line}" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf("\r\n");
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply.slice(0, end));
    });
    socket.write(`${line}\r\n`);
  });
}

/** Starts a redis-server and resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  assertBinary(REDIS_BINARY, "scripts/install-redis.sh", "REDIS_BINARY");
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), "refract-redis-"));
  tempDirs.add(dir);
  let current: ChildProcess | undefined;
  let closed = false;
  let port = 0;

  async function launch(): Promise<void> {
    const child = spawn(
      REDIS_BINARY,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    current = child;
    liveChildren.add(child);
    let output = "";
    const keep = (chunk: string) => {
      output = (output + chunk).slice(-4_000);
    };
    child.stdout?.setEncoding("utf8").on("data", keep);
    child.stderr?.setEncoding("utf8").on("data", keep);
    let exited: string | undefined;
    child.once("exit", (code, signal) => {
      liveChildren.delete(child);
      exited = `redis-server exited (code ${code}, signal ${signal}): ${output.trim() || "no output"}`;
    });
    child.once("error", (error) => {
      exited = `redis-server failed to start: ${error.message}`;
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(exited);
      try {
        if ((await sendCommand(port, "PING", 500)) === "+PONG") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms: ${output.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
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

  // The port is found free and then handed to redis, so another process can take it in between: retry.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      await kill();
      if (attempt >= 3 || !/address already in use/i.test(String(error))) {
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
        throw error;
      }
    }
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: kill,
    async restart() {
      if (closed) throw new Error("redis server is closed");
      await kill();
      await launch();
    },
    async close() {
      if (closed) return;
      closed = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
    freeze() {
      current?.kill("SIGSTOP");
    },
    thaw() {
      current?.kill("SIGCONT");
    },
    command: (line) => sendCommand(port, line),
  };
}
