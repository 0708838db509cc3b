import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import WebSocket from "ws";
import { type GatewayHarness, startGatewayHarness } from "./helpers/gateway-harness.js";

/**
 * Issue 6 flow control: a slow reader must slow the backend down instead of piling messages up in the
 * gateway. Gateway, backend and client share this process, so the memory measured bounds all three; the
 * un-read remainder of each stream is several times the bound.
 */

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const LIB = "/acme.library.v1.LibraryService";
const MESSAGES = 100_000;
const PAYLOAD_BYTES = 2000;
const GROWTH_LIMIT_BYTES = 64 * 1024 * 1024;
const SLOW_PHASE_MS = 3_000;

interface MemorySample {
  rss: number;
  retained: number;
}

function sampleMemory(): MemorySample {
  const m = process.memoryUsage();
  return { rss: m.rss, retained: m.heapUsed + m.external + m.arrayBuffers };
}

/** Samples memory every 50 ms until stopped; reports the largest growth over `baseline`. */
function watchMemory(baseline: MemorySample): { stop(): { rss: number; retained: number } } {
  let rss = 0;
  let retained = 0;
  const timer = setInterval(() => {
    const now = sampleMemory();
    rss = Math.max(rss, now.rss - baseline.rss);
    retained = Math.max(retained, now.retained - baseline.retained);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return { rss, retained };
    },
  };
}

const MiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function countNewlines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

describe("flow control", () => {
  let h: GatewayHarness;

  before(async () => {
    h = await startGatewayHarness({ users: false, gateway: { maxRequestBytes: 64 * 1024 } });
  });
  after(() => h.close());

  test(`a slow HTTP reader of ${MESSAGES} messages: memory stays bounded, every message arrives`, async (t) => {
    // Warm the path up so the baseline includes compiled code and pooled buffers.
    await (
      await fetch(`${h.publicUrl}/v1/shelves/1/books:stream?count=2000&payloadBytes=${PAYLOAD_BYTES}`)
    ).text();
    gc();
    const baseline = sampleMemory();
    const watch = watchMemory(baseline);

    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get(
          `${h.publicUrl}/v1/shelves/1/books:stream?count=${MESSAGES}&payloadBytes=${PAYLOAD_BYTES}`,
          { headers: { "grpc-timeout": "2M" } },
          resolve,
        )
        .on("error", reject);
    });
    assert.equal(response.statusCode, 200);
    response.pause();
    // A failed assertion must not leave the stream open (the gateway would wait for it on close).
    t.after(() => response.destroy());

    // Slow phase: 32 KiB every 100 ms (~320 KiB/s), far below what the backend could produce.
    let lines = 0;
    let bytes = 0;
    let tail: Buffer = Buffer.alloc(0);
    const take = (chunk: Buffer): void => {
      lines += countNewlines(chunk);
      bytes += chunk.length;
      tail = chunk;
    };
    const slowUntil = performance.now() + SLOW_PHASE_MS;
    while (performance.now() < slowUntil) {
      let got = 0;
      for (let chunk = response.read() as Buffer | null; chunk; chunk = response.read() as Buffer | null) {
        take(chunk);
        got += chunk.length;
        if (got >= 32 * 1024) break;
      }
      await delay(100);
    }
    const slow = watch.stop();
    const expectedBytes = MESSAGES * (PAYLOAD_BYTES + 150);
    const unread = expectedBytes - bytes;
    assert.ok(unread > 2 * GROWTH_LIMIT_BYTES, `the un-read remainder (${MiB(unread)}) dwarfs the limit`);
    assert.ok(
      slow.rss < GROWTH_LIMIT_BYTES && slow.retained < GROWTH_LIMIT_BYTES,
      `memory grew by rss ${MiB(slow.rss)}, heap+buffers ${MiB(slow.retained)} while ${MiB(unread)} were un-read`,
    );

    t.diagnostic(
      `slow phase: growth rss ${MiB(slow.rss)}, heap+buffers ${MiB(slow.retained)}; un-read ${MiB(unread)}`,
    );
    // Fast phase: read the rest; every message arrives, and the stream ends OK.
    response.on("data", take);
    response.resume(); // an explicit pause() is not undone by adding a 'data' listener
    await once(response, "end");
    assert.equal(lines, MESSAGES);
    const last = tail.toString("utf8").trimEnd().split("\n").at(-1) ?? "";
    assert.match(last, new RegExp(`^\\{"result":\\{"name":"shelves/1/books/${MESSAGES}"`));
  });

  test("a slow WebSocket reader: the gateway stops reading the backend instead of buffering", async (t) => {
    const count = MESSAGES;
    const url = `${h.publicUrl.replace(/^http/, "ws")}${LIB}/StreamBooks`;
    // Warm up (compiled code, pooled buffers) so the baseline is not the cold process.
    const warm = new WebSocket(url);
    await once(warm, "open");
    warm.send(JSON.stringify({ count: 2000, payload_bytes: PAYLOAD_BYTES }));
    await once(warm, "close");
    gc();
    const baseline = sampleMemory();
    const watch = watchMemory(baseline);
    const socket = new WebSocket(url, {
      headers: { "grpc-timeout": "2M" },
    });
    let received = 0;
    socket.on("message", () => {
      received++;
    });
    t.after(() => socket.terminate());
    await once(socket, "open");
    socket.send(JSON.stringify({ count, payload_bytes: PAYLOAD_BYTES }));
    await delay(200);
    socket.pause();
    const atPause = received;
    await delay(SLOW_PHASE_MS / 2);
    const paused = watch.stop();
    t.diagnostic(
      `paused: growth rss ${MiB(paused.rss)}, heap+buffers ${MiB(paused.retained)}; ${received} received`,
    );
    assert.ok(received - atPause < 64, "a paused client receives nothing more");
    assert.ok(
      paused.rss < GROWTH_LIMIT_BYTES && paused.retained < GROWTH_LIMIT_BYTES,
      `memory grew by rss ${MiB(paused.rss)}, heap+buffers ${MiB(paused.retained)}`,
    );
    assert.ok(
      (count - received) * PAYLOAD_BYTES > GROWTH_LIMIT_BYTES,
      `most of the stream is still un-sent (${received} received)`,
    );
    const closed = once(socket, "close");
    socket.resume();
    const [code] = await closed;
    assert.equal(code, 1000);
    assert.equal(received, count);
  });

  test("a client stream larger than the body limit passes line by line (backpressure towards the client)", async () => {
    const lines = 20_000;
    const line = `${JSON.stringify({ parent: "shelves/2", book: { title: "bulk".padEnd(200, ".") } })}\n`;
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        `${h.publicUrl}/acme.library.v1.LibraryService/ImportBooks`,
        { method: "POST", headers: { "content-type": "application/x-ndjson" } },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            body += chunk;
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on("error", reject);
      (async () => {
        for (let i = 0; i < lines; i++) {
          if (!request.write(line)) await once(request, "drain");
        }
        request.end();
      })().catch(reject);
    });
    assert.equal(result.status, 200, result.body);
    assert.ok(lines * line.length > 4 * 64 * 1024, "the body is far over the per-line limit");
    assert.equal((JSON.parse(result.body) as { imported: number }).imported, lines);
  });
});
