import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";
import { parseNdjson } from "./helpers/ndjson.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 6 over plain HTTP/1.1, response side: server streaming as NDJSON and SSE against the real
 * LibraryService StreamBooks, its errors before and after the first byte, deadlines, disconnects and
 * unreachable instances. Client streaming and bidi bodies: streaming-requests.test.ts.
 */

const LIB = "/acme.library.v1.LibraryService";
const MAX_REQUEST_BYTES = 64 * 1024;

async function streamBooks(
  url: string,
  request: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${url}${LIB}/StreamBooks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(request),
  });
  return { response, text: await response.text() };
}

/** A small Server-Sent Events parser (WHATWG HTML §9.2.6) over a fetch body, as EventSource reads it. */
async function readEvents(response: Response): Promise<Array<{ event: string; data: string }>> {
  const events: Array<{ event: string; data: string }> = [];
  let buffer = "";
  let event = "";
  let data: string[] = [];
  const decoder = new TextDecoder();
  const take = (line: string): void => {
    if (line === "") {
      if (data.length > 0) events.push({ event: event || "message", data: data.join("\n") });
      event = "";
      data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  };
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) take(line);
  }
  return events;
}

describe("streaming over HTTP", () => {
  let h: GatewayHarness;

  before(async () => {
    h = await startGatewayHarness({ users: false, gateway: { maxRequestBytes: MAX_REQUEST_BYTES } });
  });
  after(() => h.close());

  describe("server streaming", () => {
    test("three messages as NDJSON on the default route, with the backend's header metadata", async () => {
      const { response, text } = await streamBooks(h.publicUrl, { parent: "shelves/2", count: 3 });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/x-ndjson");
      assert.ok(response.headers.get("x-request-id"));
      assert.ok(response.headers.get("grpc-metadata-date"), "header metadata as Grpc-Metadata-*");
      assert.ok(text.endsWith("\n"));
      const lines = parseNdjson(text);
      assert.deepEqual(
        lines.map((l) => l.result?.name),
        ["shelves/2/books/1", "shelves/2/books/2", "shelves/2/books/3"],
      );
      assert.equal(lines[0]!.result!.createTime, "2023-11-14T22:13:20Z", "proto3 JSON mapping applies");
    });

    test("three messages as NDJSON on the REST route (path and query bound)", async () => {
      const response = await fetch(`${h.publicUrl}/v1/shelves/1/books:stream?count=3`);
      assert.equal(response.status, 200);
      const lines = parseNdjson(await response.text());
      assert.deepEqual(
        lines.map((l) => l.result?.title),
        ["Streamed book 1", "Streamed book 2", "Streamed book 3"],
      );
      assert.equal(lines[2]!.result!.name, "shelves/1/books/3");
    });

    test("each message is written as it arrives, not when the stream ends", async () => {
      const started = performance.now();
      const response = await fetch(`${h.publicUrl}/v1/shelves/1/books:stream?count=3&intervalMs=400`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      const firstAfterMs = performance.now() - started;
      assert.match(new TextDecoder().decode(first.value), /"Streamed book 1"/);
      assert.ok(firstAfterMs < 600, `first line after ${firstAfterMs} ms; the stream takes ≥ 800 ms`);
      let rest = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      assert.ok(performance.now() - started >= 750);
      assert.equal(parseNdjson(rest).length, 2);
    });

    test("an error after the first message is a last {error} line with the gRPC status", async () => {
      const { response, text } = await streamBooks(h.publicUrl, { count: 5, fail_after: 2 });
      assert.equal(response.status, 200);
      const lines = parseNdjson(text);
      assert.equal(lines.length, 3);
      assert.ok(lines[0]!.result && lines[1]!.result);
      assert.deepEqual(lines[2], {
        error: { code: 10, message: "stream aborted after 2 books (fail_after)", details: [] },
      });
      const log = await h.logs.waitFor((l) => l.msg === "request completed" && l.grpcCode === 10);
      assert.equal(log.status, 200);
    });

    test("an error before the first message is a normal error response with its HTTP status", async () => {
      const { response, text } = await streamBooks(h.publicUrl, { parent: "racks/1", count: 3 });
      assert.equal(response.status, 400);
      assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(JSON.parse(text), {
        code: 3,
        message: 'parent must look like "shelves/{shelf}", got "racks/1"',
        details: [],
      });
      // A stream that fails before its first message: its trailers are known, so they are headers.
      assert.ok(response.headers.get("grpc-trailer-date"));
    });

    test("a request the gateway cannot encode is 400 before any backend call", async () => {
      const calls = h.library!.calls.length;
      const { response, text } = await streamBooks(h.publicUrl, { count: "many" });
      assert.equal(response.status, 400);
      assert.match(JSON.parse(text).message, /count/);
      assert.equal(h.library!.calls.length, calls);
    });

    test("an unknown method is 404 and GET on a default route is 405", async () => {
      const missing = await postJson(`${h.publicUrl}${LIB}/StreamNothing`, {});
      assert.equal(missing.status, 404);
      const get = await fetch(`${h.publicUrl}${LIB}/StreamBooks`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get("allow"), "POST");
    });

    test("an empty stream is 200 with an empty body", async () => {
      const { response, text } = await streamBooks(h.publicUrl, { count: 0 });
      assert.equal(response.status, 200);
      assert.equal(text, "");
    });

    test("Grpc-Timeout applies to streams: the deadline ends it with a DEADLINE_EXCEEDED line", async () => {
      const { response, text } = await streamBooks(
        h.publicUrl,
        { count: 50, interval_ms: 100 },
        { "grpc-timeout": "350m" },
      );
      assert.equal(response.status, 200);
      const lines = parseNdjson(text);
      assert.ok(lines.length >= 2 && lines.length < 10, `${lines.length} lines`);
      assert.equal(lines.at(-1)!.error?.code, 4);
    });

    test("Server-Sent Events with Accept: text/event-stream, ending with event: end", async () => {
      const response = await fetch(`${h.publicUrl}/v1/shelves/1/books:stream?count=3`, {
        headers: { accept: "text/event-stream" },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/event-stream");
      assert.equal(response.headers.get("cache-control"), "no-cache");
      const events = await readEvents(response);
      assert.deepEqual(
        events.map((e) => e.event),
        ["message", "message", "message", "end"],
      );
      assert.deepEqual(
        events.slice(0, 3).map((e) => (JSON.parse(e.data) as { title: string }).title),
        ["Streamed book 1", "Streamed book 2", "Streamed book 3"],
      );
    });

    test("Server-Sent Events: a failure mid-stream is event: error with the Status", async () => {
      const response = await fetch(`${h.publicUrl}${LIB}/StreamBooks`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ count: 3, fail_after: 1 }),
      });
      const events = await readEvents(response);
      assert.deepEqual(
        events.map((e) => e.event),
        ["message", "error"],
      );
      assert.deepEqual(JSON.parse(events[1]!.data), {
        code: 10,
        message: "stream aborted after 1 books (fail_after)",
        details: [],
      });
    });

    test("a client that disconnects mid-stream cancels the backend call at once", async () => {
      const before = h.library!.calls.length;
      await new Promise<void>((resolve, reject) => {
        const request = http.get(
          `${h.publicUrl}/v1/shelves/1/books:stream?count=1000&intervalMs=20`,
          (response) => {
            assert.equal(response.statusCode, 200);
            response.once("data", () => {
              request.destroy();
              resolve();
            });
          },
        );
        request.on("error", (error) => {
          if ((error as NodeJS.ErrnoException).code !== "ECONNRESET") reject(error);
        });
      });
      const call = await waitFor(() =>
        h.library!.calls.slice(before).find((c) => c.path === `${LIB}/StreamBooks`),
      );
      await waitFor(() => call.cancelled, 2_000, "the backend to see the call cancelled");
    });
  });
});

describe("streams and unreachable instances", () => {
  let a: RunningBackend;
  let b: RunningBackend;
  let h: GatewayHarness;

  before(async () => {
    a = await startLibraryBackend();
    b = await startLibraryBackend();
    h = await startGatewayHarness({
      library: false,
      users: false,
      backends: [
        { name: "library", address: a.address },
        { name: "library", address: b.address },
      ],
    });
  });
  after(async () => {
    await h.close();
    await Promise.all([a.close(), b.close()]);
  });

  test("a stream that could not reach a stopped instance is sent to the other one", async () => {
    await a.close();
    // Round robin puts the stopped instance first for one of every two calls; none may fail.
    for (let i = 0; i < 4; i++) {
      const { response, text } = await streamBooks(h.publicUrl, { count: 3 });
      assert.equal(response.status, 200, text);
      assert.equal(parseNdjson(text).length, 3);
      const imported = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: `${JSON.stringify({ parent: "shelves/1", book: { title: `retry ${i}` } })}\n`,
      });
      assert.equal(imported.status, 200, await imported.clone().text());
      assert.equal(((await imported.json()) as { imported: number }).imported, 1);
    }
    assert.ok(b.calls.filter((c) => c.path === `${LIB}/ImportBooks`).length === 4);
  });

  test("with no reachable instance a stream is 503 UNAVAILABLE before its first byte", async () => {
    await b.close();
    const { response, text } = await streamBooks(h.publicUrl, { count: 3 });
    assert.equal(response.status, 503);
    assert.equal((JSON.parse(text) as { code: number }).code, 14);
  });
});
