import assert from "node:assert/strict";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import type { CatalogMethod } from "../src/catalog/catalog.js";
import type { BackendInstance } from "../src/registry/registry.js";
import { type StreamChannels, type StreamEnd, startStreamingCall } from "../src/upstream/streaming-calls.js";

/**
 * The raw-bytes streaming calls against a real backend: each call kind, and the one retry rule — a call
 * that never reached an instance (nothing listens there) moves to the next instance with the request
 * messages written so far; all instances unreachable is UNAVAILABLE (503).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const LIB = "acme.library.v1.LibraryService";

async function freeClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("streaming calls (upstream)", () => {
  let live: RunningBackend;
  let dead: BackendInstance;
  let liveInstance: BackendInstance;
  const clients = new Map<string, grpc.Client>();
  let types: protobuf.Root;

  const upstreamOf = (instances: BackendInstance[]): StreamChannels => ({
    candidates: () => [...instances],
    client: (instance: BackendInstance) => {
      let client = clients.get(instance.address);
      if (!client) {
        client = new grpc.Client(instance.address, grpc.credentials.createInsecure());
        clients.set(instance.address, client);
      }
      return client;
    },
  });

  const methodOf = (name: string, kind: CatalogMethod["kind"]): CatalogMethod =>
    ({ path: `/${LIB}/${name}`, kind, service: LIB, name, fullName: `${LIB}.${name}` }) as CatalogMethod;

  const encode = (type: string, value: Record<string, unknown>): Uint8Array => {
    const t = types.lookupType(type);
    return t.encode(t.fromObject(value)).finish();
  };
  const decode = (type: string, bytes: Uint8Array): Record<string, unknown> =>
    types.lookupType(type).toObject(types.lookupType(type).decode(bytes), { longs: String }) as Record<
      string,
      unknown
    >;

  /** Runs one call to its end, collecting the response messages. */
  function run(
    upstream: StreamChannels,
    method: CatalogMethod,
    request: Uint8Array | undefined,
    writes: Uint8Array[] = [],
  ): Promise<{ messages: Buffer[]; end: StreamEnd }> {
    return new Promise((resolve) => {
      const messages: Buffer[] = [];
      const call = startStreamingCall(
        upstream,
        method,
        request,
        { metadata: new grpc.Metadata(), deadline: Date.now() + 10_000 },
        { onMessage: (m) => messages.push(m), onEnd: (end) => resolve({ messages, end }) },
      );
      if (method.kind !== "server-streaming") {
        for (const message of writes) call.write(message);
        call.end();
      }
    });
  }

  before(async () => {
    live = await startLibraryBackend();
    liveInstance = { backend: "library", address: live.address } as BackendInstance;
    dead = { backend: "library", address: `127.0.0.1:${await freeClosedPort()}` } as BackendInstance;
    types = new protobuf.Root();
    types.resolvePath = (_origin, target) => join(root, "proto", target);
    await types.load("acme/library/v1/library.proto");
  });
  after(async () => {
    for (const client of clients.values()) client.close();
    await live.close();
  });

  test("server streaming: an unreachable first instance is skipped, the request goes to the next", async () => {
    const request = encode(`acme.library.v1.StreamBooksRequest`, { parent: "shelves/1", count: 3 });
    const { messages, end } = await run(
      upstreamOf([dead, liveInstance]),
      methodOf("StreamBooks", "server-streaming"),
      request,
    );
    assert.equal(end.ok, true);
    assert.equal(end.instance?.address, live.address);
    assert.deepEqual(
      messages.map((m) => decode("acme.library.v1.Book", m).title),
      ["Streamed book 1", "Streamed book 2", "Streamed book 3"],
    );
  });

  test("client streaming: the messages written before the failure are replayed on the next instance", async () => {
    const books = ["Replayed A", "Replayed B", "Replayed C"].map((title) =>
      encode("acme.library.v1.CreateBookRequest", { parent: "shelves/2", book: { title } }),
    );
    const { messages, end } = await run(
      upstreamOf([dead, liveInstance]),
      methodOf("ImportBooks", "client-streaming"),
      undefined,
      books,
    );
    assert.equal(end.ok, true, end.ok ? "" : end.error.message);
    assert.equal(messages.length, 1);
    assert.equal(decode("acme.library.v1.ImportBooksResponse", messages[0]!).imported, 3);
  });

  test("bidi streaming: replayed too, and every message is answered once", async () => {
    const notes = ["one", "two"].map((text) => encode("acme.library.v1.BookChatMessage", { text }));
    const { messages, end } = await run(
      upstreamOf([dead, liveInstance]),
      methodOf("BookChat", "bidi-streaming"),
      undefined,
      notes,
    );
    assert.equal(end.ok, true);
    assert.deepEqual(
      messages.map((m) => decode("acme.library.v1.BookChatMessage", m).text),
      ["one", "two"],
    );
  });

  test("no reachable instance: UNAVAILABLE, after trying each once", async () => {
    const request = encode("acme.library.v1.StreamBooksRequest", { count: 1 });
    const { end } = await run(upstreamOf([dead, dead]), methodOf("StreamBooks", "server-streaming"), request);
    assert.equal(end.ok, false);
    if (!end.ok) {
      assert.equal(end.error.code, 14);
      assert.equal(end.error.httpStatus, 503);
      assert.match(end.error.message, /2 instance\(s\) unreachable/);
    }
  });

  test("a failure after the call reached the backend is not retried", async () => {
    const request = encode("acme.library.v1.StreamBooksRequest", { count: 5, failAfter: 1 });
    const before = live.calls.length;
    const { messages, end } = await run(
      upstreamOf([liveInstance, liveInstance]),
      methodOf("StreamBooks", "server-streaming"),
      request,
    );
    assert.equal(end.ok, false);
    if (!end.ok) assert.equal(end.error.code, 10);
    assert.equal(messages.length, 1);
    assert.equal(live.calls.length - before, 1, "one call only");
  });
});
