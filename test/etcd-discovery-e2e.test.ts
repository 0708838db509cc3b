import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { startInventoryBackend } from "../fixtures/inventory.js";
import { createGateway, type RunningGateway } from "../src/index.js";
import { packagePath } from "../src/package-paths.js";
import { registerBackend } from "../src/registry/register-backend.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { createLogCapture } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 3 end to end: a real etcd, real gRPC backends registering themselves, real gateways watching.
 */

const INVENTORY = "/acme.inventory.v1.InventoryService";
const LIBRARY = "/acme.library.v1.LibraryService";
const PREFIX = "/refract/backends/";

async function post(url: string, body: unknown = {}) {
  const response = await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

interface GatewayUnderTest {
  gateway: RunningGateway;
  url: string;
  adminUrl: string;
  logs: Array<Record<string, unknown>>;
}

async function startGateway(etcd: EtcdServer): Promise<GatewayUnderTest> {
  const { stream, capture } = createLogCapture();
  const logs = capture.lines;
  const gateway = await createGateway({
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    etcd: [etcd.endpoint],
    refreshIntervalMs: 0,
    logger: pino({ level: "info" }, stream),
  });
  const { publicUrl, adminUrl } = await gateway.start();
  return { gateway, url: publicUrl, adminUrl, logs };
}

describe("etcd discovery through a running gateway", () => {
  let etcd: EtcdServer;
  let g: GatewayUnderTest;
  const backends: RunningBackend[] = [];

  before(async () => {
    etcd = await startEtcd();
    g = await startGateway(etcd);
  });
  after(async () => {
    await g?.gateway.close();
    await Promise.all(backends.map((b) => b.close()));
    await etcd?.close();
  });

  test("a backend registering becomes callable; deregistering makes its routes 404", async () => {
    const library = await startLibraryBackend();
    backends.push(library);
    assert.equal((await post(`${g.url}${LIBRARY}/ListShelves`)).status, 404);
    const registration = await registerBackend({
      etcd: etcd.endpoint,
      name: "library",
      address: library.address,
      ttlMs: 2000,
    });
    await waitFor(
      async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 200,
      5000,
      "registration to be served",
    );
    // REST routes of the newly discovered backend too.
    assert.equal((await fetch(`${g.url}/v1/shelves/1`)).status, 200);
    await registration.close();
    await waitFor(
      async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 404,
      5000,
      "deregistration",
    );
  });

  test("an instance whose lease expires disappears", async () => {
    const library = await startLibraryBackend();
    backends.push(library);
    const client = etcd.client();
    try {
      const lease = client.lease(1, { autoKeepAlive: false });
      await lease.put(`${PREFIX}library/leased`).value(JSON.stringify({ Addr: library.address }));
      await waitFor(
        async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 200,
        5000,
        "leased instance",
      );
      await waitFor(
        async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 404,
        10_000,
        "lease expiry",
      );
    } finally {
      client.close();
    }
  });

  test("a rolling deploy: old RPCs work on both versions, the new RPC never answers UNIMPLEMENTED", async () => {
    const v1 = await startInventoryBackend(1);
    const v2 = await startInventoryBackend(2);
    backends.push(v1, v2);
    const r1 = await registerBackend({
      etcd: etcd.endpoint,
      name: "inventory",
      address: v1.address,
      instanceId: "old",
    });
    await waitFor(
      async () => (await post(`${g.url}${INVENTORY}/GetItem`, { id: "1" })).status === 200,
      5000,
      "v1",
    );
    const r2 = await registerBackend({
      etcd: etcd.endpoint,
      name: "inventory",
      address: v2.address,
      instanceId: "new",
    });
    await waitFor(
      async () => (await post(`${g.url}${INVENTORY}/CountItems`)).status === 200,
      5000,
      "v2's new RPC",
    );
    try {
      const count = (b: RunningBackend, method: string): number =>
        b.calls.filter((c) => c.path === `${INVENTORY}/${method}`).length;
      const v1Before = count(v1, "GetItem");
      const v2Before = count(v2, "GetItem");
      for (let i = 0; i < 40; i++) {
        const old = await post(`${g.url}${INVENTORY}/GetItem`, { id: "2" });
        assert.equal(old.status, 200);
        const fresh = await post(`${g.url}${INVENTORY}/CountItems`, { minQuantity: 1 });
        assert.equal(fresh.status, 200, `call ${i} of the new RPC: ${JSON.stringify(fresh.json)}`);
      }
      assert.ok(count(v1, "GetItem") - v1Before >= 10, "the old instance keeps serving the old RPC");
      assert.ok(count(v2, "GetItem") - v2Before >= 10, "the new instance serves the old RPC too");
      assert.equal(count(v1, "CountItems"), 0, "the new RPC is never sent to the old instance");
    } finally {
      await Promise.all([r1.close(), r2.close()]);
    }
  });

  test("a malformed registry value is logged and skipped; the rest keeps working", async () => {
    const library = await startLibraryBackend();
    backends.push(library);
    const client = etcd.client();
    try {
      await client.put(`${PREFIX}broken/one`).value("{not json");
      await client.put(`${PREFIX}library/good`).value(library.address);
      await waitFor(
        async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 200,
        5000,
        "the good instance",
      );
      await waitFor(
        () => g.logs.some((l) => JSON.stringify(l).includes(`${PREFIX}broken/one`)),
        5000,
        "a log line naming the bad key",
      );
      await client.delete().key(`${PREFIX}broken/one`);
      await client.delete().key(`${PREFIX}library/good`);
    } finally {
      client.close();
    }
  });

  test("a compaction past the watch revision: the gateway lists again and stays correct", async () => {
    const library = await startLibraryBackend();
    backends.push(library);
    const client = etcd.client();
    try {
      await client.put(`${PREFIX}library/compacted`).value(library.address);
      await waitFor(
        async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 200,
        5000,
        "before compaction",
      );
      for (let i = 0; i < 20; i++) await client.put("/unrelated/churn").value(String(i));
      await etcd.compact();
      await client.delete().key(`${PREFIX}library/compacted`);
      await waitFor(
        async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 404,
        10_000,
        "the delete after compaction",
      );
    } finally {
      client.close();
    }
  });

  test("etcd stopped while calls go on: calls keep succeeding; etcd back: changes are picked up", async () => {
    const library = await startLibraryBackend();
    backends.push(library);
    const client = etcd.client();
    await client.put(`${PREFIX}library/outage`).value(library.address);
    client.close();
    await waitFor(
      async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 200,
      5000,
      "before the outage",
    );
    await etcd.stop();
    try {
      for (let i = 0; i < 20; i++) assert.equal((await post(`${g.url}${LIBRARY}/ListShelves`)).status, 200);
      const readyz = await waitFor(
        async () => {
          const body = (await (await fetch(`${g.adminUrl}/readyz`)).json()) as {
            registry: { connected: boolean; detail: string };
          };
          return body.registry.connected === false ? body : undefined;
        },
        15_000,
        "readyz to report the etcd outage",
      );
      assert.match(readyz.registry.detail, /unreachable/);
    } finally {
      await etcd.restart();
    }
    const v2 = await startInventoryBackend(2);
    backends.push(v2);
    const after = etcd.client();
    try {
      await after.put(`${PREFIX}inventory/after-outage`).value(v2.address);
      await after.delete().key(`${PREFIX}library/outage`);
      await waitFor(
        async () => (await post(`${g.url}${INVENTORY}/CountItems`)).status === 200,
        15_000,
        "a change made after etcd came back",
      );
      await waitFor(
        async () => (await post(`${g.url}${LIBRARY}/ListShelves`)).status === 404,
        15_000,
        "the delete after etcd came back",
      );
      await after.delete().key(`${PREFIX}inventory/after-outage`);
    } finally {
      after.close();
    }
  });
});

describe("two gateway processes on one etcd (stateless replicas)", () => {
  let etcd: EtcdServer;
  const children: ChildProcess[] = [];

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(
      children.map(
        (c) => new Promise((resolve) => (c.exitCode === null ? c.once("exit", resolve) : resolve(null))),
      ),
    );
    await etcd?.close();
  });

  async function spawnGateway(): Promise<string> {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        packagePath("src", "cli", "main.ts"),
        "--etcd",
        etcd.endpoint,
        "--port=0",
        "--host=127.0.0.1",
        "--admin-port=0",
        "--refresh-interval=0",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      const parsed = JSON.parse(line) as { publicUrl?: string };
      if (parsed.publicUrl) {
        lines.on("line", () => {});
        return parsed.publicUrl;
      }
    }
    throw new Error("gateway process exited before listening");
  }

  test("both discover a new backend and both serve its new RPC", async () => {
    const [a, b] = await Promise.all([spawnGateway(), spawnGateway()]);
    const v1 = await startInventoryBackend(1);
    const registration = await registerBackend({
      etcd: etcd.endpoint,
      name: "inventory",
      address: v1.address,
      instanceId: "i1",
    });
    try {
      for (const url of [a, b]) {
        await waitFor(
          async () => (await post(`${url}${INVENTORY}/GetItem`, { id: "1" })).status === 200,
          10_000,
          `${url} to serve v1`,
        );
      }
      // Redeploy: the instance is replaced by one with a new schema at a new address.
      const v2 = await startInventoryBackend(2);
      const next = await registerBackend({
        etcd: etcd.endpoint,
        name: "inventory",
        address: v2.address,
        instanceId: "i1",
      });
      try {
        for (const url of [a, b]) {
          await waitFor(
            async () => (await post(`${url}${INVENTORY}/CountItems`)).status === 200,
            10_000,
            `${url} to serve the new RPC`,
          );
        }
      } finally {
        await next.close();
        await v2.close();
      }
    } finally {
      await registration.close();
      await v1.close();
    }
  });
});
