import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import type * as grpc from "@grpc/grpc-js";
import WebSocket from "ws";
import type { RunningBackend } from "../fixtures/backends.js";
import { type GatewayHarness, startGatewayHarness, startProtoBackend } from "./helpers/gateway-harness.js";

/**
 * Issue 7, browsers and bytes: CORS (preflight from an allowed and a refused origin, the headers of the
 * actual request, exposed headers computed per response, the Origin of WebSocket upgrades) and
 * compression both ways (gzip/br responses
 * above the threshold, gzip request bodies, a corrupt body, a body that inflates over the limit, streams
 * left uncompressed).
 */

const LIB = "/acme.library.v1.LibraryService";
const ALLOWED = "https://app.example.com";
const REFUSED = "https://evil.example.net";
const MAX_REQUEST_BYTES = 64 * 1024;

const PROTO = `
syntax = "proto3";
package acme.probe.v1;
message EchoRequest { string text = 1; }
message EchoResponse { string text = 1; }
service Probe { rpc Echo(EchoRequest) returns (EchoResponse); }
`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as received (still compressed if the response was). */
  raw: Buffer;
}

function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: options.method ?? "POST", headers: options.headers ?? {}, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            raw: Buffer.concat(chunks),
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

const json = (answer: Answer): Record<string, unknown> => JSON.parse(answer.raw.toString("utf8"));

describe("front: CORS", () => {
  let probe: RunningBackend;
  let h: GatewayHarness;
  let plain: GatewayHarness;

  before(async () => {
    probe = await startProtoBackend({
      proto: PROTO,
      services: {
        "acme.probe.v1.Probe": {
          Echo(call: grpc.ServerUnaryCall<{ text: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
            const metadata = new (call.metadata.constructor as typeof grpc.Metadata)();
            metadata.set("x-served-by", "probe-1");
            call.sendMetadata(metadata);
            const trailer = new (call.metadata.constructor as typeof grpc.Metadata)();
            trailer.set("x-cost", "7");
            callback(null, { text: call.request.text }, trailer);
          },
        },
      },
    });
    h = await startGatewayHarness({
      users: false,
      backends: [{ name: "probe", address: probe.address }],
      gateway: { corsOrigins: [ALLOWED], corsCredentials: true, corsMaxAgeMs: 600_000 },
    });
    plain = await startGatewayHarness({ users: false });
  });
  after(async () => {
    await h?.close();
    await plain?.close();
    await probe?.close();
  });

  test("a preflight from an allowed origin is answered 204, with the cache time", async () => {
    const answer = await send(`${h.publicUrl}${LIB}/GetShelf`, {
      method: "OPTIONS",
      headers: {
        origin: ALLOWED,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, grpc-timeout, grpc-metadata-tenant",
      },
    });
    assert.equal(answer.status, 204);
    assert.equal(answer.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(answer.headers["access-control-allow-credentials"], "true");
    assert.match(String(answer.headers["access-control-allow-methods"]), /\bPOST\b/);
    assert.match(String(answer.headers["access-control-allow-methods"]), /\bDELETE\b/);
    assert.equal(
      answer.headers["access-control-allow-headers"],
      "content-type, grpc-timeout, grpc-metadata-tenant",
    );
    assert.equal(answer.headers["access-control-max-age"], "600");
    assert.match(String(answer.headers.vary), /origin/i);
  });

  test("a preflight from a refused origin gets 403 with a Status body and no CORS headers", async () => {
    const answer = await send(`${h.publicUrl}${LIB}/GetShelf`, {
      method: "OPTIONS",
      headers: { origin: REFUSED, "access-control-request-method": "POST" },
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.headers["access-control-allow-origin"], undefined);
    const body = json(answer);
    assert.equal(body.code, 7);
    assert.match(String(body.message), /origin https:\/\/evil\.example\.net is not allowed/);
  });

  test("the actual request from an allowed origin exposes the headers it carries", async () => {
    const answer = await send(`${h.publicUrl}/acme.probe.v1.Probe/Echo`, {
      headers: { origin: ALLOWED, "content-type": "application/json" },
      body: JSON.stringify({ text: "hi" }),
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["access-control-allow-origin"], ALLOWED);
    assert.equal(answer.headers["access-control-allow-credentials"], "true");
    const exposed = String(answer.headers["access-control-expose-headers"]).split(", ");
    for (const name of ["grpc-metadata-x-served-by", "grpc-trailer-x-cost", "x-request-id"]) {
      assert.ok(exposed.includes(name), `${name} exposed: ${exposed.join(", ")}`);
    }
    // Exactly the ones this response carries: no wildcard, nothing absent, nothing safelisted.
    for (const name of exposed) assert.ok(answer.headers[name] !== undefined, `${name} is carried`);
    assert.ok(!exposed.includes("content-type"));
    assert.equal(answer.headers["grpc-metadata-x-served-by"], "probe-1");
    // An error response exposes what it carries too (no grpc-* here, the request id always).
    const missing = await send(`${h.publicUrl}${LIB}/GetShelf`, {
      headers: { origin: ALLOWED, "content-type": "application/json" },
      body: JSON.stringify({ shelfId: "999" }),
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["access-control-allow-origin"], ALLOWED);
    assert.match(String(missing.headers["access-control-expose-headers"]), /x-request-id/);
  });

  test("a request from a refused origin is served without CORS headers (the browser hides it)", async () => {
    const answer = await send(`${h.publicUrl}/acme.probe.v1.Probe/Echo`, {
      headers: { origin: REFUSED, "content-type": "application/json" },
      body: JSON.stringify({ text: "hi" }),
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["access-control-allow-origin"], undefined);
    assert.equal(answer.headers["access-control-expose-headers"], undefined);
    assert.match(String(answer.headers.vary), /origin/i);
  });

  test("without --cors-origin no origin is allowed", async () => {
    const preflight = await send(`${plain.publicUrl}${LIB}/GetShelf`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED, "access-control-request-method": "POST" },
    });
    assert.equal(preflight.headers["access-control-allow-origin"], undefined);
    assert.ok(preflight.status >= 400, String(preflight.status));
    const actual = await send(`${plain.publicUrl}${LIB}/GetShelf`, {
      headers: { origin: ALLOWED, "content-type": "application/json" },
      body: JSON.stringify({ shelfId: "1" }),
    });
    assert.equal(actual.status, 200);
    assert.equal(actual.headers["access-control-allow-origin"], undefined);
  });

  test("WebSocket upgrades: same origin and allowed origins open, other origins get 403", async () => {
    const open = (base: string, origin: string) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(`${base.replace(/^http/, "ws")}${LIB}/GetShelf`, { origin });
        socket.once("open", () => {
          socket.close();
          resolve("open");
        });
        socket.once("unexpected-response", (_request, response) => {
          resolve(`status ${response.statusCode}`);
          response.resume();
          socket.terminate();
        });
        socket.once("error", () => {});
      });
    assert.equal(await open(h.publicUrl, ALLOWED), "open");
    assert.equal(await open(h.publicUrl, REFUSED), "status 403");
    assert.equal(await open(plain.publicUrl, plain.publicUrl), "open");
    assert.equal(await open(plain.publicUrl, ALLOWED), "status 403");
  });

  test("`*` with credentials is refused at start-up", async () => {
    await assert.rejects(
      startGatewayHarness({
        library: false,
        users: false,
        gateway: { corsOrigins: ["*"], corsCredentials: true },
      }),
      /cors-origin: `\*` cannot be combined with --cors-credentials/,
    );
  });
});

describe("front: compression", () => {
  let h: GatewayHarness;

  before(async () => {
    h = await startGatewayHarness({ users: false, gateway: { maxRequestBytes: MAX_REQUEST_BYTES } });
  });
  after(() => h?.close());

  const theme = "Cartography and the history of maps, ".repeat(60); // ~2.2 KB: over the 1 KiB threshold

  test("gzip round trip: a gzip request body is decoded, the response is gzip when asked", async () => {
    const answer = await send(`${h.publicUrl}${LIB}/CreateShelf`, {
      headers: { "content-type": "application/json", "content-encoding": "gzip", "accept-encoding": "gzip" },
      body: gzipSync(JSON.stringify({ shelf: { theme } })),
    });
    assert.equal(answer.status, 200, answer.raw.toString());
    assert.equal(answer.headers["content-encoding"], "gzip");
    assert.match(String(answer.headers.vary), /accept-encoding/i);
    assert.ok(answer.raw.length < theme.length / 4, `compressed to ${answer.raw.length} bytes`);
    const shelf = JSON.parse(gunzipSync(answer.raw).toString("utf8")) as { theme: string };
    assert.equal(shelf.theme, theme);
  });

  test("br when the client prefers it; identity when it does not ask", async () => {
    const body = JSON.stringify({ shelf: { theme } });
    const br = await send(`${h.publicUrl}${LIB}/CreateShelf`, {
      headers: { "content-type": "application/json", "accept-encoding": "br;q=1, gzip;q=0.5" },
      body,
    });
    assert.equal(br.headers["content-encoding"], "br");
    assert.equal((JSON.parse(brotliDecompressSync(br.raw).toString()) as { theme: string }).theme, theme);
    const none = await send(`${h.publicUrl}${LIB}/CreateShelf`, {
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(none.headers["content-encoding"], undefined);
    assert.equal((json(none) as { theme: string }).theme, theme);
  });

  test("a response under the threshold is sent as it is", async () => {
    const answer = await send(`${h.publicUrl}${LIB}/GetShelf`, {
      headers: { "content-type": "application/json", "accept-encoding": "gzip, br" },
      body: JSON.stringify({ shelfId: "1" }),
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["content-encoding"], undefined);
    assert.equal(json(answer).id, "1");
  });

  test("a corrupt gzip body is 400", async () => {
    const good = gzipSync(JSON.stringify({ shelfId: "1" }));
    const corrupt = Buffer.concat([
      good.subarray(0, 10),
      Buffer.from("not deflate data at all"),
      good.subarray(10),
    ]);
    const answer = await send(`${h.publicUrl}${LIB}/GetShelf`, {
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: corrupt,
    });
    assert.equal(answer.status, 400);
    assert.equal(json(answer).code, 3);
  });

  test("a small gzip body that inflates over --max-request-bytes is 413", async () => {
    const huge = JSON.stringify({ shelf: { theme: " ".repeat(MAX_REQUEST_BYTES * 4) } });
    const compressed = gzipSync(huge);
    assert.ok(compressed.length < MAX_REQUEST_BYTES / 10);
    const answer = await send(`${h.publicUrl}${LIB}/CreateShelf`, {
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: compressed,
    });
    assert.equal(answer.status, 413);
    assert.equal(json(answer).code, 8);
  });

  test("an unknown Content-Encoding is 415", async () => {
    const answer = await send(`${h.publicUrl}${LIB}/GetShelf`, {
      headers: { "content-type": "application/json", "content-encoding": "compress" },
      body: "{}",
    });
    assert.equal(answer.status, 415);
    assert.equal(json(answer).code, 3);
  });

  test("NDJSON and SSE streams are never compressed, so each message leaves at once", async () => {
    const answer = await send(`${h.publicUrl}${LIB}/StreamBooks`, {
      headers: { "content-type": "application/json", "accept-encoding": "gzip, br" },
      body: JSON.stringify({ parent: "shelves/2", count: 3, payloadBytes: 2048 }),
    });
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/x-ndjson/);
    assert.equal(answer.headers["content-encoding"], undefined);
    assert.equal(answer.raw.toString("utf8").trim().split("\n").length, 3);
    const events = await send(`${h.publicUrl}${LIB}/StreamBooks`, {
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        "accept-encoding": "gzip, br",
      },
      body: JSON.stringify({ parent: "shelves/2", count: 3, payloadBytes: 2048 }),
    });
    assert.equal(events.status, 200);
    assert.match(String(events.headers["content-type"]), /^text\/event-stream/);
    assert.equal(events.headers["content-encoding"], undefined);
    // Readable as it is: one `data:` line per book (plus whatever closes the stream).
    assert.ok(
      (events.raw.toString("utf8").match(/^data: \{"name"/gm) ?? []).length === 3,
      events.raw.toString(),
    );
  });
});
