import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { startLibraryBackend } from "../fixtures/backends.js";
import { createGateway } from "../src/index.js";
import { createLogger } from "../src/telemetry/logger.js";
import { createLogCapture, postJson } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 13, point 1: one backend whose reflection hangs must not hold the gateway — the public port
 * listens and the healthy backends answer while the hung fetch is still in flight.
 */

const LIBRARY = "/acme.library.v1.LibraryService";

interface HungReflection {
  address: string;
  /** Reflection streams accepted so far. */
  readonly opened: number;
  /** Of those, streams that ended (deadline, cancellation): 0 while the first fetch is still in flight. */
  readonly ended: number;
  close(): void;
}

/** A real grpc-js server whose reflection service (v1 and v1alpha) accepts the stream and never replies. */
async function startHungReflection(): Promise<HungReflection> {
  const server = new grpc.Server();
  let opened = 0;
  let ended = 0;
  const bytes = (b: Buffer): Buffer => b;
  const hang: grpc.handleBidiStreamingCall<Buffer, Buffer> = (call) => {
    opened += 1;
    let done = false;
    const end = (): void => {
      if (!done) ended += 1;
      done = true;
    };
    call.on("data", () => {}); // read every request, answer none
    call.on("error", end);
    call.on("cancelled", end);
    call.on("close", end);
  };
  for (const service of ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]) {
    server.addService(
      {
        ServerReflectionInfo: {
          path: `/${service}/ServerReflectionInfo`,
          requestStream: true,
          responseStream: true,
          requestSerialize: bytes,
          requestDeserialize: bytes,
          responseSerialize: bytes,
          responseDeserialize: bytes,
        },
      },
      { ServerReflectionInfo: hang },
    );
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    get opened() {
      return opened;
    },
    get ended() {
      return ended;
    },
    close: () => server.forceShutdown(),
  };
}

test("a reflection server that never answers delays only itself: the port listens and the healthy backend answers 200 while its fetch is in flight", async () => {
  const library = await startLibraryBackend();
  const hung = await startHungReflection();
  const logs = createLogCapture();
  // The reflection deadline stays at its 10 s default: the hung fetch outlives everything asserted here.
  const gateway = await createGateway({
    port: 0,
    adminPort: 0,
    host: "127.0.0.1",
    adminHost: "127.0.0.1",
    refreshIntervalMs: 0,
    backends: [
      { name: "library", address: library.address },
      { name: "hung", address: hung.address },
    ],
    logger: createLogger({ destination: logs.stream }),
  });
  // Not awaited first: the port must listen before start-up is over, whatever start() waits for.
  const starting = gateway.start();
  try {
    await waitFor(() => hung.opened > 0, 30_000, "the hung reflection stream to open");
    const { port } = await waitFor(
      () => (gateway.app.server.listening ? (gateway.app.server.address() as AddressInfo) : undefined),
      30_000,
      "the public port to listen",
    );
    await waitFor(
      () => (gateway.adminApp.server.listening ? true : undefined),
      30_000,
      "the admin port to listen",
    );
    const answer = await postJson(`http://127.0.0.1:${port}${LIBRARY}/ListShelves`, {});
    assert.equal(answer.status, 200, JSON.stringify(answer.body));

    // All of the above happened while the hung backend's first fetch was still in flight.
    assert.equal(hung.ended, 0, "the first reflection stream of the hung backend is still open");
    const view = (await gateway.adminApp.inject({ method: "GET", url: "/admin/backends" })).json() as {
      backends: Array<{ name: string; instances: Array<Record<string, unknown>> }>;
    };
    const hungInstance = view.backends.find((b) => b.name === "hung")?.instances[0];
    assert.ok(hungInstance, "the hung backend is listed");
    assert.equal(hungInstance.reflectionVersion, null);
    assert.equal(hungInstance.lastError, null, "its fetch has neither answered nor failed yet");
    const libraryInstance = view.backends.find((b) => b.name === "library")?.instances[0];
    assert.equal(libraryInstance?.reflectionVersion, "v1");
    await starting;
  } finally {
    await starting.catch(() => {});
    await gateway.close();
    hung.close();
    await library.close();
  }
});
