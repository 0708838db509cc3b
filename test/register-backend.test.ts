/** registerBackend against a real etcd: keepalive, lease loss and re-registration, close(). */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Etcd3 } from "etcd3";
import { GatewayConfigError } from "../src/errors.js";
import { registerBackend } from "../src/registry/register-backend.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";
import { waitFor } from "./helpers/wait.js";

describe("registerBackend (real etcd)", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    etcd = await startEtcd();
    client = etcd.client();
  });
  after(async () => {
    for (const close of closers) await close();
    await etcd?.close();
  });

  async function read(key: string): Promise<{ value: string; lease: string } | undefined> {
    const response = await client.kv.range({ key: Buffer.from(key) });
    const kv = response.kvs[0];
    return kv ? { value: kv.value.toString("utf8"), lease: kv.lease } : undefined;
  }

  test("writes naming JSON under a lease, keeps it past its TTL, and close() removes it", async () => {
    const registration = await registerBackend({
      etcd: etcd.endpoint,
      name: "library",
      address: "127.0.0.1:50051",
      ttlMs: 1_000,
      metadata: { tls: true },
      prefix: "/keepalive",
    });
    closers.push(registration.close);
    assert.equal(registration.key, "/keepalive/library/127.0.0.1:50051");
    const written = await read(registration.key);
    assert.deepEqual(JSON.parse(written?.value ?? "null"), {
      Op: 0,
      Addr: "127.0.0.1:50051",
      Metadata: { tls: true },
    });
    assert.notEqual(written?.lease, "0", "attached to a lease");

    // Watch the key for a delete while three TTLs pass: a lease that is not kept alive expires in ~1 s.
    const watcher = await client.watch().key(registration.key).create();
    let deleted = false;
    watcher.on("delete", () => {
      deleted = true;
    });
    const started = Date.now();
    await waitFor(() => Date.now() - started > 3_000, 5_000, "three TTLs");
    await watcher.cancel();
    assert.equal(deleted, false, "the key was never deleted");
    assert.equal((await read(registration.key))?.lease, written?.lease, "same lease, kept alive");

    await registration.close();
    assert.equal(await read(registration.key), undefined, "close() revoked the lease and the key");
    await registration.close(); // idempotent
  });

  test("a lost lease (revoked behind its back) is re-granted and the key written again", async () => {
    const registration = await registerBackend({
      etcd: [etcd.endpoint],
      name: "user",
      address: "user-1:7000",
      instanceId: "pod-1",
      ttlMs: 1_000,
      retryInitialMs: 50,
    });
    closers.push(registration.close);
    assert.equal(registration.key, "/refract/backends/user/pod-1");
    const first = await read(registration.key);
    assert.ok(first);
    await client.leaseClient.leaseRevoke({ ID: first.lease });
    const second = await waitFor(
      async () => {
        const now = await read(registration.key);
        return now && now.lease !== first.lease ? now : undefined;
      },
      8_000,
      "the key under a new lease",
    );
    assert.equal(second.value, first.value);
    await registration.close();
    assert.equal(await read(registration.key), undefined);
  });

  test("survives an etcd restart", async () => {
    const own = await startEtcd();
    try {
      const registration = await registerBackend({
        etcd: own.endpoint,
        name: "library",
        address: "lib:1",
        ttlMs: 1_000,
        retryInitialMs: 50,
        retryMaxMs: 300,
      });
      const reader = own.client();
      const key = registration.key;
      await own.stop();
      await own.restart();
      // After the restart the key must be there and stay there across more than a TTL.
      await waitFor(async () => (await reader.get(key).string()) !== null, 10_000, "the key after restart");
      const started = Date.now();
      await waitFor(() => Date.now() - started > 2_500, 5_000, "more than two TTLs");
      assert.notEqual(await reader.get(key).string(), null);
      await registration.close();
      assert.equal(await reader.get(key).string(), null);
    } finally {
      await own.close();
    }
  });

  test("an outage longer than the TTL: the lease is given up and a new one registers the key again", async () => {
    const own = await startEtcd();
    try {
      const registration = await registerBackend({
        etcd: own.endpoint,
        name: "library",
        address: "lib:2",
        ttlMs: 1_000,
        retryInitialMs: 50,
        retryMaxMs: 300,
      });
      const reader = own.client();
      const key = registration.key;
      const original = (await reader.get(key).exec()).kvs[0]?.lease;
      assert.ok(original);
      await own.stop();
      // etcd3 declares the lease lost after 2 × TTL without a successful keepalive.
      const stopped = Date.now();
      await waitFor(() => Date.now() - stopped > 2_500, 5_000, "an outage of more than 2 × TTL");
      await own.restart();
      await waitFor(
        async () => {
          const lease = (await reader.get(key).exec()).kvs[0]?.lease;
          return lease !== undefined && lease !== original;
        },
        10_000,
        "the key under a new lease",
      );
      await registration.close();
      assert.equal(await reader.get(key).string(), null);
    } finally {
      await own.close();
    }
  });

  test("invalid options are rejected with a GatewayConfigError naming the option", async () => {
    await assert.rejects(
      registerBackend({ etcd: etcd.endpoint, name: "bad name", address: "h:1" }),
      (error: unknown) => error instanceof GatewayConfigError && error.option === "name",
    );
    await assert.rejects(
      registerBackend({ etcd: etcd.endpoint, name: "ok", address: "no-port" }),
      (error: unknown) => error instanceof GatewayConfigError && error.option === "address",
    );
    await assert.rejects(
      registerBackend({ etcd: "not a url", name: "ok", address: "h:1" }),
      (error: unknown) => error instanceof GatewayConfigError && error.option === "etcd",
    );
  });

  test("gives up after startTimeoutMs when etcd is unreachable, and an abort stops it earlier", async () => {
    const down = await startEtcd();
    const endpoint = down.endpoint;
    await down.close();
    const started = Date.now();
    await assert.rejects(
      registerBackend({ etcd: endpoint, name: "x", address: "h:1", startTimeoutMs: 400, retryInitialMs: 50 }),
      /could not register \/refract\/backends\/x\/h:1 within 400 ms/,
    );
    assert.ok(Date.now() - started < 3_000);

    const abort = new AbortController();
    const pending = registerBackend({
      etcd: endpoint,
      name: "x",
      address: "h:1",
      startTimeoutMs: Number.POSITIVE_INFINITY,
      signal: abort.signal,
    });
    abort.abort();
    await assert.rejects(pending, /aborted/);
  });
});
