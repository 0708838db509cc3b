import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import { startLibraryBackend } from "../fixtures/backends.js";
import { EMPTY_SNAPSHOT } from "../src/catalog/catalog.js";
import { createPrometheusMetrics } from "../src/telemetry/metrics.js";
import {
  createMutableRegistry,
  type GatewayHarness,
  parseMetrics,
  postJson,
  scrape,
  startGatewayHarness,
  startProtoBackend,
} from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

const LIBRARY = "acme.library.v1.LibraryService";
const USERS = "acme.user.v1.UserService";

describe("/metrics", () => {
  let h: GatewayHarness;
  before(async () => {
    h = await startGatewayHarness();
  });
  after(() => h.close());

  test("request, latency and upstream metrics move with calls, labelled by RPC, status and code", async () => {
    const before = await scrape(h.adminUrl);
    const getBook = { service: LIBRARY, method: "GetBook" };
    for (let i = 0; i < 2; i++) {
      const r = await postJson(`${h.publicUrl}/${LIBRARY}/GetBook`, { name: "shelves/1/books/1" });
      assert.equal(r.status, 200);
    }
    const rest = await fetch(`${h.publicUrl}/v1/shelves/1/books/1`);
    assert.equal(rest.status, 200, await rest.text());
    const missing = await postJson(`${h.publicUrl}/${USERS}/GetUser`, { id: "42" });
    assert.equal(missing.status, 404);

    const after = await scrape(h.adminUrl);
    const delta = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    assert.equal(delta("refract_http_requests_total", { ...getBook, status: "200", grpc_code: "OK" }), 3);
    assert.equal(
      delta("refract_http_requests_total", {
        service: USERS,
        method: "GetUser",
        status: "404",
        grpc_code: "NOT_FOUND",
      }),
      1,
    );
    assert.equal(delta("refract_http_request_duration_seconds_count", getBook), 3);
    assert.ok(delta("refract_http_request_duration_seconds_sum", getBook) > 0);
    assert.equal(delta("refract_upstream_request_duration_seconds_count", getBook), 3);
    assert.equal(delta("refract_upstream_requests_total", { ...getBook, grpc_code: "OK" }), 3);
    assert.equal(
      delta("refract_upstream_requests_total", { service: USERS, method: "GetUser", grpc_code: "NOT_FOUND" }),
      1,
    );
    assert.equal(after.value("refract_http_requests_in_flight"), 0);
  });

  test("unknown paths share one fixed `unmatched` series instead of creating new ones", async () => {
    const before = await scrape(h.adminUrl);
    for (const path of ["/nope", "/nope/again", `/${LIBRARY}/NoSuchMethod`, "/v1/shelves/1/nothing/here"]) {
      const r = await fetch(`${h.publicUrl}${path}`, { method: "POST" });
      assert.equal(r.status, 404, path);
      await r.arrayBuffer();
    }
    const after = await scrape(h.adminUrl);
    const unmatched = after.find("refract_http_requests_total", {
      service: "unmatched",
      method: "unmatched",
    });
    assert.equal(unmatched.length, 1, JSON.stringify(unmatched));
    assert.deepEqual(unmatched[0]!.labels, {
      service: "unmatched",
      method: "unmatched",
      status: "404",
      grpc_code: "NOT_FOUND",
    });
    assert.equal(
      after.value("refract_http_requests_total", { service: "unmatched" }) -
        before.value("refract_http_requests_total", { service: "unmatched" }),
      4,
    );
    const labelValues = after.samples.flatMap((s) => Object.values(s.labels));
    assert.ok(
      !labelValues.some((v) => v.includes("nope") || v.includes("NoSuchMethod")),
      "no path in any label",
    );
  });

  test("registry, reflection and catalog gauges describe the live state", async () => {
    const m = await scrape(h.adminUrl);
    assert.equal(m.value("refract_registry_instances", { backend: "library" }), 1);
    assert.equal(m.value("refract_registry_instances", { backend: "users" }), 1);
    assert.equal(m.value("refract_registry_connected"), 1);
    assert.ok(m.value("refract_reflection_refreshes_total", { backend: "library" }) >= 1);
    assert.ok(m.value("refract_reflection_duration_seconds_count", { backend: "users" }) >= 1);
    assert.equal(m.value("refract_reflection_failures_total", { backend: "library" }), 0);
    assert.equal(m.value("refract_catalog_methods"), h.gateway.schemaSync.current().methodsByPath.size);
    assert.ok(m.value("refract_catalog_methods") >= 16);
    assert.ok(m.value("refract_catalog_build_duration_seconds_count") >= 1);
    assert.equal(m.value("refract_catalog_generation"), h.gateway.schemaSync.current().generation);
    // Node's own process metrics come along for dashboards and the autoscaler's sanity checks.
    assert.ok(m.find("process_cpu_user_seconds_total").length === 1);
  });

  test("the in-flight gauge counts a call while it is running", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = false;
    const slow = await startProtoBackend({
      proto: `syntax = "proto3"; package test.slow; service Slow { rpc Wait(Req) returns (Req); } message Req { string id = 1; }`,
      services: {
        "test.slow.Slow": {
          Wait: (
            call: grpc.ServerUnaryCall<{ id: string }, unknown>,
            callback: grpc.sendUnaryData<unknown>,
          ) => {
            arrived = true;
            released.then(() => callback(null, { id: call.request.id }));
          },
        },
      },
    });
    const g = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "slow", address: slow.address }],
    });
    try {
      const call = postJson(`${g.publicUrl}/test.slow.Slow/Wait`, { id: "1" });
      await waitFor(() => arrived, 5_000, "the call to reach the backend");
      assert.equal((await scrape(g.adminUrl)).value("refract_http_requests_in_flight"), 1);
      release();
      assert.equal((await call).status, 200);
      await waitFor(async () => (await scrape(g.adminUrl)).value("refract_http_requests_in_flight") === 0);
    } finally {
      release();
      await g.close();
      await slow.close();
    }
  });
});

describe("/metrics with failing sources", () => {
  test("reflection failures are counted per backend", async () => {
    const silent = await startLibraryBackend({ reflection: "none" });
    const h = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "silent", address: silent.address }],
    });
    try {
      const m = await waitFor(async () => {
        const samples = await scrape(h.adminUrl);
        return samples.value("refract_reflection_failures_total", { backend: "silent" }) >= 1
          ? samples
          : undefined;
      });
      assert.ok(m.value("refract_reflection_refreshes_total", { backend: "silent" }) >= 1);
    } finally {
      await h.close();
      await silent.close();
    }
  });

  test("the etcd watch state is read at scrape time (connected gauge)", async () => {
    const library = await startLibraryBackend();
    const registry = createMutableRegistry({ library: [library.address] });
    const h = await startGatewayHarness({ library: false, users: false, gateway: { registry } });
    try {
      assert.equal((await scrape(h.adminUrl)).value("refract_registry_connected"), 1);
      registry.setHealth({
        connected: false,
        detail: "etcd unreachable since 12:00; serving last known set",
      });
      assert.equal((await scrape(h.adminUrl)).value("refract_registry_connected"), 0);
      registry.set("library", [library.address, "127.0.0.1:1"]);
      assert.equal((await scrape(h.adminUrl)).value("refract_registry_instances", { backend: "library" }), 2);
      registry.set("library", []);
      const gone = await scrape(h.adminUrl);
      assert.equal(
        gone.find("refract_registry_instances", { backend: "library" }).length,
        0,
        "no stale series",
      );
    } finally {
      await h.close();
      await library.close();
    }
  });

  test("stream message counters are labelled by RPC and direction", async () => {
    const { metrics, registry } = createPrometheusMetrics({
      registry: createMutableRegistry(),
      snapshot: () => EMPTY_SNAPSHOT,
      processMetrics: false,
    });
    metrics.streamMessage(LIBRARY, "StreamBooks", "sent");
    metrics.streamMessage(LIBRARY, "StreamBooks", "sent");
    metrics.streamMessage(LIBRARY, "ImportBooks", "received");
    const m = parseMetrics(await registry.metrics());
    assert.equal(m.value("refract_stream_messages_total", { method: "StreamBooks", direction: "sent" }), 2);
    assert.equal(
      m.value("refract_stream_messages_total", { method: "ImportBooks", direction: "received" }),
      1,
    );
    assert.equal(m.find("process_cpu_user_seconds_total").length, 0, "its own registry, not the global one");
  });
});
