/**
 * The etcd registry against a real etcd (test/helpers/etcd-server.ts). Every wait is event-driven with a
 * bound (waitFor); each test uses its own key prefix on a shared server, and the outage tests get their
 * own server because they stop it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Etcd3 } from "etcd3";
import { createEtcdRegistry, type EtcdRegistryOptions } from "../src/registry/etcd-registry.js";
import { runWatchSession } from "../src/registry/etcd-registry-watch.js";
import type { BackendSet, Registry } from "../src/registry/registry.js";
import { captureLogger } from "./helpers/capture-logger.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { waitFor } from "./helpers/wait.js";

/** `{ backend: ["id=address", …] }` — what the assertions compare. */
function summary(set: BackendSet): Record<string, string[]> {
  return Object.fromEntries([...set].map(([name, list]) => [name, list.map((i) => `${i.id}=${i.address}`)]));
}

let prefixCounter = 0;
function uniquePrefix(): string {
  prefixCounter++;
  return `/refract-test/${process.pid}-${prefixCounter}/`;
}

describe("etcd registry (real etcd)", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  const registries: Registry[] = [];

  function open(prefix: string, extra: Partial<EtcdRegistryOptions> = {}) {
    const { logger, lines } = captureLogger();
    const registry = createEtcdRegistry({
      endpoints: [etcd.endpoint],
      prefix,
      logger,
      retryInitialMs: 50,
      retryMaxMs: 500,
      ...extra,
    });
    registries.push(registry);
    const changes: BackendSet[] = [];
    registry.onChange((set) => changes.push(set));
    return { registry, lines, changes };
  }

  before(async () => {
    etcd = await startEtcd();
    client = etcd.client();
  });
  after(async () => {
    await Promise.all(registries.map((r) => r.close()));
    await etcd?.close();
  });

  test("lists existing keys: naming JSON, bare host:port, mixed-case keys, several instances per backend", async () => {
    const p = uniquePrefix();
    await client.put(`${p}library/a`).value('{"Op":0,"Addr":"10.0.0.1:50051","Metadata":{"tls":true}}');
    await client.put(`${p}library/b`).value("10.0.0.2:50051");
    await client.put(`${p}user/x`).value('{"addr":"user-1:7000","METADATA":{"Authority":"user.internal"}}');
    const { registry } = open(p);
    assert.deepEqual(registry.health(), { loaded: false, connected: false, detail: "not started" });
    await registry.start();
    assert.deepEqual(summary(registry.current()), {
      library: ["a=10.0.0.1:50051", "b=10.0.0.2:50051"],
      user: ["x=user-1:7000"],
    });
    const library = registry.current().get("library") ?? [];
    assert.deepEqual(library[0], {
      backend: "library",
      id: "a",
      address: "10.0.0.1:50051",
      metadata: { tls: true },
    });
    assert.deepEqual(registry.current().get("user")?.[0]?.metadata, { authority: "user.internal" });
    const health = registry.health();
    assert.equal(health.loaded, true);
    assert.equal(health.connected, true);
  });

  test("watch: put adds, update replaces, delete and Op 1 remove; onChange only on real changes", async () => {
    const p = uniquePrefix();
    const { registry, changes } = open(p);
    await registry.start();
    assert.equal(registry.current().size, 0);
    assert.equal(changes.length, 0, "an empty initial list is not a change");

    await client.put(`${p}library/a`).value('{"Op":0,"Addr":"a:1"}');
    await waitFor(() => registry.current().get("library")?.length === 1, 5_000, "library/a");
    await client.put(`${p}library/b`).value("b:1");
    await client.put(`${p}LIBRARY/c`).value('{"ADDR":"c:1"}');
    await waitFor(() => registry.current().get("LIBRARY")?.length === 1, 5_000, "LIBRARY/c");
    assert.deepEqual(summary(registry.current()), { LIBRARY: ["c=c:1"], library: ["a=a:1", "b=b:1"] });

    await client.put(`${p}library/a`).value('{"Op":0,"Addr":"a:2"}');
    await waitFor(() => registry.current().get("library")?.[0]?.address === "a:2", 5_000, "a updated");
    await client.delete().key(`${p}library/b`);
    await waitFor(() => registry.current().get("library")?.length === 1, 5_000, "b deleted");
    await client.put(`${p}LIBRARY/c`).value('{"Op":1,"Addr":"c:1"}');
    await waitFor(() => !registry.current().has("LIBRARY"), 5_000, "Op 1 removes c");
    assert.deepEqual(summary(registry.current()), { library: ["a=a:2"] });

    // No-op writes (same value again, same value spelled differently) must not emit; the sentinel after
    // them proves they were processed.
    const before = changes.length;
    await client.put(`${p}library/a`).value('{"Op":0,"Addr":"a:2"}');
    await client.put(`${p}library/a`).value("a:2");
    await client.put(`${p}library/z`).value("z:1");
    await waitFor(() => registry.current().get("library")?.length === 2, 5_000, "sentinel z");
    assert.equal(changes.length, before + 1, "only the sentinel changed the set");
    assert.equal(changes.at(-1), registry.current());
  });

  test("current() is an immutable set shared until the next change", async () => {
    const p = uniquePrefix();
    await client.put(`${p}library/a`).value("a:1");
    const { registry } = open(p);
    await registry.start();
    const first = registry.current();
    assert.equal(registry.current(), first, "same object while nothing changes");
    const mutable = first as Map<string, unknown>;
    assert.throws(() => mutable.set("x", []), TypeError);
    assert.throws(() => mutable.delete("library"), TypeError);
    assert.throws(() => mutable.clear(), TypeError);
    const list = first.get("library") ?? [];
    assert.ok(Object.isFrozen(list) && Object.isFrozen(list[0]) && Object.isFrozen(list[0]?.metadata));

    await client.put(`${p}library/b`).value("b:1");
    await waitFor(() => registry.current() !== first, 5_000, "a new set");
    assert.deepEqual(summary(first), { library: ["a=a:1"] }, "the old set is untouched");
  });

  test("an expired lease removes the instance", async () => {
    const p = uniquePrefix();
    const { registry } = open(p);
    await registry.start();
    const lease = client.lease(1, { autoKeepAlive: false });
    await lease.put(`${p}library/leased`).value("leased:1");
    await client.put(`${p}library/static`).value("static:1");
    await waitFor(() => registry.current().get("library")?.length === 2, 5_000, "both instances");
    await waitFor(
      () => registry.current().get("library")?.length === 1,
      6_000,
      "the leased instance to expire",
    );
    assert.deepEqual(summary(registry.current()), { library: ["static=static:1"] });
  });

  test("malformed values are logged at warn with their key and skipped; the rest keeps working", async () => {
    const p = uniquePrefix();
    await client.put(`${p}library/bad-at-list`).value('{"Addr":42}');
    await client.put(`${p}library/good`).value("good:1");
    await client.put(`${p}no-instance-id`).value("x:1");
    const { registry, lines } = open(p);
    await registry.start();
    assert.deepEqual(summary(registry.current()), { library: ["good=good:1"] });

    await client.put(`${p}library/bad-in-watch`).value("definitely not an address");
    await client.put(`${p}library/good`).value('{"Addr":"good:1","Metadata":{"tls":"yes"}}'); // turns bad
    await client.put(`${p}library/after`).value("after:1");
    await waitFor(
      () => registry.current().get("library")?.[0]?.id === "after",
      5_000,
      "the valid put after the bad ones",
    );
    assert.deepEqual(summary(registry.current()), { library: ["after=after:1"] });

    const warnings = lines.filter((l) => l.level === 40 && l.msg === "skipping malformed registry entry");
    const byKey = Object.fromEntries(warnings.map((l) => [l.key as string, l.reason as string]));
    assert.deepEqual(byKey, {
      [`${p}library/bad-at-list`]: "Addr is missing or not a string",
      [`${p}no-instance-id`]: "key has no instance id (want <prefix><backend>/<instance-id>)",
      [`${p}library/bad-in-watch`]: '"definitely not an address" is not host:port and not naming JSON',
      [`${p}library/good`]: 'Metadata.tls must be a boolean, got "yes"',
    });
    assert.equal(warnings.length, 4, "one warning per malformed write");
  });

  test("compaction past the watch revision: lists again and ends with the correct set", async () => {
    const p = uniquePrefix();
    await client.put(`${p}library/kept`).value("kept:1");
    await client.put(`${p}library/removed`).value("removed:1");
    let lists = 0;
    const { registry, lines } = open(p, {
      // Between the first list and its watch, change the prefix and compact past the list's revision:
      // the watch from list+1 must fail with a compact revision and the registry must list again.
      afterListHook: async () => {
        lists++;
        if (lists !== 1) return;
        await client.put(`${p}library/added`).value("added:1");
        await client.delete().key(`${p}library/removed`);
        await etcd.compact();
      },
    });
    await registry.start();
    await waitFor(() => lists >= 2, 5_000, "a second list");
    await waitFor(() => registry.current().get("library")?.length === 2, 5_000, "the relisted set");
    assert.deepEqual(summary(registry.current()), { library: ["added=added:1", "kept=kept:1"] });
    assert.ok(lines.some((l) => l.msg === "watch revision was compacted; listing again"));
    // And it watches again from the new revision.
    await client.put(`${p}library/later`).value("later:1");
    await waitFor(() => registry.current().get("library")?.length === 3, 5_000, "a put after the relist");
    assert.equal(registry.health().connected, true);
  });

  test("a change written just before a compaction is not lost", async () => {
    const p = uniquePrefix();
    const { registry } = open(p);
    await registry.start();
    await client.put(`${p}library/a`).value("a:1");
    await etcd.compact();
    await waitFor(() => registry.current().get("library")?.length === 1, 5_000, "a");
    await client.put(`${p}library/b`).value("b:1");
    await etcd.compact();
    await client.delete().key(`${p}library/a`);
    await waitFor(() => summary(registry.current()).library?.join() === "b=b:1", 5_000, "only b");
  });

  test("watch sessions report compaction and a revision that went backwards", async () => {
    const p = uniquePrefix();
    await client.put(`${p}k/1`).value("k:1");
    await client.put(`${p}k/1`).value("k:2");
    await etcd.compact();
    const { header } = await client.kv.range({ key: Buffer.from(`${p}k/1`) });
    const current = BigInt(header.revision);
    const base = { client, prefix: p, createTimeoutMs: 3_000, signal: new AbortController().signal };
    const callbacks = { onCreated() {}, onEvents() {} };

    const compacted = await runWatchSession({ ...base, ...callbacks, fromRevision: 1n });
    assert.deepEqual(compacted, { reason: "compacted", compactRevision: current });

    // A watch from a revision the store has not reached is accepted by etcd and just waits; the session
    // flags it, since it means our revision came from a different (or wiped) store.
    const regressed = await runWatchSession({ ...base, ...callbacks, fromRevision: current + 1_000n });
    assert.equal(regressed.reason, "regressed");

    const stop = new AbortController();
    const closed = runWatchSession({
      ...base,
      ...callbacks,
      signal: stop.signal,
      fromRevision: current + 1n,
    });
    stop.abort();
    assert.deepEqual(await closed, { reason: "closed" });
  });

  test("a dead endpoint among several does not stop it from loading and watching", async () => {
    const p = uniquePrefix();
    await client.put(`${p}library/a`).value("a:1");
    // Port 1 on loopback refuses connections; etcd3 picks a random endpoint per call and per watch.
    const { registry } = open(p, { endpoints: ["http://127.0.0.1:1", etcd.endpoint] });
    await registry.start();
    assert.equal(registry.health().loaded, true);
    await client.put(`${p}library/b`).value("b:1");
    await waitFor(
      () => registry.current().get("library")?.length === 2,
      10_000,
      "b through the live endpoint",
    );
  });

  describe("outages (own etcd)", () => {
    let outage: EtcdServer;
    before(async () => {
      outage = await startEtcd();
    });
    after(async () => {
      await outage?.close();
    });

    function openOn(server: EtcdServer, prefix: string, extra: Partial<EtcdRegistryOptions> = {}) {
      const { logger, lines } = captureLogger();
      const registry = createEtcdRegistry({
        endpoints: [server.endpoint],
        prefix,
        logger,
        retryInitialMs: 50,
        retryMaxMs: 500,
        dialTimeoutMs: 1_000,
        ...extra,
      });
      registries.push(registry);
      return { registry, lines };
    }

    test("etcd stopped: last known set kept, health says so; restarted: later writes are picked up", async () => {
      const p = uniquePrefix();
      const writer = outage.client();
      await writer.put(`${p}library/a`).value("a:1");
      await writer.put(`${p}library/b`).value("b:1");
      const { registry, lines } = openOn(outage, p);
      await registry.start();
      const known = registry.current();

      await outage.stop();
      const down = await waitFor(
        () => {
          const health = registry.health();
          return health.connected ? undefined : health;
        },
        5_000,
        "health to report the outage",
      );
      assert.equal(down.loaded, true);
      assert.match(
        down.detail,
        /^etcd unreachable since \d{4}-\d\d-\d\dT[\d:.]+Z: .+; serving last known set of 2 instance\(s\)$/,
      );
      assert.equal(registry.current(), known, "the last known set is still served, unchanged");
      assert.ok(lines.some((l) => l.level === 40 && /^etcd unreachable since/.test(l.msg)));

      await outage.restart();
      await waitFor(() => registry.health().connected, 10_000, "reconnection");
      assert.equal(registry.current(), known, "a relist with the same content is not a change");
      await waitFor(
        () =>
          writer
            .put(`${p}library/c`)
            .value("c:1")
            .then(() => true),
        10_000,
        "a write after restart",
      );
      await writer.delete().key(`${p}library/a`);
      await waitFor(
        () => summary(registry.current()).library?.join() === "b=b:1,c=c:1",
        10_000,
        "changes after the restart",
      );
      assert.ok(lines.some((l) => l.level === 30 && /^etcd reachable again/.test(l.msg)));
    });

    test("a long outage: retries stay within the unreachable cap, so etcd's return is noticed within a retry", async () => {
      const p = uniquePrefix();
      await outage.restart();
      const writer = outage.client();
      await writer.put(`${p}library/a`).value("a:1");
      // Production defaults for the pauses (200 ms first, 10 s cap for errors etcd returns).
      const { registry, lines } = openOn(outage, p, { retryInitialMs: 200, retryMaxMs: 10_000 });
      await registry.start();
      await outage.stop();
      const pauses = () =>
        lines.filter((l) => l.msg === "listing again after a pause" && l.reason === "failed");
      // Eight failed attempts in a row: an uncapped exponential backoff would be past 10 s by now.
      await waitFor(() => pauses().length >= 8, 30_000, "eight failed attempts");
      const delays = pauses().map((l) => l.retryInMs as number);
      assert.ok(
        delays.every((ms) => ms >= 100 && ms <= 1_000),
        `every pause while etcd is unreachable is within 0.1–1 s: ${delays.join(", ")}`,
      );
      assert.ok(new Set(delays).size > 1, `the pauses are jittered: ${delays.join(", ")}`);

      await outage.restart();
      await waitFor(() => registry.health().connected, 10_000, "reconnection");
      await writer.put(`${p}library/b`).value("b:1");
      await waitFor(() => registry.current().get("library")?.length === 2, 10_000, "a registration after it");
    });

    test("start() with etcd down resolves after startTimeoutMs with an empty set, then loads in the background", async () => {
      const p = uniquePrefix();
      const writer = outage.client();
      await waitFor(
        () =>
          writer
            .put(`${p}user/u1`)
            .value("u1:1")
            .then(() => true),
        10_000,
        "etcd up",
      );
      await outage.stop();
      const { registry, lines } = openOn(outage, p, { startTimeoutMs: 300 });
      const started = Date.now();
      await registry.start();
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 2_000, `start() took ${elapsed} ms`);
      assert.equal(registry.current().size, 0);
      const health = registry.health();
      assert.equal(health.loaded, false);
      assert.equal(health.connected, false);
      assert.match(health.detail, /^etcd unreachable since .+; no backend set loaded yet$/);
      assert.ok(lines.some((l) => l.level === 40 && /not reachable at start/.test(l.msg)));

      const loaded = new Promise<BackendSet>((resolve) => registry.onChange(resolve));
      await outage.restart();
      assert.deepEqual(summary(await loaded), { user: ["u1=u1:1"] });
      assert.equal(registry.health().loaded, true);
    });

    test("close() returns promptly while etcd is down", async () => {
      const p = uniquePrefix();
      await outage.restart();
      const { registry } = openOn(outage, p);
      await registry.start();
      await outage.stop();
      await waitFor(() => !registry.health().connected, 5_000, "the outage to be noticed");
      const started = Date.now();
      await registry.close();
      assert.ok(Date.now() - started < 1_000, `close() took ${Date.now() - started} ms`);
      assert.equal(registry.health().detail, "closed");
      await registry.close(); // idempotent
    });
  });
});
