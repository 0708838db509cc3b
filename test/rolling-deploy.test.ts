import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { createGateway, type RunningGateway } from "../src/index.js";
import { createLogger } from "../src/telemetry/logger.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { createLogCapture } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 13, point 10: a rolling deploy through etcd — the new instance's key put, the old one's deleted
 * back to back — never answers 404: the backend's methods stay routable while its new instance's schema
 * is fetched, and calls wait for that fetch.
 */

const PREFIX = "/refract/backends/";
const LIST_SHELVES = "/acme.library.v1.LibraryService/ListShelves";
const ROLLOUTS = 20;
/** Upper bound of the calls made (the loops stop earlier, when the rollouts are over). */
const MAX_CALLS = 6000;
const CALLERS = 2;

describe("rolling deploys through etcd under continuous calls", () => {
  let etcd: EtcdServer;
  let gateway: RunningGateway;
  let url: string;
  const backends: RunningBackend[] = [];

  before(async () => {
    etcd = await startEtcd();
    backends.push(await startLibraryBackend(), await startLibraryBackend());
    gateway = await createGateway({
      port: 0,
      adminPort: 0,
      host: "127.0.0.1",
      adminHost: "127.0.0.1",
      etcd: [etcd.endpoint],
      refreshIntervalMs: 0,
      logger: createLogger({ destination: createLogCapture().stream }),
    });
    url = (await gateway.start()).publicUrl;
  });
  after(async () => {
    await gateway?.close();
    await Promise.all(backends.map((b) => b.close()));
    await etcd?.close();
  });

  test("back-to-back rollouts (put the new instance, delete the old one 1–2 ms later): 0 non-200 over 20 rollouts", async () => {
    const client = etcd.client();
    try {
      const addressOf = (n: number): string => backends[n % 2]!.address;
      await client.put(`${PREFIX}library/r0`).value(addressOf(0));
      await waitFor(async () => (await call(url)) === 200, 10_000, "the first instance to be served");

      const statuses = new Map<number, number>();
      let calls = 0;
      let rolling = true;
      const caller = async (): Promise<void> => {
        while (rolling && calls < MAX_CALLS) {
          calls += 1;
          const status = await call(url);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      };
      const callers = Array.from({ length: CALLERS }, caller);
      try {
        for (let n = 1; n <= ROLLOUTS; n++) {
          await client.put(`${PREFIX}library/r${n}`).value(addressOf(n));
          await delay(1);
          await client.delete().key(`${PREFIX}library/r${n - 1}`);
          // Calls go on through the window where the new instance's schema is being fetched.
          await delay(100);
        }
      } finally {
        rolling = false;
        await Promise.all(callers);
      }
      const answered = [...statuses.values()].reduce((sum, n) => sum + n, 0);
      assert.ok(answered >= ROLLOUTS, `calls were made during the rollouts (${answered})`);
      assert.deepEqual(
        Object.fromEntries(statuses),
        { 200: answered },
        `every call answers 200 (statuses: ${JSON.stringify(Object.fromEntries(statuses))})`,
      );
      for (const backend of backends) {
        assert.ok(
          backend.calls.some((c) => c.path === LIST_SHELVES),
          `both addresses served calls (${backend.address})`,
        );
      }
      await client.delete().key(`${PREFIX}library/r${ROLLOUTS}`);
    } finally {
      client.close();
    }
  });
});

async function call(url: string): Promise<number> {
  const response = await fetch(`${url}${LIST_SHELVES}`, {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json" },
  });
  await response.arrayBuffer();
  return response.status;
}
