import { pathToFileURL } from "node:url";
import pino from "pino";
import { startInventoryBackend } from "../fixtures/inventory.js";
import { createGateway } from "../src/index.js";
import { registerBackend } from "../src/registry/register-backend.js";
import { startEtcd } from "../test/helpers/etcd-server.js";

/**
 * Rediscovery after an etcd outage (issue 13.9): etcd is killed for `outageMs` (long enough for an
 * uncapped backoff to reach its 10 s cap), started again, and — from the moment it answers its health
 * check — a new instance is registered; the figure is the time until a call through the gateway to that
 * instance succeeds. Default settings; the gateway polls every 2 ms, so the figure includes that.
 */

export interface EtcdOutageResult {
  trials: number;
  outageMs: number;
  /** etcd healthy again → the new registration answers 200 through the gateway, per trial. */
  recoveryMs: number[];
}

const URL_PATH = "/acme.inventory.v1.InventoryService/GetItem";

export async function benchEtcdOutage(trials = 4, outageMs = 8_000): Promise<EtcdOutageResult> {
  const etcd = await startEtcd();
  const gateway = await createGateway({
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    etcd: [etcd.endpoint],
    logger: pino({ level: "silent" }),
  });
  const { publicUrl } = await gateway.start();
  const backend = await startInventoryBackend(1);
  const recoveryMs: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      await etcd.stop();
      await new Promise((resolve) => setTimeout(resolve, outageMs));
      await etcd.restart(); // resolves once etcd answers its health endpoint
      const started = performance.now();
      const registration = await registerBackend({
        etcd: etcd.endpoint,
        name: `inventory-${i}`,
        address: backend.address,
        instanceId: "a",
      });
      for (;;) {
        const response = await fetch(`${publicUrl}${URL_PATH}`, {
          method: "POST",
          body: '{"id":"1"}',
          headers: { "content-type": "application/json" },
        });
        await response.arrayBuffer();
        if (response.status === 200) break;
        if (performance.now() - started > 30_000) throw new Error("not rediscovered within 30 s");
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      recoveryMs.push(performance.now() - started);
      await registration.close();
    }
  } finally {
    await gateway.close();
    await backend.close();
    await etcd.close();
  }
  return { trials, outageMs, recoveryMs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchEtcdOutage(Number(process.env.BENCH_TRIALS ?? 4));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
