import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server as NetServer } from "node:net";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Cancellation } from "../src/upstream/cancellation.js";
import { type H2CallError, type H2UnaryOptions, H2UnaryTransport } from "../src/upstream/h2-unary.js";

/**
 * The gateway's own HTTP/2 client (src/upstream/h2-connection.ts) against real grpc-js servers, at the
 * edges of the protocol that small unary calls never reach: flow control both ways, a backend's limit
 * on concurrent streams, header blocks split into CONTINUATION frames, GOAWAY, response metadata through
 * HPACK's dynamic table, and a peer that does not speak HTTP/2 at all.
 */

const ECHO = "/test.raw.Raw/Echo";

interface RawServer {
  address: string;
  port: number;
  server: grpc.Server;
  close(): Promise<void>;
}

type RawHandler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void;

/** A grpc-js server with one raw-bytes unary method (no schema needed to test a transport). */
async function startRawServer(
  handler: RawHandler,
  options: grpc.ServerOptions = {},
  port = 0,
): Promise<RawServer> {
  const server = new grpc.Server(options);
  const bytes = (value: Buffer): Buffer => value;
  server.register(ECHO, handler, bytes, bytes, "unary");
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${bound}`,
    port: bound,
    server,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

function callOptions(overrides: Partial<H2UnaryOptions> = {}): H2UnaryOptions {
  return {
    metadata: new grpc.Metadata(),
    deadline: Date.now() + 10_000,
    cancellation: undefined,
    maxResponseBytes: 64 << 20,
    ...overrides,
  };
}

const instanceAt = (address: string) => ({ backend: "raw", id: address, address, metadata: {} });

test("requests and responses larger than every flow-control window arrive whole", async () => {
  const server = await startRawServer((call, callback) => callback(null, call.request), {
    "grpc.max_receive_message_length": 64 << 20,
    "grpc.max_send_message_length": 64 << 20,
  });
  const transport = new H2UnaryTransport();
  try {
    // 10 MiB: above the peer's initial stream and connection windows (64 KiB) for the request, and above
    // half of the gateway's own receive windows for the response, so WINDOW_UPDATEs must flow both ways.
    const payload = randomBytes(10 << 20);
    const calls = await Promise.all(
      [0, 1].map(() => transport.call(instanceAt(server.address), ECHO, payload, callOptions())),
    );
    for (const result of calls)
      assert.ok(result.message.equals(payload), "the echo differs from the request");
  } finally {
    transport.close();
    await server.close();
  }
});

test("calls above the backend's concurrent-stream limit wait for a slot instead of being refused", async () => {
  let active = 0;
  let peak = 0;
  const server = await startRawServer(
    (call, callback) => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        callback(null, call.request);
      }, 50);
    },
    { "grpc.max_concurrent_streams": 2 },
  );
  const transport = new H2UnaryTransport();
  try {
    // The first call lets the backend's SETTINGS arrive; the next twelve go out together.
    await transport.call(instanceAt(server.address), ECHO, Buffer.from("warm"), callOptions());
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        transport.call(instanceAt(server.address), ECHO, Buffer.from(`call ${i}`), callOptions()),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.message.toString()),
      Array.from({ length: 12 }, (_, i) => `call ${i}`),
    );
    assert.equal(peak, 2);
  } finally {
    transport.close();
    await server.close();
  }
});

test("metadata larger than one frame goes out in CONTINUATION frames", async () => {
  const server = await startRawServer(
    (call, callback) => {
      const big = String(call.metadata.get("x-big")[0] ?? "");
      const trailer = new grpc.Metadata();
      trailer.set("x-big-length", String(big.length));
      callback(null, Buffer.from(big.slice(0, 16)), trailer);
    },
    { "grpc.max_metadata_size": 1 << 20 },
  );
  const transport = new H2UnaryTransport();
  try {
    const metadata = new grpc.Metadata();
    // 40,000 bytes: more than two frames of the default 16 KiB maximum frame size.
    const big = "abcdefghij".repeat(4000);
    metadata.set("x-big", big);
    const result = await transport.call(
      instanceAt(server.address),
      ECHO,
      Buffer.from("x"),
      callOptions({ metadata }),
    );
    assert.equal(result.message.toString(), big.slice(0, 16));
    assert.deepEqual(result.trailers.get("x-big-length"), ["40000"]);
  } finally {
    transport.close();
    await server.close();
  }
});

test("response headers and trailers decode exactly across many calls (HPACK dynamic table, Huffman)", async () => {
  const server = await startRawServer((call, callback) => {
    const text = call.request.toString();
    const headers = new grpc.Metadata();
    headers.set("x-echo", text);
    headers.set("x-constant", "the same on every call");
    call.sendMetadata(headers);
    const trailers = new grpc.Metadata();
    trailers.set("x-trailer", `${text}!`);
    trailers.set("x-bin", Buffer.from(text));
    callback(null, Buffer.from(text), trailers);
  });
  const transport = new H2UnaryTransport();
  try {
    for (let i = 0; i < 60; i++) {
      // Printable ASCII of varying lengths: Huffman codes of 5 to 13 bits.
      const text = `${i}:${"~Az09 %/|{".repeat(i % 7)}${String.fromCharCode(33 + (i % 90))}`;
      const result = await transport.call(instanceAt(server.address), ECHO, Buffer.from(text), callOptions());
      assert.equal(result.message.toString(), text);
      assert.deepEqual(result.headers.get("x-echo"), [text]);
      assert.deepEqual(result.headers.get("x-constant"), ["the same on every call"]);
      assert.deepEqual(result.trailers.get("x-trailer"), [`${text}!`]);
      assert.deepEqual(result.trailers.get("x-bin"), [Buffer.from(text)]);
    }
  } finally {
    transport.close();
    await server.close();
  }
});

test("a backend that shuts down gracefully finishes its calls; later calls use a new connection", async () => {
  let release: (() => void) | undefined;
  const handler: RawHandler = (call, callback) => {
    if (call.request.toString() === "slow") release = () => callback(null, Buffer.from("done"));
    else callback(null, call.request);
  };
  const first = await startRawServer(handler);
  const transport = new H2UnaryTransport();
  const instance = instanceAt(first.address);
  try {
    const slow = transport.call(instance, ECHO, Buffer.from("slow"), callOptions());
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    // tryShutdown sends GOAWAY and waits for the call in flight.
    const closed = first.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    assert.equal((await slow).message.toString(), "done");
    await closed;
    const second = await startRawServer(handler, {}, first.port);
    try {
      const result = await transport.call(instance, ECHO, Buffer.from("again"), callOptions());
      assert.equal(result.message.toString(), "again");
    } finally {
      await second.close();
    }
  } finally {
    transport.close();
  }
});

test("a peer that does not speak HTTP/2 fails the call (UNAVAILABLE) without hanging", async () => {
  const sockets = new Set<import("node:net").Socket>();
  const http1: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"));
  });
  await new Promise<void>((resolve) => http1.listen(0, "127.0.0.1", resolve));
  const { port } = http1.address() as { port: number };
  const transport = new H2UnaryTransport();
  try {
    const error = await transport
      .call(instanceAt(`127.0.0.1:${port}`), ECHO, Buffer.from("x"), callOptions())
      .then(
        () => assert.fail("a call to an HTTP/1.1 server succeeded"),
        (e: H2CallError) => e,
      );
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    assert.match(error.details, /protocol error|closed/i);
  } finally {
    transport.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => http1.close(resolve));
  }
});

test("a response above the size limit is refused (RESOURCE_EXHAUSTED) and the stream reset", async () => {
  const server = await startRawServer((_call, callback) => callback(null, Buffer.alloc(2 << 20, 1)));
  const transport = new H2UnaryTransport();
  try {
    const error = await transport
      .call(instanceAt(server.address), ECHO, Buffer.from("x"), callOptions({ maxResponseBytes: 1 << 20 }))
      .then(
        () => assert.fail("an oversized response was accepted"),
        (e: H2CallError) => e,
      );
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    // The connection stays usable.
    const ok = await transport.call(instanceAt(server.address), ECHO, Buffer.from("x"), callOptions());
    assert.equal(ok.message.length, 2 << 20);
  } finally {
    transport.close();
    await server.close();
  }
});

test("a call whose request is already cancelled is not sent; one cancelled in flight is reset", async () => {
  let arrived = 0;
  let cancelledOnServer = 0;
  const server = await startRawServer((call, callback) => {
    arrived++;
    call.on("cancelled", () => cancelledOnServer++);
    setTimeout(() => callback(null, call.request), 2000).unref();
  });
  const transport = new H2UnaryTransport();
  try {
    const early = new Cancellation();
    early.cancel();
    const refused = await transport
      .call(instanceAt(server.address), ECHO, Buffer.from("x"), callOptions({ cancellation: early }))
      .then(
        () => assert.fail("a cancelled call succeeded"),
        (e: H2CallError) => e,
      );
    assert.equal(refused.code, grpc.status.CANCELLED);
    const later = new Cancellation();
    const pending = transport
      .call(instanceAt(server.address), ECHO, Buffer.from("y"), callOptions({ cancellation: later }))
      .then(
        () => assert.fail("a cancelled call succeeded"),
        (e: H2CallError) => e,
      );
    while (arrived === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    later.cancel();
    assert.equal((await pending).code, grpc.status.CANCELLED);
    while (cancelledOnServer === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(arrived, 1);
  } finally {
    transport.close();
    await server.close();
  }
});

test("a call cancelled while it waits for a stream slot never reaches the backend", async () => {
  const seen: string[] = [];
  let release: (() => void) | undefined;
  const server = await startRawServer(
    (call, callback) => {
      seen.push(call.request.toString());
      if (call.request.toString() === "first") release = () => callback(null, call.request);
      else callback(null, call.request);
    },
    { "grpc.max_concurrent_streams": 1 },
  );
  const transport = new H2UnaryTransport();
  const instance = instanceAt(server.address);
  try {
    await transport.call(instance, ECHO, Buffer.from("warm"), callOptions());
    const first = transport.call(instance, ECHO, Buffer.from("first"), callOptions());
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const cancellation = new Cancellation();
    const waiting = transport.call(instance, ECHO, Buffer.from("queued"), callOptions({ cancellation })).then(
      () => assert.fail("a cancelled call succeeded"),
      (e: H2CallError) => e,
    );
    cancellation.cancel();
    assert.equal((await waiting).code, grpc.status.CANCELLED);
    release();
    assert.equal((await first).message.toString(), "first");
    const after = await transport.call(instance, ECHO, Buffer.from("after"), callOptions());
    assert.equal(after.message.toString(), "after");
    assert.deepEqual(seen, ["warm", "first", "after"]);
  } finally {
    transport.close();
    await server.close();
  }
});

test("a backend that breaks the protocol gets a GOAWAY naming the error, and the call fails", async () => {
  const received: Buffer[] = [];
  let closed!: () => void;
  const peerClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const peer: NetServer = createServer((socket) => {
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("close", () => closed());
    socket.on("error", () => {});
    // A SETTINGS frame whose length is not a multiple of 6: FRAME_SIZE_ERROR (RFC 9113 §6.5).
    socket.write(Buffer.from([0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]));
  });
  await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
  const { port } = peer.address() as { port: number };
  const transport = new H2UnaryTransport();
  try {
    const error = await transport
      .call(instanceAt(`127.0.0.1:${port}`), ECHO, Buffer.from("x"), callOptions())
      .then(
        () => assert.fail("a call to a broken peer succeeded"),
        (e: H2CallError) => e,
      );
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    assert.match(error.details, /protocol error/);
    await peerClosed;
    // After the 24-byte preface: frames of 9-byte headers; the last one is GOAWAY with FRAME_SIZE_ERROR.
    const bytes = Buffer.concat(received).subarray(24);
    const frames: Array<{ type: number; payload: Buffer }> = [];
    for (let offset = 0; offset + 9 <= bytes.length; ) {
      const length = bytes.readUIntBE(offset, 3);
      frames.push({ type: bytes[offset + 3]!, payload: bytes.subarray(offset + 9, offset + 9 + length) });
      offset += 9 + length;
    }
    const last = frames.at(-1);
    assert.equal(last?.type, 0x7);
    // Last-Stream-ID counts streams the peer started (RFC 9113 §6.8): a client without push has none.
    assert.equal(last?.payload.readUInt32BE(0), 0);
    assert.equal(last?.payload.readUInt32BE(4), 0x6);
  } finally {
    transport.close();
    await new Promise((resolve) => peer.close(resolve));
  }
});
