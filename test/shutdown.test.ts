import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import type { RunningBackend } from "../fixtures/backends.js";
import { postJson, startProtoBackend } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

type Line = Record<string, unknown>;

const SLOW_PROTO = `syntax = "proto3";
package test.slow;
service Slow { rpc Wait(WaitRequest) returns (WaitReply); }
message WaitRequest { string id = 1; }
message WaitReply { string id = 1; string note = 2; }`;

/** A backend whose `Wait` calls are held until the test releases them. */
async function startSlowBackend(): Promise<{
  backend: RunningBackend;
  arrived: () => number;
  release: () => void;
}> {
  let arrivals = 0;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const backend = await startProtoBackend({
    proto: SLOW_PROTO,
    services: {
      "test.slow.Slow": {
        Wait: (
          call: grpc.ServerUnaryCall<{ id: string }, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          arrivals++;
          released.then(() => callback(null, { id: call.request.id, note: "finished after SIGTERM" }));
        },
      },
    },
  });
  return { backend, arrived: () => arrivals, release };
}

const waitCall = (backend: RunningBackend) => backend.calls.find((c) => c.path === "/test.slow.Slow/Wait");

/** The real CLI in a child process, its JSON log lines collected. */
function startGatewayProcess(args: string[]): {
  child: ChildProcess;
  lines: Line[];
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: Line[] = [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      lines.push({ text });
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, lines, exited };
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

const flags = (address: string, grace: string) => [
  "--backend",
  `slow=${address}`,
  "--host",
  "127.0.0.1",
  "--port",
  "0",
  "--admin-port",
  "0",
  "--refresh-interval",
  "0",
  "--shutdown-grace",
  grace,
];

describe("graceful shutdown (SIGTERM)", () => {
  test("an in-flight call completes, new connections are refused, and the process exits 0", async () => {
    const slow = await startSlowBackend();
    const gw = startGatewayProcess(flags(slow.backend.address, "20s"));
    try {
      const listening = await waitFor(
        () => gw.lines.find((l) => l.msg === "refract listening"),
        30_000,
        "listening",
      );
      const publicUrl = listening.publicUrl as string;
      const adminUrl = listening.adminUrl as string;
      const publicPort = Number(new URL(publicUrl).port);

      const call = postJson(`${publicUrl}/test.slow.Slow/Wait`, { id: "in-flight" });
      await waitFor(() => slow.arrived() === 1, 10_000, "the call to reach the backend");

      gw.child.kill("SIGTERM");
      await waitFor(() => gw.lines.find((l) => l.msg === "shutting down"), 10_000, "the shutdown log line");
      await waitFor(() => connectionRefused(publicPort), 10_000, "the public port to refuse connections");
      // The admin port stays up while draining and tells load balancers to stop sending traffic.
      const ready = await fetch(`${adminUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { reasons: string[] }).reasons, ["shutting down"]);
      assert.equal(waitCall(slow.backend)?.cancelled, false);

      slow.release();
      const answer = await call;
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { id: "in-flight", note: "finished after SIGTERM" });
      assert.equal(await gw.exited, 0);
      const done = gw.lines.find((l) => l.msg === "request completed" && l.rpc === "test.slow.Slow.Wait");
      assert.equal(done?.status, 200);
    } finally {
      slow.release();
      gw.child.kill("SIGKILL");
      await slow.backend.close();
    }
  });

  test("a call still running when the grace period ends is cut, and the process still exits 0", async () => {
    const slow = await startSlowBackend();
    const gw = startGatewayProcess(flags(slow.backend.address, "300ms"));
    try {
      const listening = await waitFor(
        () => gw.lines.find((l) => l.msg === "refract listening"),
        30_000,
        "listening",
      );
      const call = fetch(`${listening.publicUrl as string}/test.slow.Slow/Wait`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "too-slow" }),
      }).then(
        (r) => r.status,
        (error: unknown) => error as Error,
      );
      await waitFor(() => slow.arrived() === 1, 10_000, "the call to reach the backend");
      gw.child.kill("SIGTERM");
      assert.equal(await gw.exited, 0);
      assert.ok((await call) instanceof Error, "the client's connection was closed");
      // Cutting the connection cancelled the backend call instead of leaving it running.
      await waitFor(
        () => waitCall(slow.backend)?.cancelled === true,
        10_000,
        "the backend call to be cancelled",
      );
      assert.ok(
        gw.lines.some((l) => l.msg === "shutdown grace period over; closing the remaining connections"),
      );
    } finally {
      slow.release();
      gw.child.kill("SIGKILL");
      await slow.backend.close();
    }
  });
});

describe("a stop during start-up", () => {
  test("SIGTERM while the gateway waits for etcd: start-up finishes, everything closes, exit 0", async () => {
    // Nothing listens on this port: the registry waits its start timeout for a first list.
    const deadPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const gw = startGatewayProcess([
      "--etcd",
      `http://127.0.0.1:${deadPort}`,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--admin-port",
      "0",
    ]);
    try {
      await waitFor(() => gw.lines.find((l) => l.msg === "starting etcd registry"), 30_000, "start-up");
      gw.child.kill("SIGTERM");
      assert.equal(await gw.exited, 0, "the signal was handled, not its default action");
      assert.ok(gw.lines.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM"));
    } finally {
      gw.child.kill("SIGKILL");
    }
  });
});
