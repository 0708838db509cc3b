import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pino from "pino";
import type { RunningBackend } from "../fixtures/backends.js";
import { startInventoryBackend } from "../fixtures/inventory.js";
import {
  createGatewayInternals as createGateway,
  type GatewayInternals as RunningGateway,
} from "../src/server/create-gateway.js";
import { createMutableRegistry } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 3, live schema refresh without etcd: a backend redeployed at the same address with a new schema
 * (a new field, a new RPC with a REST route) is picked up by the running gateway, and requests for
 * unknown methods cannot make the gateway flood a backend with reflection.
 */

const SERVICE = "/acme.inventory.v1.InventoryService";
const REFLECTION_PATHS = new Set([
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
]);

async function startGateway(
  address: string,
  refreshIntervalMs = 0,
): Promise<{ gateway: RunningGateway; url: string }> {
  const gateway = await createGateway({
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    backends: [{ name: "inventory", address }],
    refreshIntervalMs,
    logger: pino({ level: "silent" }),
  });
  const { publicUrl } = await gateway.start();
  return { gateway, url: publicUrl };
}

async function post(url: string, body: unknown) {
  const response = await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe("live schema refresh", () => {
  test("a backend restarted at the same address with a new schema: new RPC, field and REST route work, no gateway restart", async () => {
    let backend: RunningBackend = await startInventoryBackend(1);
    const { gateway, url } = await startGateway(backend.address);
    try {
      const before = await post(`${url}${SERVICE}/GetItem`, { id: "1" });
      assert.equal(before.status, 200);
      assert.deepEqual(before.json, { id: "1", title: "Widget" });
      assert.equal((await post(`${url}${SERVICE}/CountItems`, {})).status, 404);
      assert.equal((await fetch(`${url}/v1/items:count`)).status, 404);

      await backend.close();
      backend = await startInventoryBackend(2, { port: backend.port });

      const counted = await waitFor(
        async () => {
          const r = await post(`${url}${SERVICE}/CountItems`, { minQuantity: 1 });
          return r.status === 200 ? r : undefined;
        },
        10_000,
        "the new RPC to become callable",
      );
      assert.deepEqual(counted.json, { count: "2" });
      const item = await post(`${url}${SERVICE}/GetItem`, { id: "3" });
      assert.deepEqual(
        item.json,
        { id: "3", title: "Sprocket", quantity: 12 },
        "the new field is in the JSON",
      );
      const rest = await fetch(`${url}/v1/items:count?min_quantity=5`);
      assert.equal(rest.status, 200);
      assert.deepEqual(await rest.json(), { count: "2" });
      // The request field that only the new schema has is accepted too (an unknown field is a 400).
      assert.equal((await post(`${url}${SERVICE}/CountItems`, { minQuantity: 0 })).status, 200);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  test("a restart is noticed through the channel reconnecting, with no call and no periodic refresh", async () => {
    let backend: RunningBackend = await startInventoryBackend(1);
    const { gateway } = await startGateway(backend.address, 0);
    try {
      const has = (): boolean => gateway.schemaSync.current().methodsByPath.has(`${SERVICE}/CountItems`);
      assert.equal(has(), false);
      await backend.close();
      backend = await startInventoryBackend(2, { port: backend.port });
      await waitFor(has, 10_000, "the reconnect-triggered refresh to add CountItems");
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  test("calls for unknown methods of a known service trigger at most one reflection per backend per second", async () => {
    const backend = await startInventoryBackend(1);
    const { gateway, url } = await startGateway(backend.address);
    try {
      const reflections = (): number => backend.calls.filter((c) => REFLECTION_PATHS.has(c.path)).length;
      const initial = reflections();
      assert.ok(initial >= 1);
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => post(`${url}${SERVICE}/Missing${i % 10}`, {})),
      );
      assert.ok(answers.every((a) => a.status === 404));
      await gateway.schemaSync.idle();
      const elapsedS = (Date.now() - started) / 1000;
      const triggered = reflections() - initial;
      assert.ok(triggered >= 1, "an unknown method asks for a refresh");
      assert.ok(
        triggered <= Math.ceil(elapsedS) + 1,
        `${triggered} reflections in ${elapsedS.toFixed(2)} s for 200 requests`,
      );
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  test("an instance replaced by one with an older schema: calls wait for its schema (no 404 meanwhile), then the method it lacks is 404", async () => {
    const v2 = await startInventoryBackend(2);
    const v1 = await startInventoryBackend(1);
    const registry = createMutableRegistry({ inventory: [v2.address] });
    const gateway = await createGateway({
      port: 0,
      host: "127.0.0.1",
      adminPort: 0,
      registry,
      refreshIntervalMs: 0,
      logger: pino({ level: "silent" }),
    });
    try {
      const { publicUrl: url } = await gateway.start();
      assert.equal((await post(`${url}${SERVICE}/CountItems`, {})).status, 200);
      // Issue 13, point 10: the departed instance's schema keeps GetItem routable; the call waits for v1's.
      registry.set("inventory", [v1.address]);
      const during = await post(`${url}${SERVICE}/GetItem`, { id: "1" });
      assert.equal(during.status, 200, JSON.stringify(during.json));
      assert.ok(
        v1.calls.some((c) => c.path === `${SERVICE}/GetItem`),
        "sent to the registered instance",
      );
      assert.equal(v2.calls.filter((c) => c.path === `${SERVICE}/GetItem`).length, 0);
      // v1's schema is in now: the method it lacks is gone, like any unknown method.
      assert.equal((await post(`${url}${SERVICE}/CountItems`, {})).status, 404);
    } finally {
      await gateway.close();
      await Promise.all([v1.close(), v2.close()]);
    }
  });

  test("a failed refresh keeps the last good schema", async () => {
    let backend = await startInventoryBackend(2);
    const { gateway, url } = await startGateway(backend.address, 100);
    try {
      assert.equal((await post(`${url}${SERVICE}/CountItems`, {})).status, 200);
      await backend.close();
      // The backend is down: periodic refreshes fail, the catalog keeps the method (503, not 404).
      const generation = gateway.schemaSync.current().generation;
      await waitFor(
        async () => (await post(`${url}${SERVICE}/CountItems`, {})).status === 503,
        10_000,
        "503 while the backend is down",
      );
      assert.ok(gateway.schemaSync.current().methodsByPath.has(`${SERVICE}/CountItems`));
      assert.ok(gateway.schemaSync.current().generation >= generation);
      backend = await startInventoryBackend(2, { port: backend.port });
      await waitFor(
        async () => (await post(`${url}${SERVICE}/CountItems`, {})).status === 200,
        10_000,
        "recovery",
      );
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});
