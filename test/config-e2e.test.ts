/**
 * Live configuration end to end (issue 15): real etcd, real gRPC backend, real gateways over HTTP. A policy
 * put in etcd applies on two gateways; a malformed one is rejected (log + /admin/config) while the previous
 * version stays in force; the --config file edited on disk applies without restart; with etcd stopped the
 * last configuration stays. The observable effect: `ip-restriction` denying 127.0.0.0/8 turns 200 into 403.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Etcd3 } from "etcd3";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { createStaticRegistry } from "../src/registry/static-registry.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { type GatewayHarness, postJson, scrape, startGatewayHarness } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

const METHOD = "/acme.library.v1.LibraryService/ListShelves";
const DENY_LOOPBACK = {
  name: "no-loopback",
  type: "ip-restriction",
  config: { deny: ["127.0.0.0/8", "::1/128"] },
};

interface ConfigView {
  revision: number;
  sources: Array<{ source: string; healthy: boolean; detail: string }>;
  inForce: Array<{
    kind: string;
    name: string;
    source: string;
    newerVersionRejected?: boolean;
    document?: Record<string, unknown>;
  }>;
  rejected: Array<{ kind: string; name: string; problems: string[]; inForce: string }>;
}

async function status(gateway: GatewayHarness): Promise<number> {
  return (await postJson(`${gateway.publicUrl}${METHOD}`, {})).status;
}

async function configView(gateway: GatewayHarness): Promise<ConfigView> {
  const response = await fetch(`${gateway.adminUrl}/admin/config`);
  assert.equal(response.status, 200);
  return (await response.json()) as ConfigView;
}

describe("live configuration (real etcd, two gateways)", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let library: RunningBackend;
  let dir: string;
  const gateways: GatewayHarness[] = [];
  const prefix = `/refract-config-e2e/${process.pid}/`;

  async function gateway(extra: { configFile?: string; etcd?: boolean } = {}): Promise<GatewayHarness> {
    const harness = await startGatewayHarness({
      library: false,
      users: false,
      gateway: {
        registry: createStaticRegistry([{ name: "library", address: library.address }]),
        ...(extra.etcd === false ? {} : { etcd: [etcd.endpoint], configPrefix: prefix }),
        ...(extra.configFile ? { configFile: extra.configFile } : {}),
        etcdRetryInitialMs: 50,
        etcdUnreachableRetryMaxMs: 200,
        etcdDialTimeoutMs: 2_000,
      },
    });
    gateways.push(harness);
    return harness;
  }

  before(async () => {
    etcd = await startEtcd();
    client = etcd.client();
    library = await startLibraryBackend();
    dir = mkdtempSync(join(tmpdir(), "refract-config-e2e-"));
  });
  after(async () => {
    for (const harness of gateways) await harness.close();
    await library.close();
    await etcd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a policy put in etcd applies on two gateways; a malformed one is rejected and the previous stays", async () => {
    const [one, two] = [await gateway(), await gateway()];
    assert.equal(await status(one), 200);
    assert.equal(await status(two), 200);

    await client.put(`${prefix}policies/no-loopback`).value(JSON.stringify(DENY_LOOPBACK));
    await waitFor(async () => (await status(one)) === 403, 5_000, "gateway one refuses");
    await waitFor(async () => (await status(two)) === 403, 5_000, "gateway two refuses");
    const refused = await postJson(`${one.publicUrl}${METHOD}`, {});
    assert.equal((refused.body as { code: number }).code, 7);
    const view = await configView(one);
    assert.equal(view.revision, 1);
    assert.deepEqual(
      view.inForce.map((d) => [d.kind, d.name, d.source, d.document?.type]),
      [["policies", "no-loopback", "etcd", "ip-restriction"]],
    );
    const metrics = await scrape(one.adminUrl);
    assert.equal(metrics.value("refract_config_revision"), 1);
    assert.equal(metrics.value("refract_config_rejected_documents"), 0);

    // Malformed: not applied, said in the log and /admin/config; the previous version stays in force.
    await client
      .put(`${prefix}policies/no-loopback`)
      .value(JSON.stringify({ ...DENY_LOOPBACK, config: { deny: "everyone" } }));
    for (const harness of [one, two]) {
      await waitFor(
        async () => (await configView(harness)).rejected.length === 1,
        5_000,
        "the rejection shown",
      );
      const rejected = (await configView(harness)).rejected[0]!;
      assert.deepEqual(rejected.problems, ["policies/no-loopback: /config/deny: must be array"]);
      assert.equal(rejected.inForce, "last valid version");
      await harness.logs.waitFor(
        (line) => /config document rejected/.test(String(line.msg)) && line.level === 40,
      );
      assert.equal(await status(harness), 403);
    }
    assert.equal((await configView(one)).revision, 1);
    assert.equal((await scrape(one.adminUrl)).value("refract_config_rejected_documents"), 1);

    // Deleted: the calls go through again, on both.
    await client.delete().key(`${prefix}policies/no-loopback`);
    await waitFor(async () => (await status(one)) === 200, 5_000, "gateway one lets calls through");
    await waitFor(async () => (await status(two)) === 200, 5_000, "gateway two lets calls through");
    assert.deepEqual((await configView(two)).rejected, []);
  });

  test("the --config file edited on disk applies without restart; consumers shown without key hashes", async () => {
    const file = join(dir, "refract.yaml");
    const hash = "d".repeat(64);
    writeFileSync(
      file,
      `logLevel: info\nconsumers:\n  - {name: app, apiKeys: [{sha256: "${hash}"}], labels: {tier: gold}}\n`,
    );
    const harness = await gateway({ configFile: file, etcd: false });
    assert.equal(await status(harness), 200);
    writeFileSync(
      file,
      `logLevel: info\nconsumers:\n  - {name: app, apiKeys: [{sha256: "${hash}"}], labels: {tier: gold}}\npolicies:\n  - ${JSON.stringify(DENY_LOOPBACK)}\n`,
    );
    await waitFor(async () => (await status(harness)) === 403, 5_000, "the edited file applied");
    const view = await configView(harness);
    assert.equal(view.sources[0]?.source, "file");
    const consumer = view.inForce.find((d) => d.kind === "consumers");
    assert.deepEqual(consumer?.document, { labels: { tier: "gold" }, apiKeys: 1 });
    assert.ok(!JSON.stringify(view).includes(hash));

    writeFileSync(file, `logLevel: info\npolicies: []\n`);
    await waitFor(async () => (await status(harness)) === 200, 5_000, "the policy removed from the file");
  });

  test("/admin/config/schema: one JSON Schema with every type's config", async () => {
    const harness = gateways[0] ?? (await gateway());
    const response = await fetch(`${harness.adminUrl}/admin/config/schema`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /application\/schema\+json/);
    const schema = (await response.json()) as { definitions: Record<string, unknown> };
    for (const type of ["ip-restriction", "jwt", "api-key", "authorize", "rate-limit", "request-transform"]) {
      assert.ok(schema.definitions[`config-${type}`], type);
    }
  });

  test("etcd stopped: the last configuration stays in force", async () => {
    const harness = await gateway();
    await client.put(`${prefix}policies/no-loopback`).value(JSON.stringify(DENY_LOOPBACK));
    await waitFor(async () => (await status(harness)) === 403, 5_000, "the policy applied");
    await etcd.stop();
    await waitFor(
      async () => (await configView(harness)).sources.some((s) => s.source === "etcd" && !s.healthy),
      10_000,
      "the outage shown",
    );
    assert.equal(await status(harness), 403);
    assert.deepEqual(
      (await configView(harness)).inForce.map((d) => d.name),
      ["no-loopback"],
    );
  });
});
