import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { startLibraryBackend } from "../fixtures/backends.js";
import { type H2CallError, H2UnaryTransport } from "../src/upstream/h2-unary.js";
import { startGatewayHarness, startProtoBackend } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * The unary hot path (src/upstream/h2-unary.ts for plaintext backends): a dead instance's calls go to a
 * live one when they cannot have reached it, and a client that goes away cancels the backend call.
 */

async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

test("the lean transport: refused connection = not delivered; a backend's error = delivered", async () => {
  const transport = new H2UnaryTransport();
  const live = await startLibraryBackend();
  try {
    const options = {
      metadata: new Metadata(),
      deadline: Date.now() + 5000,
      cancellation: undefined,
      maxResponseBytes: 1 << 20,
    };
    const dead = { backend: "x", id: "dead", address: await deadAddress(), metadata: {} };
    const refused = await transport
      .call(dead, "/acme.library.v1.LibraryService/GetShelf", new Uint8Array(0), options)
      .then(
        () => assert.fail("a call to a closed port succeeded"),
        (error: H2CallError) => error,
      );
    assert.equal(refused.code, 14);
    assert.equal(refused.notDelivered, true);
    const instance = { backend: "library", id: "live", address: live.address, metadata: {} };
    // GetShelf{shelf_id: 999}: the backend answers NOT_FOUND (trailers-only).
    const notFound = await transport
      .call(instance, "/acme.library.v1.LibraryService/GetShelf", Uint8Array.from([8, 0xe7, 7]), options)
      .then(
        () => assert.fail("expected NOT_FOUND"),
        (error: H2CallError) => error,
      );
    assert.equal(notFound.code, 5);
    assert.equal(notFound.notDelivered, false);
    const ok = await transport.call(
      instance,
      "/acme.library.v1.LibraryService/GetShelf",
      Uint8Array.from([8, 1]),
      options,
    );
    assert.ok(ok.message.length > 0);
  } finally {
    transport.close();
    await live.close();
  }
});

test("calls to an instance that refuses connections are sent to a live one", async () => {
  const live = await startLibraryBackend();
  const h = await startGatewayHarness({
    library: false,
    users: false,
    backends: [
      { name: "library", address: live.address },
      { name: "library", address: await deadAddress() },
    ],
  });
  try {
    const path = `${h.publicUrl}/acme.library.v1.LibraryService/GetShelf`;
    for (let i = 0; i < 20; i++) {
      const response = await fetch(path, {
        method: "POST",
        body: '{"shelfId":"1"}',
        headers: { "content-type": "application/json" },
      });
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal(live.calls.filter((c) => c.path.endsWith("/GetShelf")).length, 20);
  } finally {
    await h.close();
    await live.close();
  }
});

test("a client that goes away cancels the backend's unary call", async () => {
  let arrived = 0;
  const backend = await startProtoBackend({
    proto: `syntax = "proto3"; package test.slow; message Req {} message Res {}
            service Slow { rpc Wait(Req) returns (Res); }`,
    services: {
      "test.slow.Slow": {
        Wait(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
          arrived++;
          setTimeout(() => callback(null, {}), 5000).unref();
        },
      },
    },
  });
  const h = await startGatewayHarness({
    library: false,
    users: false,
    backends: [{ name: "slow", address: backend.address }],
  });
  try {
    const abort = new AbortController();
    const pending = fetch(`${h.publicUrl}/test.slow.Slow/Wait`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
      signal: abort.signal,
    }).catch((error: unknown) => error);
    await waitFor(() => arrived === 1, 5000, "the call to reach the backend");
    abort.abort();
    await pending;
    const call = await waitFor(
      () => backend.calls.find((c) => c.path === "/test.slow.Slow/Wait" && c.cancelled),
      5000,
      "the backend to see the call cancelled",
    );
    assert.equal(call.cancelled, true);
  } finally {
    await h.close();
    await backend.close();
  }
});

test("a plaintext instance with unary calls only gets two connections: reflection's and the own HTTP/2 client's", async () => {
  const live = await startLibraryBackend();
  // A TCP proxy in front of the backend counts the connections the gateway opens to it.
  const sockets = new Set<Socket>();
  let accepted = 0;
  const proxy = createServer((client) => {
    accepted++;
    const upstream = connect(live.port, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as { port: number };
  const h = await startGatewayHarness({
    library: false,
    users: false,
    backends: [{ name: "library", address: `127.0.0.1:${port}` }],
  });
  try {
    const afterStart = accepted;
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${h.publicUrl}/acme.library.v1.LibraryService/GetShelf`, {
        method: "POST",
        body: '{"shelfId":"1"}',
        headers: { "content-type": "application/json" },
      });
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal(afterStart, 1, "reflection's channel");
    assert.equal(accepted, 2, "one more connection carries the unary calls, no grpc-js channel beside it");
    // A stream is what grpc-js carries: its channel is opened on the first stream, not before.
    const stream = await fetch(`${h.publicUrl}/acme.library.v1.LibraryService/StreamBooks`, {
      method: "POST",
      body: '{"parent":"shelves/1","count":2}',
      headers: { "content-type": "application/json" },
    });
    assert.equal(stream.status, 200, await stream.text());
    assert.equal(accepted, 3);
  } finally {
    await h.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    await live.close();
  }
});

test("an address whose connection was never established is failing until a reconnect succeeds", async () => {
  const transport = new H2UnaryTransport();
  const address = await deadAddress();
  const listener = createServer((socket) => socket.destroy());
  try {
    const options = {
      metadata: new Metadata(),
      deadline: Date.now() + 5000,
      cancellation: undefined,
      maxResponseBytes: 1 << 20,
    };
    const instance = { backend: "x", id: "dead", address, metadata: {} };
    const refused = await transport.call(instance, "/x.Y/Z", new Uint8Array(0), options).then(
      () => assert.fail("a call to a closed port succeeded"),
      (error: H2CallError) => error,
    );
    assert.equal(refused.notDelivered, true);
    assert.equal(transport.isFailing(address), true, "the picker tries it last");
    // Something listens there again: the background reconnect (1 s ± 20 %) finds it.
    await new Promise<void>((resolve) =>
      listener.listen(Number(address.split(":")[1]), "127.0.0.1", resolve),
    );
    await waitFor(() => !transport.isFailing(address), 5000, "the reconnect to clear the failing state");
  } finally {
    transport.close();
    await new Promise((resolve) => listener.close(resolve));
  }
});
