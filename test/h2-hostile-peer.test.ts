import assert from "node:assert/strict";
import http2 from "node:http2";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { headerBlock } from "../src/upstream/h2-connection.js";
import { type H2CallError, type H2UnaryOptions, H2UnaryTransport } from "../src/upstream/h2-unary.js";

/**
 * The gateway's own HTTP/2 client (src/upstream/h2-connection.ts) against backends that break the
 * protocol or refuse what it sends (issue 13, points 3 and 4): every such case must fail the calls at
 * once (UNAVAILABLE, or INVALID_ARGUMENT for headers the backend said it would not take), long before
 * their 30 s deadline, and must not let the backend grow the gateway's memory. Frames node:http2 refuses
 * to send are written by hand on a net.Server.
 */

const ECHO = "/test.raw.Raw/Echo";
const DEADLINE_MS = 30_000;

const Type = { Data: 0, Headers: 1, RstStream: 3, Settings: 4, GoAway: 7, WindowUpdate: 8, Continuation: 9 };
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PROTOCOL_ERROR = 0x1;
const COMPRESSION_ERROR = 0x9;
const ENHANCE_YOUR_CALM = 0xb;

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}

const u32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};

/** One connection from the gateway, as the hand-written peer sees it. */
interface PeerConnection {
  readonly socket: Socket;
  /** Every frame the gateway sent, in order. */
  readonly frames: Frame[];
  /** The gateway's GOAWAY, or undefined when the socket closed without one. */
  readonly goAway: Promise<Frame | undefined>;
  /** True once a GOAWAY arrived or the socket closed. */
  readonly ended: () => boolean;
}

interface RawPeer {
  address: string;
  connections: PeerConnection[];
  close(): Promise<void>;
}

/**
 * An HTTP/2 server written by hand: it sends empty SETTINGS (or `settings`), acknowledges the gateway's,
 * and hands every other frame to `script`, which answers as the test needs.
 */
async function startRawPeer(
  script: (peer: PeerConnection, frame: Frame, connection: number) => void,
  settings: Buffer = Buffer.alloc(0),
): Promise<RawPeer> {
  const connections: PeerConnection[] = [];
  const server: NetServer = createServer((socket) => {
    const index = connections.length;
    const frames: Frame[] = [];
    let ended = false;
    let settle!: (goAway: Frame | undefined) => void;
    const goAway = new Promise<Frame | undefined>((resolve) => {
      settle = (value) => {
        ended = true;
        resolve(value);
      };
    });
    const peer: PeerConnection = { socket, frames, goAway, ended: () => ended };
    connections.push(peer);
    socket.on("error", () => {});
    socket.on("close", () => settle(undefined));
    socket.write(frame(Type.Settings, 0, 0, settings));
    let buffer = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!prefaceSeen) {
        if (buffer.length < 24) return;
        buffer = buffer.subarray(24);
        prefaceSeen = true;
      }
      while (buffer.length >= 9 && buffer.length >= 9 + buffer.readUIntBE(0, 3)) {
        const length = buffer.readUIntBE(0, 3);
        const received = {
          type: buffer[3]!,
          flags: buffer[4]!,
          id: buffer.readUInt32BE(5) & 0x7fff_ffff,
          payload: buffer.subarray(9, 9 + length),
        };
        buffer = buffer.subarray(9 + length);
        frames.push(received);
        if (received.type === Type.GoAway) settle(received);
        else if (received.type === Type.Settings && !(received.flags & 0x1)) {
          socket.write(frame(Type.Settings, 0x1, 0));
        } else if (!socket.destroyed) script(peer, received, index);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    connections,
    close: async () => {
      for (const { socket } of connections) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A complete gRPC answer on stream `id`: headers, one message, trailers with grpc-status 0. */
function answer(socket: Socket, id: number, message: string): void {
  const body = Buffer.from(message);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  socket.write(
    Buffer.concat([
      frame(
        Type.Headers,
        END_HEADERS,
        id,
        headerBlock([
          [":status", "200"],
          ["content-type", "application/grpc"],
        ]),
      ),
      frame(Type.Data, 0, id, Buffer.concat([prefix, body])),
      frame(Type.Headers, END_HEADERS | END_STREAM, id, headerBlock([["grpc-status", "0"]])),
    ]),
  );
}

function callOptions(overrides: Partial<H2UnaryOptions> = {}): H2UnaryOptions {
  return {
    metadata: new grpc.Metadata(),
    deadline: Date.now() + DEADLINE_MS,
    cancellation: undefined,
    maxResponseBytes: 1 << 20,
    ...overrides,
  };
}

const instanceAt = (address: string) => ({ backend: "raw", id: address, address, metadata: {} });

/** The call's error, and whether it came before its deadline (a hang ends in DEADLINE_EXCEEDED). */
async function failure(call: Promise<unknown>, deadline: number): Promise<H2CallError> {
  const error = await call.then(
    () => assert.fail("the call succeeded"),
    (e: H2CallError) => e,
  );
  assert.ok(Date.now() < deadline, `the call waited for its deadline: ${error.details}`);
  return error;
}

const withAuthorization = (bytes: number): grpc.Metadata => {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", "x".repeat(bytes));
  return metadata;
};

// RFC 9113 §5.1 (idle streams), §5.1.1 (unexpected stream ids), §6.1, §6.2, §6.4, §6.9.
const unopenedStreamFrames: Array<{ name: string; frame: Buffer }> = [
  { name: "DATA on stream 0", frame: frame(Type.Data, 0, 0, Buffer.from("x")) },
  {
    name: "HEADERS on an even stream (push is off)",
    frame: frame(Type.Headers, END_HEADERS | END_STREAM, 2, headerBlock([[":status", "200"]])),
  },
  {
    name: "HEADERS on an odd stream the gateway never opened",
    frame: frame(Type.Headers, END_HEADERS | END_STREAM, 5, headerBlock([[":status", "200"]])),
  },
  { name: "RST_STREAM on stream 0", frame: frame(Type.RstStream, 0, 0, u32(0)) },
  { name: "WINDOW_UPDATE on a stream never opened", frame: frame(Type.WindowUpdate, 0, 7, u32(1)) },
];

for (const row of unopenedStreamFrames) {
  test(`${row.name}: GOAWAY(PROTOCOL_ERROR), every call fails at once, the next call gets a new connection`, async () => {
    // One stream at a time, so that a second call waits in the gateway and is never delivered.
    const peer = await startRawPeer(
      ({ socket }, received, connection) => {
        if (received.type !== Type.Headers) return;
        if (connection === 0 && received.id === 3) socket.write(row.frame);
        else answer(socket, received.id, `answer on connection ${connection}`);
      },
      Buffer.concat([Buffer.from([0, 3]), u32(1)]),
    );
    const transport = new H2UnaryTransport();
    const instance = instanceAt(peer.address);
    try {
      // The first call also brings the peer's SETTINGS in: the next two see its limit of one stream.
      await transport.call(instance, ECHO, Buffer.from("warm"), callOptions());
      const deadline = Date.now() + DEADLINE_MS;
      const inFlight = transport.call(instance, ECHO, Buffer.from("a"), callOptions({ deadline }));
      const waiting = transport.call(instance, ECHO, Buffer.from("b"), callOptions({ deadline }));
      const [sent, queued] = await Promise.all([failure(inFlight, deadline), failure(waiting, deadline)]);
      assert.equal(sent.code, grpc.status.UNAVAILABLE);
      assert.match(sent.details, /protocol error/);
      assert.equal(sent.notDelivered, false);
      // Never sent: the upstream layer may retry it on another instance.
      assert.equal(queued.code, grpc.status.UNAVAILABLE);
      assert.equal(queued.notDelivered, true);
      const goAway = await peer.connections[0]!.goAway;
      assert.equal(goAway?.payload.readUInt32BE(4), PROTOCOL_ERROR);
      const next = await transport.call(instance, ECHO, Buffer.from("c"), callOptions());
      assert.equal(next.message.toString(), "answer on connection 1");
    } finally {
      transport.close();
      await peer.close();
    }
  });
}

test("request headers above the backend's SETTINGS_MAX_HEADER_LIST_SIZE are not sent: INVALID_ARGUMENT naming the limit", async () => {
  const server = http2.createServer({ settings: { maxHeaderListSize: 16_384 } });
  let streams = 0;
  server.on("stream", (stream) => {
    streams++;
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.from([0, 0, 0, 0, 2, 0x6f, 0x6b]));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const transport = new H2UnaryTransport();
  try {
    // The first call on the connection: a list this large waits for the backend's SETTINGS.
    const deadline = Date.now() + DEADLINE_MS;
    const error = await failure(
      transport.call(
        instanceAt(address),
        ECHO,
        Buffer.from("x"),
        callOptions({ deadline, metadata: withAuthorization(20_000) }),
      ),
      deadline,
    );
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error.details, /limit of 16384 bytes/);
    assert.doesNotMatch(error.details, /127\.0\.0\.1/);
    assert.equal(error.notDelivered, false);
    assert.equal(streams, 0, "the oversized request reached the backend");
    // The connection is fine for calls within the limit.
    const ok = await transport.call(instanceAt(address), ECHO, Buffer.from("x"), callOptions());
    assert.equal(ok.message.toString(), "ok");
  } finally {
    transport.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("a backend that refuses a header block it never announced a limit for fails the call at once", async (t) => {
  await t.test(
    "node:http2 (nghttp2): GOAWAY(COMPRESSION_ERROR) on a 90 KB field, socket left open",
    async () => {
      const server = http2.createServer();
      server.on("stream", (stream) => stream.respond({ ":status": 200 }, { endStream: true }));
      // The session that sent GOAWAY(COMPRESSION_ERROR) would hold server.close() for ever.
      const sessions = new Set<http2.ServerHttp2Session>();
      server.on("session", (session) => sessions.add(session));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
      const transport = new H2UnaryTransport();
      try {
        const deadline = Date.now() + DEADLINE_MS;
        const error = await failure(
          transport.call(
            instanceAt(address),
            ECHO,
            Buffer.from("x"),
            callOptions({ deadline, metadata: withAuthorization(90_000) }),
          ),
          deadline,
        );
        assert.equal(error.code, grpc.status.UNAVAILABLE);
        assert.match(error.details, /HTTP\/2 error 9/);
      } finally {
        transport.close();
        for (const session of sessions) session.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
  await t.test("a peer that resets the stream (REFUSED_STREAM)", async () => {
    const peer = await startRawPeer(({ socket }, received) => {
      if (received.type === Type.Continuation && received.flags & END_HEADERS) {
        socket.write(frame(Type.RstStream, 0, received.id, u32(0x7)));
      }
    });
    const transport = new H2UnaryTransport();
    try {
      const deadline = Date.now() + DEADLINE_MS;
      const error = await failure(
        transport.call(
          instanceAt(peer.address),
          ECHO,
          Buffer.from("x"),
          callOptions({ deadline, metadata: withAuthorization(90_000) }),
        ),
        deadline,
      );
      assert.equal(error.code, grpc.status.UNAVAILABLE);
      assert.equal(error.notDelivered, true);
    } finally {
      transport.close();
      await peer.close();
    }
  });
});

/**
 * A peer answering stream 1 with a header block that never ends: HEADERS without END_HEADERS, then
 * `continuation` frames until the gateway sends GOAWAY or closes, or `limitBytes` are written. Resolves
 * with the bytes written before that was seen; writes wait for 'drain', so only the socket buffers
 * (a few MiB on loopback) lie between what was written and what the gateway read.
 */
async function floodHeaderBlock(
  continuation: Buffer,
  limitBytes: number,
): Promise<{ sentBytes: number; goAway: Frame | undefined; error: H2CallError }> {
  let flooded!: (sent: number) => void;
  const done = new Promise<number>((resolve) => {
    flooded = resolve;
  });
  const peer = await startRawPeer(async (connection, received) => {
    if (received.type !== Type.Headers) return;
    const { socket } = connection;
    // `:status: 200` (static index 8), and no END_HEADERS.
    socket.write(frame(Type.Headers, 0, received.id, Buffer.from([0x88])));
    let sent = 0;
    // 64 frames per write: fewer syscalls, and the check for the gateway's answer stays frequent.
    const batch = Buffer.concat(Array.from({ length: 64 }, () => continuation));
    while (sent < limitBytes && !connection.ended()) {
      sent += batch.length;
      if (!socket.write(batch)) {
        await new Promise<void>((resolve) => {
          socket.once("drain", resolve);
          socket.once("close", resolve);
        });
      }
    }
    flooded(sent);
  });
  const transport = new H2UnaryTransport();
  try {
    const deadline = Date.now() + DEADLINE_MS;
    const error = await failure(
      transport.call(instanceAt(peer.address), ECHO, Buffer.from("x"), callOptions({ deadline })),
      deadline,
    );
    const goAway = await peer.connections[0]!.goAway;
    return { sentBytes: await done, goAway, error };
  } finally {
    transport.close();
    await peer.close();
  }
}

test("an endless header block (CONTINUATION flood) fails the connection after a bounded number of bytes", async () => {
  const flood = 128 << 20;
  const { sentBytes, goAway, error } = await floodHeaderBlock(
    frame(Type.Continuation, 0, 1, Buffer.alloc(16_384, 0x61)),
    flood,
  );
  assert.equal(error.code, grpc.status.UNAVAILABLE);
  assert.equal(goAway?.payload.readUInt32BE(4), ENHANCE_YOUR_CALM);
  // The gateway stops at 256 KiB of block; the rest is what the socket buffers took in meanwhile (about
  // 4 MiB here, at most tcp_rmem + tcp_wmem). Before the fix the whole flood was read and kept.
  assert.ok(sentBytes < 48 << 20, `the peer got to write ${sentBytes} bytes of header block`);
});

test("a flood of empty CONTINUATION frames fails the connection after a bounded number of frames", async () => {
  // 18 MB of 9-byte frames. The byte limit never trips; the GOAWAY comes from the frame count.
  const { goAway, error } = await floodHeaderBlock(frame(Type.Continuation, 0, 1), 9 * (2 << 20));
  assert.equal(error.code, grpc.status.UNAVAILABLE);
  assert.equal(goAway?.payload.readUInt32BE(4), ENHANCE_YOUR_CALM);
});

test("a small header block that expands past the list limit (HPACK bomb) fails the connection", async () => {
  // One 4 KiB field put in the dynamic table, then 100 one-octet references to it: ~4 KB on the wire,
  // 400 KB of header list, above the 256 KiB the gateway advertises.
  const literal = headerBlock([["x-big", "v".repeat(4000)]]);
  literal[0] = 0x40; // literal without indexing (0x00) → with incremental indexing, new name (RFC 7541 §6.2.1)
  const bomb = Buffer.concat([Buffer.from([0x88]), literal, Buffer.alloc(100, 0xbe)]);
  const peer = await startRawPeer(({ socket }, received) => {
    if (received.type === Type.Headers) socket.write(frame(Type.Headers, END_HEADERS, received.id, bomb));
  });
  const transport = new H2UnaryTransport();
  try {
    const deadline = Date.now() + DEADLINE_MS;
    const error = await failure(
      transport.call(instanceAt(peer.address), ECHO, Buffer.from("x"), callOptions({ deadline })),
      deadline,
    );
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    const connection = peer.connections[0]!;
    assert.equal((await connection.goAway)?.payload.readUInt32BE(4), COMPRESSION_ERROR);
    // The limit is announced: SETTINGS_MAX_HEADER_LIST_SIZE (0x6) in the gateway's SETTINGS.
    const settings = connection.frames.find((f) => f.type === Type.Settings && !(f.flags & 0x1));
    const announced: number[] = [];
    for (let offset = 0; settings && offset < settings.payload.length; offset += 6) {
      if (settings.payload.readUInt16BE(offset) === 0x6)
        announced.push(settings.payload.readUInt32BE(offset + 2));
    }
    assert.deepEqual(announced, [256 << 10]);
  } finally {
    transport.close();
    await peer.close();
  }
});
