import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import WebSocket from "ws";
import type { RunningBackend } from "../fixtures/backends.js";
import {
  type GatewayHarness,
  postJson,
  startGatewayHarness,
  startProtoBackend,
} from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 7, global concurrency: with `--max-concurrent-requests N`, N slow calls in flight make the next
 * request a 503 with a google.rpc.Status body and Retry-After; finished, aborted and WebSocket calls give
 * their slot back.
 */

const PROTO = `
syntax = "proto3";
package acme.slow.v1;
message SleepRequest { int32 ms = 1; }
message SleepResponse { int32 slept_ms = 1; }
service Slow { rpc Sleep(SleepRequest) returns (SleepResponse); }
`;
const SLEEP = "/acme.slow.v1.Slow/Sleep";
const LIMIT = 3;

describe("front: global concurrency limit", () => {
  let backend: RunningBackend;
  let h: GatewayHarness;
  let running = 0;

  before(async () => {
    backend = await startProtoBackend({
      proto: PROTO,
      services: {
        "acme.slow.v1.Slow": {
          Sleep(call: grpc.ServerUnaryCall<{ ms: number }, unknown>, callback: grpc.sendUnaryData<unknown>) {
            running++;
            let done = false;
            const finish = (): void => {
              if (done) return;
              done = true;
              running--;
              clearTimeout(timer);
            };
            const timer = setTimeout(() => {
              finish();
              callback(null, { slept_ms: call.request.ms });
            }, call.request.ms);
            call.on("cancelled", finish);
          },
        },
      },
    });
    h = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "slow", address: backend.address }],
      gateway: { maxConcurrentRequests: LIMIT },
    });
  });
  after(async () => {
    await h?.close();
    await backend?.close();
  });

  test("N slow calls in flight: the next request is 503 with a Status body and Retry-After", async () => {
    const slow = Array.from({ length: LIMIT }, () => postJson(`${h.publicUrl}${SLEEP}`, { ms: 800 }));
    await waitFor(() => running === LIMIT || undefined, 5000, "the slow calls to reach the backend");
    const refused = await postJson(`${h.publicUrl}${SLEEP}`, { ms: 1 });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.ok(refused.headers.get("x-request-id"));
    assert.match(String(refused.headers.get("content-type")), /^application\/json/);
    const body = refused.body as { code: number; message: string; details: unknown[] };
    assert.equal(body.code, 14);
    assert.match(body.message, /^gateway saturated: 3 requests in flight \(limit 3\)/);
    assert.deepEqual(body.details, []);
    // The held calls were not disturbed, and their slots come back when they end.
    for (const answer of await Promise.all(slow)) assert.equal(answer.status, 200);
    const after = await postJson(`${h.publicUrl}${SLEEP}`, { ms: 1 });
    assert.equal(after.status, 200);
    const line = await h.logs.waitFor((l) => l.status === 503);
    assert.equal(line.grpcStatus, "UNAVAILABLE");
  });

  test("a client that goes away gives its slot back", async () => {
    const aborts = Array.from({ length: LIMIT }, () => new AbortController());
    const held = aborts.map((abort) =>
      fetch(`${h.publicUrl}${SLEEP}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ms: 10_000 }),
        signal: abort.signal,
      }).catch(() => undefined),
    );
    await waitFor(() => running === LIMIT || undefined, 5000, "the held calls to reach the backend");
    assert.equal((await postJson(`${h.publicUrl}${SLEEP}`, { ms: 1 })).status, 503);
    for (const abort of aborts) abort.abort();
    await Promise.all(held);
    await waitFor(() => running === 0 || undefined, 5000, "the backend calls to be cancelled");
    const answer = await waitFor(
      async () => {
        const attempt = await postJson(`${h.publicUrl}${SLEEP}`, { ms: 1 });
        return attempt.status === 200 ? attempt : undefined;
      },
      5000,
      "a free slot",
    );
    assert.equal(answer.status, 200);
  });

  test("WebSocket calls count while open and give their slot back when closed", async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: LIMIT },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(`${h.publicUrl.replace(/^http/, "ws")}${SLEEP}`);
            socket.once("open", () => resolve(socket));
            socket.once("error", reject);
          }),
      ),
    );
    assert.equal((await postJson(`${h.publicUrl}${SLEEP}`, { ms: 1 })).status, 503);
    // An upgrade over the limit is refused before the upgrade, and its socket closed.
    const refused = await new Promise<number | undefined>((resolve) => {
      const socket = new WebSocket(`${h.publicUrl.replace(/^http/, "ws")}${SLEEP}`);
      socket.once("unexpected-response", (_request, response) => {
        response.resume();
        resolve(response.statusCode);
      });
      socket.once("open", () => resolve(101));
      socket.once("error", () => {});
    });
    assert.equal(refused, 503);
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.once("close", () => resolve());
            socket.close();
          }),
      ),
    );
    const answer = await waitFor(
      async () => {
        const attempt = await postJson(`${h.publicUrl}${SLEEP}`, { ms: 1 });
        return attempt.status === 200 ? attempt : undefined;
      },
      5000,
      "a free slot",
    );
    assert.equal(answer.status, 200);
  });
});
