import assert from "node:assert/strict";
import { METHODS } from "node:http";
import { after, before, describe, test } from "node:test";
import { type GatewayHarness, startGatewayHarness } from "./helpers/gateway-harness.js";
import { isStatusBody, RawHttpConnection, type RawResponse, rawRequest } from "./helpers/raw-http.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 13, points 5–8: requests no ordinary client sends, over raw TCP to the gateway's real port. Each
 * gets a google.rpc.Status body (CONTRACT.md §3) or a connection that stays usable, and the in-flight
 * gauge forgets requests whose client went away.
 */

const GET_SHELF = "/acme.library.v1.LibraryService/GetShelf";
const SHELF_1 = JSON.stringify({ shelfId: "1" });

function post(path: string, body: string, extra = ""): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`
  );
}

function assertStatus(response: RawResponse | undefined, httpStatus: number, code: number): RawResponse {
  assert.ok(response, "an answer, not a bare close");
  const text = response.body.toString();
  assert.equal(response.status, httpStatus, text);
  assert.match(String(response.headers["content-type"]), /^application\/json/);
  assert.ok(isStatusBody(response.body), `a google.rpc.Status body: ${text}`);
  assert.equal((JSON.parse(text) as { code: number }).code, code, text);
  return response;
}

describe("front: hostile HTTP/1.1 requests", () => {
  let h: GatewayHarness;
  let port: number;

  before(async () => {
    h = await startGatewayHarness({ users: false });
    port = Number(new URL(h.publicUrl).port);
  });
  after(() => h?.close());

  const inFlight = async (): Promise<number> => {
    const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
    const match = /^refract_http_requests_in_flight (\d+)$/m.exec(text);
    assert.ok(match, "the in-flight gauge is exported");
    return Number(match[1]);
  };

  test("5: extension methods get 405 with Allow on a known path, 404 code 5 elsewhere", async () => {
    // Every method Node parses that Fastify does not route (SEARCH, PROPFIND, PURGE, LINK, …); CONNECT
    // is a tunnel, not a request (Node closes it).
    const routed = new Set(h.gateway.app.supportedMethods);
    const extension = METHODS.filter((m) => !routed.has(m) && m !== "CONNECT");
    assert.ok(extension.includes("SEARCH") && extension.includes("PURGE") && extension.length >= 20);
    const connection = await RawHttpConnection.open(port);
    try {
      for (const method of extension) {
        // One keep-alive connection for all of them: each answer leaves it usable.
        connection.write(`${method} ${GET_SHELF} HTTP/1.1\r\nHost: gateway\r\n\r\n`);
        const byDefaultPath = assertStatus(await connection.response(), 405, 12);
        assert.equal(byDefaultPath.headers.allow, "POST", method);
        connection.write(`${method} /v1/shelves/1 HTTP/1.1\r\nHost: gateway\r\n\r\n`);
        const byRestRoute = assertStatus(await connection.response(), 405, 12);
        assert.match(String(byRestRoute.headers.allow), /\bGET\b.*\bDELETE\b|\bDELETE\b.*\bGET\b/, method);
        connection.write(`${method} /no/such/path HTTP/1.1\r\nHost: gateway\r\n\r\n`);
        assertStatus(await connection.response(), 404, 5);
      }
      // A body on an extension method is not read as JSON, and does not desynchronise the connection.
      connection.write(post(GET_SHELF, SHELF_1).replace(/^POST/, "PROPFIND"));
      assertStatus(await connection.response(), 405, 12);
      connection.write(post(GET_SHELF, SHELF_1));
      const served = await connection.response();
      assert.equal(served?.status, 200, served?.body.toString());
    } finally {
      connection.destroy();
    }
  });

  test("6: Expect other than 100-continue is 417 with a Status body", async () => {
    const response = await rawRequest(port, post(GET_SHELF, SHELF_1, "Expect: garbage\r\n"));
    assertStatus(response, 417, 9);
    // 100-continue itself is served.
    const continued = await rawRequest(port, post(GET_SHELF, SHELF_1, "Expect: 100-continue\r\n"));
    assert.equal(continued?.status, 200, continued?.body.toString());
  });

  test("6: an HTTP/1.1 request without Host is 400 with a Status body; HTTP/1.0 needs none", async () => {
    const bare = `POST ${GET_SHELF} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${SHELF_1.length}\r\n\r\n${SHELF_1}`;
    const response = assertStatus(await rawRequest(port, bare), 400, 3);
    assert.match(response.body.toString(), /Host/);
    const old = await rawRequest(port, bare.replace("HTTP/1.1", "HTTP/1.0"));
    assert.equal(old?.status, 200, old?.body.toString());
  });

  test("6: more header fields than the limit is 431, never a request with some of them dropped", async () => {
    const filler = (count: number) => Array.from({ length: count }, (_, i) => `X-F${i}: v\r\n`).join("");
    // Before the fix, fields past the 1000th were dropped: this Grpc-Timeout was never seen.
    const over = await rawRequest(port, post(GET_SHELF, SHELF_1, `${filler(1200)}Grpc-Timeout: garbage\r\n`));
    assertStatus(over, 431, 8);
    const justOver = await rawRequest(port, post(GET_SHELF, SHELF_1, filler(1001 - 3)));
    assertStatus(justOver, 431, 8);
    // At the limit (Host, Content-Type, Content-Length + 997), the last field still counts.
    const atLimit = await rawRequest(
      port,
      post(GET_SHELF, SHELF_1, `${filler(996)}Grpc-Timeout: garbage\r\n`),
    );
    assertStatus(atLimit, 400, 3);
    assert.match(String(atLimit?.body), /timeout/i);
  });

  test("7: uploads abandoned mid-body are counted out of the in-flight gauge", async () => {
    assert.equal(await inFlight(), 0);
    // The gateway must have read each head (and started on the body) before its client goes away.
    let seen = 0;
    const onRequest = (): void => {
      seen++;
    };
    h.gateway.app.server.on("request", onRequest);
    const connections = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const connection = await RawHttpConnection.open(port);
        connection.write(
          `POST ${GET_SHELF} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n` +
            `Content-Length: 40\r\n\r\n{"shelfId`,
        );
        return connection;
      }),
    );
    await waitFor(() => seen >= 50 || undefined, 5000, "the gateway to read the 50 request heads");
    h.gateway.app.server.off("request", onRequest);
    for (const connection of connections) connection.destroy();
    await waitFor(async () => (await inFlight()) === 0 || undefined, 5000, "the in-flight gauge back at 0");
    // And a request after them is still counted in and out.
    const served = await rawRequest(port, post(GET_SHELF, SHELF_1));
    assert.equal(served?.status, 200);
    await waitFor(async () => (await inFlight()) === 0 || undefined, 5000, "the in-flight gauge back at 0");
  });

  test("8: Upgrade: websocket on a plain POST is served and its connection stays usable", async () => {
    const connection = await RawHttpConnection.open(port);
    try {
      connection.write(post(GET_SHELF, SHELF_1, "Upgrade: websocket\r\n"));
      const first = await connection.response();
      assert.equal(first?.status, 200, first?.body.toString());
      assert.notEqual(first?.headers.connection?.toLowerCase(), "close");
      connection.write(post(GET_SHELF, SHELF_1));
      const second = await connection.response();
      assert.equal(second?.status, 200, "a second request on the same connection is answered");
    } finally {
      connection.destroy();
    }
  });

  test("8: a POST that asks for the upgrade is served as HTTP and says Connection: close", async () => {
    const connection = await RawHttpConnection.open(port);
    try {
      connection.write(post(GET_SHELF, SHELF_1, "Upgrade: websocket\r\nConnection: Upgrade\r\n"));
      const response = await connection.response();
      assert.equal(response?.status, 200, response?.body.toString());
      assert.equal(response?.headers.connection?.toLowerCase(), "close");
      await connection.closed;
      assert.equal(connection.unread.length, 0);
    } finally {
      connection.destroy();
    }
  });

  test("8: a WebSocket handshake ws refuses gets a Status body", async () => {
    const response = await rawRequest(
      port,
      `GET ${GET_SHELF} HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assertStatus(response, 400, 3);
    const badVersion = await rawRequest(
      port,
      `GET ${GET_SHELF} HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n",
    );
    assertStatus(badVersion, 400, 3);
    assert.equal(badVersion?.headers["sec-websocket-version"], "13, 8");
  });
});
