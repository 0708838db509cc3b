import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import WebSocket from "ws";
import type { RunningBackend } from "../fixtures/backends.js";
import { type GatewayHarness, startGatewayHarness, startProtoBackend } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 6 over WebSocket, with the real `ws` client: every call kind on the same paths as HTTP, one JSON
 * message per text frame, an empty frame as half-close, close codes carrying the final status.
 */

const LIB = "/acme.library.v1.LibraryService";

// The demo BookChat ends its side when the client's side ends — also when that end is a cancellation —
// so its recorded call looks completed. This echo never ends on its own: a cancellation shows as one.
const ECHO_PROTO = `
syntax = "proto3";
package test.echo.v1;
message Note { string text = 1; }
service Echo { rpc Talk(stream Note) returns (stream Note); }
`;
const ECHO = "/test.echo.v1.Echo";

function startEchoBackend(): Promise<RunningBackend> {
  return startProtoBackend({
    proto: ECHO_PROTO,
    services: {
      "test.echo.v1.Echo": {
        Talk: (call: grpc.ServerDuplexStream<{ text: string }, { text: string }>) => {
          call.on("data", (note: { text: string }) => call.write({ text: `echo: ${note.text}` }));
          call.on("error", () => {});
        },
      },
    },
  });
}

/** A connected client that collects what the gateway sends and how it closes. */
interface Client {
  socket: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the next message (or the one already waiting). */
  next(): Promise<string>;
}

async function connect(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<Client> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${path}`, { headers });
  const messages: string[] = [];
  let read = 0;
  let wake: (() => void) | undefined;
  socket.on("message", (data, isBinary) => {
    assert.equal(isBinary, false, "the gateway sends text frames");
    messages.push(String(data));
    wake?.();
  });
  const closed = once(socket, "close").then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
  await once(socket, "open");
  return {
    socket,
    messages,
    closed,
    async next() {
      while (messages.length <= read) {
        await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
        if (messages.length <= read && socket.readyState === WebSocket.CLOSED)
          throw new Error("socket closed");
      }
      return messages[read++]!;
    },
  };
}

describe("streaming over WebSocket", () => {
  let h: GatewayHarness;
  let echo: RunningBackend;

  before(async () => {
    echo = await startEchoBackend();
    h = await startGatewayHarness({ users: false, backends: [{ name: "echo", address: echo.address }] });
  });
  after(async () => {
    await h.close();
    await echo.close();
  });

  test("bidi: each frame is answered as it is sent; an empty frame half-closes; close 1000", async () => {
    const client = await connect(h.publicUrl, `${LIB}/BookChat`);
    client.socket.send(JSON.stringify({ text: "first" }));
    assert.deepEqual(JSON.parse(await client.next()), { text: "first", from: "library" });
    client.socket.send(JSON.stringify({ text: "second" }));
    assert.deepEqual(JSON.parse(await client.next()), { text: "second", from: "library" });
    client.socket.send("");
    assert.deepEqual(await client.closed, { code: 1000, reason: "" });
    assert.equal(client.messages.length, 2);
  });

  test("server streaming: the first frame is the request (default route)", async () => {
    const client = await connect(h.publicUrl, `${LIB}/StreamBooks`);
    client.socket.send(JSON.stringify({ parent: "shelves/2", count: 3 }));
    assert.deepEqual(await client.closed, { code: 1000, reason: "" });
    assert.deepEqual(
      client.messages.map((m) => (JSON.parse(m) as { name: string }).name),
      ["shelves/2/books/1", "shelves/2/books/2", "shelves/2/books/3"],
    );
  });

  test("server streaming on a REST route: path and query bind, an empty first frame is the request", async () => {
    const client = await connect(h.publicUrl, "/v1/shelves/1/books:stream?count=2");
    client.socket.send("");
    assert.deepEqual(await client.closed, { code: 1000, reason: "" });
    assert.equal(client.messages.length, 2);
  });

  test("server streaming: a failure mid-stream closes with 4000 + code and the message", async () => {
    const client = await connect(h.publicUrl, `${LIB}/StreamBooks`);
    client.socket.send(JSON.stringify({ count: 4, fail_after: 2 }));
    assert.deepEqual(await client.closed, {
      code: 4010,
      reason: "stream aborted after 2 books (fail_after)",
    });
    assert.equal(client.messages.length, 2);
  });

  test("unary over a socket: one request frame, one answer, close 1000", async () => {
    const client = await connect(h.publicUrl, `${LIB}/GetShelf`);
    client.socket.send(JSON.stringify({ shelfId: "2" }));
    assert.deepEqual(await client.closed, { code: 1000, reason: "" });
    assert.deepEqual(
      client.messages.map((m) => JSON.parse(m)),
      [{ id: "2", theme: "Science", createTime: "2023-11-14T22:13:20Z" }],
    );
  });

  test("NOT_FOUND closes with 4005 and the status message", async () => {
    const client = await connect(h.publicUrl, `${LIB}/GetShelf`);
    client.socket.send(JSON.stringify({ shelfId: "404" }));
    assert.deepEqual(await client.closed, { code: 4005, reason: "shelf 404 not found" });
    const unknown = await connect(h.publicUrl, "/v1/nowhere");
    assert.deepEqual(await unknown.closed, { code: 4005, reason: "no route for GET /v1/nowhere" });
  });

  test("a long status message is cut to fit the close frame (≤ 123 bytes of UTF-8)", async () => {
    const client = await connect(h.publicUrl, `${LIB}/GetBook`);
    client.socket.send(JSON.stringify({ name: `é${"ü".repeat(200)}` }));
    const { code, reason } = await client.closed;
    assert.equal(code, 4003);
    assert.ok(Buffer.byteLength(reason) <= 123, `${Buffer.byteLength(reason)} bytes`);
    assert.ok(reason.startsWith("name must look like"));
    assert.ok(!reason.includes("\uFFFD"), "no character is cut in half");
  });

  test("client streaming: frames are the messages, the empty frame ends them (also on the REST path)", async () => {
    for (const path of [`${LIB}/ImportBooks`, "/v1/books:import"]) {
      const client = await connect(h.publicUrl, path);
      client.socket.send(JSON.stringify({ parent: "shelves/1", book: { title: "WS one" } }));
      client.socket.send(JSON.stringify({ parent: "shelves/1", book: { title: "WS two" } }));
      client.socket.send("");
      assert.deepEqual(await client.closed, { code: 1000, reason: "" });
      assert.equal((JSON.parse(client.messages[0]!) as { imported: number }).imported, 2, path);
    }
  });

  test("a binary frame closes with 4003 naming the frame", async () => {
    const client = await connect(h.publicUrl, `${LIB}/BookChat`);
    client.socket.send(JSON.stringify({ text: "ok" }));
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    const { code, reason } = await client.closed;
    assert.equal(code, 4003);
    assert.match(reason, /^frame 2: binary frames are not supported/);
  });

  test("malformed JSON closes with 4003 naming the frame", async () => {
    const client = await connect(h.publicUrl, `${LIB}/BookChat`);
    client.socket.send(JSON.stringify({ text: "ok" }));
    client.socket.send(JSON.stringify({ text: "fine" }));
    client.socket.send('{"text": tru');
    const { code, reason } = await client.closed;
    assert.equal(code, 4003);
    assert.match(reason, /^frame 3: /);
  });

  test("a second request frame for a unary method closes with 4003", async () => {
    const client = await connect(h.publicUrl, `${LIB}/StreamBooks`);
    client.socket.send(JSON.stringify({ count: 1000, interval_ms: 50 }));
    client.socket.send(JSON.stringify({ count: 1 }));
    const { code, reason } = await client.closed;
    assert.equal(code, 4003);
    assert.match(reason, /^frame 2: .*takes one request message/);
  });

  test("a client that closes mid-stream cancels the backend call", async () => {
    const before = h.library!.calls.length;
    const client = await connect(h.publicUrl, `${LIB}/StreamBooks`);
    client.socket.send(JSON.stringify({ count: 1000, interval_ms: 20 }));
    await client.next();
    client.socket.close(1000);
    await client.closed;
    const call = await waitFor(() =>
      h.library!.calls.slice(before).find((c) => c.path === `${LIB}/StreamBooks`),
    );
    await waitFor(() => call.cancelled, 2_000, "the backend to see the stream cancelled");
  });

  test("a bidi client that drops the connection cancels the backend call", async () => {
    const before = echo.calls.length;
    const client = await connect(h.publicUrl, `${ECHO}/Talk`);
    client.socket.send(JSON.stringify({ text: "hi" }));
    assert.deepEqual(JSON.parse(await client.next()), { text: "echo: hi" });
    client.socket.terminate();
    const call = await waitFor(() => echo.calls.slice(before).find((c) => c.path === `${ECHO}/Talk`));
    await waitFor(() => call.cancelled, 2_000, "the backend to see the bidi call cancelled");
  });

  test("a bidi client that closes the socket cancels the backend call", async () => {
    const before = echo.calls.length;
    const client = await connect(h.publicUrl, `${ECHO}/Talk`);
    client.socket.send(JSON.stringify({ text: "bye" }));
    await client.next();
    client.socket.close(1000);
    await client.closed;
    const call = await waitFor(() => echo.calls.slice(before).find((c) => c.path === `${ECHO}/Talk`));
    await waitFor(() => call.cancelled, 2_000, "the backend to see the bidi call cancelled");
  });

  test("request headers become metadata for socket calls too", async () => {
    const before = h.library!.calls.length;
    const client = await connect(h.publicUrl, `${LIB}/BookChat`, {
      authorization: "Bearer t0k3n",
      "grpc-metadata-tenant": "acme",
    });
    client.socket.send("");
    await client.closed;
    const call = h.library!.calls.slice(before).find((c) => c.path === `${LIB}/BookChat`);
    assert.equal(call?.metadata.authorization, "Bearer t0k3n");
    assert.equal(call?.metadata.tenant, "acme");
    assert.equal(call?.metadata.upgrade, undefined, "hop-by-hop headers are not forwarded");
  });
});
