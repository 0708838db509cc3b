/**
 * The config store against its real sources: a config file on disk (edited, replaced by rename, broken)
 * and a real etcd (put, malformed, deleted, compacted, stopped and restarted). Observed through onChange,
 * current(), view() and the log lines; the HTTP effect is in test/config-e2e.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Etcd3 } from "etcd3";
import { ConfigStore, type PolicyConfig } from "../src/config-store/config-store.js";
import { createEtcdConfigSource } from "../src/config-store/etcd-config-source.js";
import { createFileConfigSource } from "../src/config-store/file-config-source.js";
import type { PolicyTypeSchema } from "../src/config-store/validate-documents.js";
import { captureLogger } from "./helpers/capture-logger.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { waitFor } from "./helpers/wait.js";

const TYPES: PolicyTypeSchema[] = [
  {
    type: "ip-restriction",
    configSchema: {
      type: "object",
      properties: {
        allow: { type: "array", items: { type: "string" } },
        deny: { type: "array", items: { type: "string" } },
      },
      additionalProperties: false,
    },
  },
];
const HASH = "b".repeat(64);

function deny(name: string, cidr: string) {
  return { name, type: "ip-restriction", config: { deny: [cidr] } };
}

/** `name=deny-cidrs` of every policy in force: what the assertions compare. */
function policies(config: PolicyConfig): string[] {
  return config.policies.map((p) => `${p.name}=${(p.config as { deny?: string[] }).deny?.join(",")}`);
}

const stores: ConfigStore[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

describe("config store: the --config file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "refract-config-store-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function open(file: string) {
    const { logger, lines } = captureLogger();
    const store = new ConfigStore({
      types: TYPES,
      sources: [createFileConfigSource({ path: file, logger, debounceMs: 20 })],
      logger,
    });
    stores.push(store);
    const revisions: number[] = [];
    store.onChange((config) => revisions.push(config.revision));
    await store.start();
    return { store, lines, revisions };
  }

  test("read at start; a saved edit and a rename-replace apply without restart; other options ignored", async () => {
    const file = join(dir, "edit.yaml");
    writeFileSync(
      file,
      `port: 8080\npolicies:\n  - name: office\n    type: ip-restriction\n    config: {deny: ["10.0.0.0/8"]}\nconsumers:\n  - {name: app, apiKeys: [{sha256: "${HASH}"}]}\n`,
    );
    const { store, revisions, lines } = await open(file);
    assert.equal(store.current().revision, 1);
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8"]);
    assert.deepEqual(
      store.current().consumers.map((c) => c.name),
      ["app"],
    );
    assert.ok(Object.isFrozen(store.current()) && Object.isFrozen(store.current().policies));

    writeFileSync(
      file,
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: ["127.0.0.0/8"]}}\n`,
    );
    await waitFor(() => store.current().revision === 2, 5_000, "the edit applied");
    assert.deepEqual(policies(store.current()), ["office=127.0.0.0/8"]);
    assert.deepEqual(store.current().consumers, []);
    // `port` went away in that edit: only the lists are live, and the log says the rest waits for a restart.
    const restartWarnings = () => lines.filter((l) => /apply at the next restart/.test(String(l.msg))).length;
    assert.equal(restartWarnings(), 1);

    // Editors save by writing a new file and renaming it over the old one.
    const temp = join(dir, ".edit.yaml.swp");
    writeFileSync(
      temp,
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: ["192.0.2.0/24"]}}\n`,
    );
    renameSync(temp, file);
    await waitFor(() => store.current().revision === 3, 5_000, "the rename-replace applied");
    assert.deepEqual(policies(store.current()), ["office=192.0.2.0/24"]);

    // And again after the rename: the watch still hears the file.
    writeFileSync(file, `policies: []\n`);
    await waitFor(() => store.current().revision === 4, 5_000, "an edit after the rename applied");
    assert.deepEqual(store.current().policies, []);
    assert.deepEqual(revisions, [1, 2, 3, 4]);
    assert.equal(store.view().sources[0]?.healthy, true);
    assert.equal(restartWarnings(), 1, "edits of the lists alone say nothing about a restart");
  });

  test("an invalid document keeps its last valid version; a broken file keeps the last read", async () => {
    const file = join(dir, "invalid.yaml");
    writeFileSync(
      file,
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: ["10.0.0.0/8"]}}\n  - {name: other, type: ip-restriction, config: {}}\n`,
    );
    const { store, lines } = await open(file);
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8", "other=undefined"]);

    // office turns invalid, a brand-new invalid document appears, other changes validly.
    writeFileSync(
      file,
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: "10.0.0.0/8"}}\n  - {name: fresh, type: ip-restrictions, config: {}}\n  - {name: other, type: ip-restriction, config: {deny: ["192.0.2.1/32"]}}\n`,
    );
    await waitFor(() => store.current().revision === 2, 5_000, "the valid change applied");
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8", "other=192.0.2.1/32"]);
    const view = store.view();
    assert.deepEqual(
      view.rejected.map((r) => [r.name, r.inForce, r.problems]),
      [
        [
          "fresh",
          "none",
          ['policies/fresh: /type: unknown policy type "ip-restrictions" (one of: ip-restriction)'],
        ],
        ["office", "last valid version", ["policies/office: /config/deny: must be array"]],
      ],
    );
    assert.equal(view.inForce.find((d) => d.name === "office")?.newerVersionRejected, true);
    const warnings = () => lines.filter((l) => l.level === 40 && /config document rejected/.test(l.msg));
    assert.equal(warnings().length, 2);

    // Touching the file without changing the invalid documents warns no more.
    writeFileSync(
      file,
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: "10.0.0.0/8"}}\n  - {name: fresh, type: ip-restrictions, config: {}}\n  - {name: other, type: ip-restriction, config: {deny: ["192.0.2.2/32"]}}\n`,
    );
    await waitFor(() => store.current().revision === 3, 5_000, "the second valid change applied");
    assert.equal(warnings().length, 2);

    // A half-written file (not YAML) changes nothing and says so.
    writeFileSync(file, `policies:\n  - {name: office, type: [\n`);
    await waitFor(() => store.view().sources[0]?.healthy === false, 5_000, "the file reported broken");
    assert.match(store.view().sources[0]?.detail ?? "", /not YAML or JSON.*keeping the last read/);
    assert.equal(store.current().revision, 3);

    // Fixed: office applies again, fresh removed.
    writeFileSync(
      file,
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: ["10.9.0.0/16"]}}\n`,
    );
    await waitFor(() => store.current().revision === 4, 5_000, "the fixed file applied");
    assert.deepEqual(policies(store.current()), ["office=10.9.0.0/16"]);
    assert.deepEqual(store.view().rejected, []);
  });

  test("duplicate names in the file: the first is used, the others rejected", async () => {
    const file = join(dir, "duplicate.yaml");
    writeFileSync(
      file,
      JSON.stringify({ policies: [deny("office", "10.0.0.0/8"), deny("office", "11.0.0.0/8")] }),
    );
    const { store } = await open(file);
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8"]);
    assert.match(store.view().rejected[0]?.problems[0] ?? "", /duplicate name "office".*policies\[0\]/);
  });
});

describe("config store: etcd (real etcd)", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let counter = 0;
  before(async () => {
    etcd = await startEtcd();
    client = etcd.client();
  });
  after(async () => {
    await etcd.close();
  });

  async function open(
    extraSources: "none" | { file: string } = "none",
    afterListHook?: (prefix: string, revision: bigint) => Promise<void>,
  ) {
    const prefix = `/refract-config-test/${process.pid}-${++counter}/`;
    const { logger, lines } = captureLogger();
    const sources = [
      ...(extraSources === "none"
        ? []
        : [createFileConfigSource({ path: extraSources.file, logger, debounceMs: 20 })]),
      createEtcdConfigSource({
        endpoints: [etcd.endpoint],
        prefix,
        logger,
        dialTimeoutMs: 2_000,
        startTimeoutMs: 5_000,
        retryInitialMs: 50,
        unreachableRetryMaxMs: 200,
        ...(afterListHook ? { afterListHook: (revision: bigint) => afterListHook(prefix, revision) } : {}),
      }),
    ];
    const store = new ConfigStore({ types: TYPES, sources, logger });
    stores.push(store);
    await store.start();
    return { store, lines, prefix };
  }

  test("put, malformed, fixed, deleted", async () => {
    const { store, prefix, lines } = await open();
    assert.equal(store.current().revision, 0);
    await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "10.0.0.0/8")));
    await waitFor(() => store.current().revision === 1, 5_000, "the put applied");
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8"]);

    // YAML values too; a key that is not a document is ignored (and warned about).
    await client.put(`${prefix}consumers/app`).value(`name: app\napiKeys:\n  - sha256: "${HASH}"\n`);
    await client.put(`${prefix}stray`).value("x");
    await waitFor(() => store.current().revision === 2, 5_000, "the consumer applied");
    assert.deepEqual(
      store.current().consumers.map((c) => c.name),
      ["app"],
    );
    await waitFor(() => lines.some((l) => /ignoring a key/.test(l.msg)), 5_000, "the stray key warned about");

    // Malformed (not YAML) and invalid: the previous version stays.
    await client.put(`${prefix}policies/office`).value("{name: office, type: [");
    await waitFor(() => store.view().rejected.length === 1, 5_000, "the malformed value rejected");
    assert.match(store.view().rejected[0]!.problems[0]!, /^etcd key .*policies\/office: not YAML or JSON/);
    await client
      .put(`${prefix}policies/office`)
      .value(JSON.stringify({ ...deny("office", "x"), priority: "high" }));
    await waitFor(
      () => store.view().rejected[0]?.problems[0] === "policies/office: /priority: must be integer",
      5_000,
      "the invalid value rejected",
    );
    assert.equal(store.current().revision, 2);
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8"]);
    // The name inside must be the key's.
    await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("ofice", "10.0.0.0/8")));
    await waitFor(
      () => /must equal the name in its key/.test(store.view().rejected[0]?.problems[0] ?? ""),
      5_000,
      "the renamed value rejected",
    );

    await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "127.0.0.0/8")));
    await waitFor(() => store.current().revision === 3, 5_000, "the fixed value applied");
    assert.deepEqual(policies(store.current()), ["office=127.0.0.0/8"]);
    assert.deepEqual(store.view().rejected, []);

    await client.delete().key(`${prefix}policies/office`);
    await waitFor(() => store.current().revision === 4, 5_000, "the delete applied");
    assert.deepEqual(store.current().policies, []);
    assert.equal(store.view().sources[0]?.healthy, true);
  });

  test("a watch whose start revision was compacted lists again and misses nothing", async () => {
    let lists = 0;
    const { store } = await open("none", async (prefix) => {
      lists++;
      if (lists !== 1) return;
      // Between the first list and its watch: a change, then a compaction past it.
      await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "10.0.0.0/8")));
      await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "127.0.0.0/8")));
      await etcd.compact();
    });
    await waitFor(() => store.current().revision === 1, 5_000, "the change made before the compaction");
    assert.deepEqual(policies(store.current()), ["office=127.0.0.0/8"]);
    assert.ok(lists >= 2, `listed ${lists} time(s)`);
  });

  test("a name in both sources: etcd's wins, and the view says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "refract-config-both-"));
    try {
      const file = join(dir, "config.yaml");
      writeFileSync(
        file,
        JSON.stringify({ policies: [deny("office", "10.0.0.0/8"), deny("lab", "10.1.0.0/16")] }),
      );
      const { store, prefix } = await open({ file });
      assert.deepEqual(policies(store.current()), ["lab=10.1.0.0/16", "office=10.0.0.0/8"]);
      // A brand-new invalid etcd document over a valid file one: the file's stays.
      await client
        .put(`${prefix}policies/lab`)
        .value(JSON.stringify({ name: "lab", type: "ip-restriction" }));
      await waitFor(() => store.view().rejected.length === 1, 5_000, "the invalid etcd document rejected");
      assert.equal(store.view().rejected[0]?.inForce, "last valid version");
      await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "127.0.0.0/8")));
      await waitFor(() => store.current().revision === 2, 5_000, "etcd's document applied");
      assert.deepEqual(policies(store.current()), ["lab=10.1.0.0/16", "office=127.0.0.0/8"]);
      const office = store.view().inForce.find((d) => d.name === "office");
      assert.deepEqual([office?.source, office?.overrides], ["etcd", "file"]);
      // Deleted from etcd: the file's document applies again.
      await client.delete().key(`${prefix}policies/office`);
      await waitFor(() => store.current().revision === 3, 5_000, "the file's document back");
      assert.deepEqual(policies(store.current()), ["lab=10.1.0.0/16", "office=10.0.0.0/8"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("etcd stopped: the last config stays; restarted: changes apply again", async () => {
    const { store, prefix } = await open();
    await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "127.0.0.0/8")));
    await waitFor(() => store.current().revision === 1, 5_000, "the put applied");
    await etcd.stop();
    await waitFor(() => store.view().sources[0]?.healthy === false, 10_000, "the outage noticed");
    assert.match(store.view().sources[0]!.detail, /unreachable.*keeping the last known 1 document/);
    assert.deepEqual(policies(store.current()), ["office=127.0.0.0/8"]);
    await etcd.restart();
    await waitFor(() => store.view().sources[0]?.healthy === true, 10_000, "reconnected");
    assert.equal(store.current().revision, 1);
    await waitFor(
      async () => {
        await client.put(`${prefix}policies/office`).value(JSON.stringify(deny("office", "10.0.0.0/8")));
        return true;
      },
      10_000,
      "the put after the restart",
    );
    await waitFor(() => store.current().revision === 2, 5_000, "the change after the restart applied");
    assert.deepEqual(policies(store.current()), ["office=10.0.0.0/8"]);
  });
});
