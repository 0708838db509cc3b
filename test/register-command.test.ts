/** `refract register`: argument handling in-process, and the real command as a child process. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Etcd3 } from "etcd3";
import { parseRegisterArgs, runRegisterCommand } from "../src/cli/register-command.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { waitFor } from "./helpers/wait.js";

const MAIN = fileURLToPath(new URL("../src/cli/register-command-main.ts", import.meta.url));

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { stream, text: () => text };
}

describe("refract register: arguments", () => {
  test("each problem on its own line, exit code 2", async () => {
    const stderr = collect();
    const code = await runRegisterCommand(
      [
        "--etcd",
        "localhost:2379",
        "--name",
        "bad name",
        "--address",
        "nope",
        "--ttl",
        "10",
        "--log-level",
        "loud",
      ],
      {},
      { stderr: stderr.stream },
    );
    assert.equal(code, 2);
    const lines = stderr
      .text()
      .split("\n")
      .filter((l) => l.startsWith("refract register: "));
    assert.deepEqual(lines, [
      'refract register: --etcd: "localhost:2379" is not an etcd endpoint (want http://host:port or https://host:port)',
      'refract register: --ttl: "10" has no unit (use ms, s, m or h, e.g. "10s")',
      "refract register: --log-level: must be one of fatal, error, warn, info, debug, trace, silent",
      'refract register: --name: invalid backend name "bad name"',
      'refract register: --address: "nope" is not host:port',
    ]);
  });

  test("missing required flags and unknown flags", async () => {
    assert.deepEqual(parseRegisterArgs([], {}), [
      "--etcd: missing (or set REFRACT_ETCD)",
      "--name: missing",
      "--address: missing",
    ]);
    const unknown = parseRegisterArgs(["--bogus"], {});
    assert.ok(Array.isArray(unknown) && unknown.length === 1 && /bogus/.test(unknown[0] ?? ""));
    assert.deepEqual(
      parseRegisterArgs(["--name", "n", "--address", "h:1", "--ttl", "500ms"], {
        REFRACT_ETCD: "http://e:2379",
      }),
      ["--ttl: must be at least 1s (etcd leases count whole seconds), got 500ms"],
    );
  });

  test("flags, environment and defaults", () => {
    assert.deepEqual(
      parseRegisterArgs(
        [
          "--name",
          "library",
          "--address",
          "[::1]:50051",
          "--ttl",
          "1.5s",
          "--id",
          "a/b",
          "--tls",
          "--authority",
          "lib",
        ],
        {
          REFRACT_ETCD: "http://e1:2379, http://e2:2379",
          REFRACT_ETCD_PREFIX: "/x/",
          REFRACT_LOG_LEVEL: "debug",
        },
      ),
      {
        endpoints: ["http://e1:2379", "http://e2:2379"],
        name: "library",
        address: "[::1]:50051",
        ttlMs: 1500,
        prefix: "/x/",
        instanceId: "a/b",
        metadata: { tls: true, authority: "lib" },
        logLevel: "debug",
      },
    );
    const parsed = parseRegisterArgs(["--etcd", "http://e:1", "--name", "n", "--address", "h:1"], {});
    assert.ok(!Array.isArray(parsed) && parsed !== "help");
    assert.equal(parsed.ttlMs, 10_000);
    assert.equal(parsed.prefix, "/refract/backends/");
    assert.equal(parseRegisterArgs(["--help"], {}), "help");
  });
});

describe("refract register (real etcd)", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  before(async () => {
    etcd = await startEtcd();
    client = etcd.client();
  });
  after(async () => {
    await etcd?.close();
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`as a child process: registers, and on ${signal} removes its key and exits 0`, async () => {
      const key = `/refract/backends/library/${signal}`;
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          MAIN,
          "--etcd",
          etcd.endpoint,
          "--name",
          "library",
          "--address",
          "127.0.0.1:50051",
          "--id",
          signal,
          "--ttl",
          "2s",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      try {
        await waitFor(async () => (await client.get(key).string()) !== null, 15_000, `the key ${key}`);
        assert.deepEqual(JSON.parse((await client.get(key).string()) ?? "null"), {
          Op: 0,
          Addr: "127.0.0.1:50051",
        });
        child.kill(signal);
        assert.equal(await exited, 0, output);
        assert.equal(await client.get(key).string(), null, "the key is gone when the process has exited");
        assert.match(output, /"msg":"deregistered /);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    });
  }

  test("in-process: an abort signal deregisters and resolves 0", async () => {
    const stdout = collect();
    const stop = new AbortController();
    const running = runRegisterCommand(
      ["--etcd", etcd.endpoint, "--name", "user", "--address", "u:1", "--log-level", "debug"],
      {},
      { stdout: stdout.stream, signal: stop.signal },
    );
    const key = "/refract/backends/user/u:1";
    await waitFor(async () => (await client.get(key).string()) !== null, 10_000, "registration");
    stop.abort();
    assert.equal(await running, 0);
    assert.equal(await client.get(key).string(), null);
    assert.match(stdout.text(), /"cmd":"register"/);
  });
});
