import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startLibraryBackend } from "../fixtures/backends.js";
import { createGateway } from "../src/server/create-gateway.js";
import { createLogger } from "../src/telemetry/logger.js";
import {
  createLogCapture,
  createMutableRegistry,
  type GatewayHarness,
  startGatewayHarness,
} from "./helpers/gateway-harness.js";

const LIBRARY = "acme.library.v1.LibraryService";
// biome-ignore lint/suspicious/noExplicitAny: response bodies are walked freely in assertions
type Json = Record<string, any>;

interface RouteRow {
  verb: string;
  pattern: string;
  method: string;
  source: string;
  active: boolean;
  conflicts: Array<{ kept: string; dropped: string }>;
  backend: string | null;
}

describe("admin listener", () => {
  let h: GatewayHarness;
  before(async () => {
    h = await startGatewayHarness();
  });
  after(() => h.close());

  test("/healthz says the process is up; /readyz that registry and catalog are ready", async () => {
    const health = await fetch(`${h.adminUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await fetch(`${h.adminUrl}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as Json;
    assert.equal(body.status, "ready");
    assert.deepEqual(body.reasons, []);
    assert.equal(body.registry.loaded, true);
    assert.equal(body.catalog.built, true);
    assert.ok(body.catalog.methods >= 16);
  });

  test("status(): the facts behind /readyz, /admin/backends and /admin/routes, as a frozen copy", async () => {
    const status = h.gateway.status();
    const ready = (await (await fetch(`${h.adminUrl}/readyz`)).json()) as Json;
    const backends = (await (await fetch(`${h.adminUrl}/admin/backends`)).json()) as Json;
    const routes = (await (await fetch(`${h.adminUrl}/admin/routes`)).json()) as { routes: RouteRow[] };
    assert.equal(status.ready, true);
    assert.deepEqual(status.reasons, ready.reasons);
    assert.deepEqual(status.registry, ready.registry);
    assert.deepEqual(
      { built: status.catalog.built, generation: status.catalog.generation, methods: status.catalog.methods },
      ready.catalog,
    );
    assert.equal(status.catalog.routes, routes.routes.filter((r) => r.active).length);
    assert.deepEqual(status.catalog.problems, backends.problems);
    assert.deepEqual(JSON.parse(JSON.stringify(status.backends)), backends.backends);
    assert.ok(Object.isFrozen(status) && Object.isFrozen(status.backends[0]?.instances[0]));
    // The public object is narrow: apps, lifecycle and status, no internals.
    const { createGateway: create } = await import("../src/index.js");
    const narrow = await create({
      registry: createMutableRegistry(),
      logger: createLogger({ level: "silent" }),
    });
    try {
      assert.deepEqual(Object.keys(narrow).sort(), ["adminApp", "app", "close", "start", "status"]);
      assert.equal(narrow.status().ready, false);
      assert.deepEqual(narrow.status().reasons, ["registry not loaded yet", "no catalog built yet"]);
    } finally {
      await narrow.close();
    }
  });

  test("the admin routes are not on the public port, nor the public ones on the admin port", async () => {
    assert.equal((await fetch(`${h.publicUrl}/metrics`)).status, 404);
    assert.equal((await fetch(`${h.publicUrl}/readyz`)).status, 404);
    assert.equal((await fetch(`${h.adminUrl}/openapi.json`)).status, 404);
  });

  test("an unknown admin path is a google.rpc.Status 404, like every other error", async () => {
    const answer = await fetch(`${h.adminUrl}/admin/policies`);
    assert.equal(answer.status, 404);
    assert.deepEqual(await answer.json(), {
      code: 5,
      message: "no admin route GET /admin/policies",
      details: [],
    });
  });

  test("/admin/backends shows each instance's reflection version, descriptor hash and last refresh", async () => {
    const body = (await (await fetch(`${h.adminUrl}/admin/backends`)).json()) as Json;
    const library = body.backends.find((b: { name: string }) => b.name === "library");
    const instance = library.instances[0];
    assert.equal(instance.address, h.library!.address);
    assert.equal(instance.reflectionVersion, "v1");
    assert.match(instance.descriptorHash, /^[0-9a-f]{16,}$/);
    assert.deepEqual(instance.services.includes(LIBRARY), true);
    assert.ok(!Number.isNaN(Date.parse(instance.lastRefreshAt)));
    assert.equal(instance.lastError, null);
  });

  test("/admin/routes lists every default route and every REST binding with its source", async () => {
    const body = (await (await fetch(`${h.adminUrl}/admin/routes`)).json()) as { routes: RouteRow[] };
    const methods = h.gateway.schemaSync.current().methodsByPath;
    const defaults = body.routes.filter((r) => r.source === "default");
    assert.equal(defaults.length, methods.size);
    assert.ok(defaults.every((r) => r.verb === "POST" && methods.get(r.pattern)?.fullName === r.method));
    const rest = body.routes.filter((r) => r.source !== "default");
    const getBook = rest.filter((r) => r.method === `${LIBRARY}.GetBook`);
    assert.deepEqual(
      getBook.map((r) => [r.verb, r.pattern, r.source, r.active]),
      [
        ["GET", "/v1/{name=shelves/*/books/*}", "descriptor", true],
        ["GET", "/v2/{name=shelves/*/books/*}", "descriptor", true],
      ],
    );
    assert.ok(rest.some((r) => r.verb === "POST" && r.pattern === "/v1/{name=shelves/*/books/*}:checkout"));
    assert.ok(rest.every((r) => r.backend === "library"));
  });
});

describe("admin listener edge cases", () => {
  test("/admin/routes shows REST conflicts, from an HTTP rules file too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "refract-rules-"));
    const rules = join(dir, "rules.yaml");
    // ListShelves now claims GET /v1/shelves/{x}: the same shape as GetShelf's GET /v1/shelves/{shelf_id}.
    writeFileSync(
      rules,
      `http:\n  rules:\n    - selector: ${LIBRARY}.ListShelves\n      get: /v1/shelves/{page_token}\n`,
    );
    const h = await startGatewayHarness({ users: false, gateway: { httpRulesFile: rules } });
    try {
      const body = (await (await fetch(`${h.adminUrl}/admin/routes`)).json()) as { routes: RouteRow[] };
      const list = body.routes.find((r) => r.method === `${LIBRARY}.ListShelves` && r.source !== "default");
      assert.ok(list, JSON.stringify(body.routes.filter((r) => r.source !== "default")));
      assert.equal(list.source, "rules-file");
      assert.equal(list.active, false);
      assert.deepEqual(
        list.conflicts.map((c) => [c.kept, c.dropped]),
        [[`${LIBRARY}.GetShelf`, `${LIBRARY}.ListShelves`]],
      );
      const getShelf = body.routes.find((r) => r.method === `${LIBRARY}.GetShelf` && r.source !== "default");
      assert.equal(getShelf?.active, true);
      assert.equal(getShelf?.conflicts.length, 1);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("/readyz is 503 until the registry is loaded and a catalog is built", async () => {
    const library = await startLibraryBackend();
    const registry = createMutableRegistry({ library: [library.address] });
    const logs = createLogCapture();
    const gateway = await createGateway({
      port: 0,
      adminPort: 0,
      host: "127.0.0.1",
      registry,
      logger: createLogger({ destination: logs.stream }),
    });
    try {
      const early = await gateway.adminApp.inject({ method: "GET", url: "/readyz" });
      assert.equal(early.statusCode, 503);
      assert.deepEqual(early.json().reasons, ["registry not loaded yet", "no catalog built yet"]);
      await gateway.start();
      assert.equal((await gateway.adminApp.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
    } finally {
      await gateway.close();
      await library.close();
    }
  });

  test("/readyz stays ready while etcd is unreachable (the last known set is served) and says so", async () => {
    const library = await startLibraryBackend();
    const registry = createMutableRegistry({ library: [library.address] });
    const h = await startGatewayHarness({ library: false, users: false, gateway: { registry } });
    try {
      registry.setHealth({
        connected: false,
        detail: "etcd unreachable since 12:00:00; serving last known set",
      });
      const ready = await fetch(`${h.adminUrl}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as Json;
      assert.equal(body.registry.connected, false);
      assert.match(body.registry.detail, /etcd unreachable/);
    } finally {
      await h.close();
      await library.close();
    }
  });
});
