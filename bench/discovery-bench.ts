import { pathToFileURL } from "node:url";
import pino from "pino";
import type { RunningBackend } from "../fixtures/backends.js";
import { startInventoryBackend } from "../fixtures/inventory.js";
import { createGateway } from "../src/index.js";
import { registerBackend } from "../src/registry/register-backend.js";
import { startEtcd } from "../test/helpers/etcd-server.js";

/**
 * Discovery time (issue 3): from a backend's registration in etcd — or from a registered instance being
 * replaced by one with a new schema — to the first successful call through the gateway, with the
 * default settings (refresh interval 30 s: discovery must not depend on it). Each trial polls the
 * gateway every 2 ms; the figure includes the poll granularity.
 */

export interface DiscoveryResult {
  trials: number;
  registrationP50Ms: number;
  registrationP99Ms: number;
  newSchemaP50Ms: number;
  newSchemaP99Ms: number;
}

const SERVICE = "/acme.inventory.v1.InventoryService";

async function statusOf(url: string, body: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  await response.arrayBuffer();
  return response.status;
}

async function untilOk(url: string, body: string, started: number, timeoutMs = 10_000): Promise<number> {
  for (;;) {
    if ((await statusOf(url, body)) === 200) return performance.now() - started;
    if (performance.now() - started > timeoutMs)
      throw new Error(`not callable after ${timeoutMs} ms: ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

export async function benchDiscovery(trials = 20): Promise<DiscoveryResult> {
  const etcd = await startEtcd();
  const gateway = await createGateway({
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    etcd: [etcd.endpoint],
    logger: pino({ level: "silent" }),
  });
  const { publicUrl } = await gateway.start();
  const backends: RunningBackend[] = [];
  const registration: number[] = [];
  const newSchema: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const v1 = await startInventoryBackend(1);
      const v2 = await startInventoryBackend(2);
      backends.push(v1, v2);
      const name = `inventory-${i}`;
      let started = performance.now();
      const first = await registerBackend({
        etcd: etcd.endpoint,
        name,
        address: v1.address,
        instanceId: "a",
      });
      registration.push(await untilOk(`${publicUrl}${SERVICE}/GetItem`, '{"id":"1"}', started));
      started = performance.now();
      const second = await registerBackend({
        etcd: etcd.endpoint,
        name,
        address: v2.address,
        instanceId: "a",
      });
      newSchema.push(await untilOk(`${publicUrl}${SERVICE}/CountItems`, "{}", started));
      await second.close();
      await first.close();
      await Promise.all([v1.close(), v2.close()]);
      // The next trial starts from a gateway that no longer knows the service.
      const goneBy = performance.now() + 10_000;
      for (;;) {
        const status = await statusOf(`${publicUrl}${SERVICE}/GetItem`, "{}");
        if (status === 404) break;
        if (performance.now() > goneBy)
          throw new Error(`the deregistered backend is still served (${status})`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } finally {
    await gateway.close();
    await Promise.all(backends.map((b) => b.close()));
    await etcd.close();
  }
  return {
    trials,
    registrationP50Ms: quantile(registration, 0.5),
    registrationP99Ms: quantile(registration, 0.99),
    newSchemaP50Ms: quantile(newSchema, 0.5),
    newSchemaP99Ms: quantile(newSchema, 0.99),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchDiscovery(Number(process.env.BENCH_TRIALS ?? 20));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
