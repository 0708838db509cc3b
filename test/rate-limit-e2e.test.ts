/**
 * rate-limit end to end (issue 15): two gateways in this process, one real redis-server, one real gRPC
 * backend, policies from a --config file, requests over HTTP. `store: redis` is one limit for both
 * gateways (N in total, the (N+1)th 429 with RateLimit-* and Retry-After); `store: local` is per gateway;
 * Redis killed → fail open (every request answered), `failOpen: false` → 503; Redis back → limiting again.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { createStaticRegistry } from "../src/registry/static-registry.js";
import { type GatewayHarness, postJson, scrape, startGatewayHarness } from "./helpers/gateway-harness.js";
import { type RedisServer, startRedis } from "./helpers/redis-server.js";
import { waitFor } from "./helpers/wait.js";

const SERVICE = "acme.library.v1.LibraryService";
const SHARED = `/${SERVICE}/ListShelves`; // store redis, fails open
const CLOSED = `/${SERVICE}/GetShelf`; // store redis, failOpen false
const LOCAL = `/${SERVICE}/ListBooks`; // store local

const CONFIG = `
policies:
  - name: shared-limit
    type: rate-limit
    match: { methods: ["${SERVICE}/ListShelves"] }
    config: { limit: 3, window: 1h, key: ["header:x-client"], store: redis, timeoutMs: 200 }
  - name: closed-limit
    type: rate-limit
    match: { methods: ["${SERVICE}/GetShelf"] }
    config: { limit: 3, window: 1h, key: ["header:x-client"], store: redis, failOpen: false, timeoutMs: 200 }
  - name: local-limit
    type: rate-limit
    match: { methods: ["${SERVICE}/ListBooks"] }
    config: { limit: 2, window: 1h, key: ["header:x-client"], store: local }
`;

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One call, bounded: a hang fails the test instead of stalling it. */
async function call(gateway: GatewayHarness, path: string, client: string): Promise<Answer> {
  const body = path === LOCAL ? { parent: "shelves/1" } : path === CLOSED ? { name: "shelves/1" } : {};
  return postJson(`${gateway.publicUrl}${path}`, body, { "x-client": client });
}

describe("rate-limit end to end (two gateways, one redis-server)", () => {
  let redis: RedisServer;
  let library: RunningBackend;
  let dir: string;
  let a: GatewayHarness;
  let b: GatewayHarness;

  async function gateway(configFile: string): Promise<GatewayHarness> {
    return startGatewayHarness({
      library: false,
      users: false,
      gateway: {
        registry: createStaticRegistry([{ name: "library", address: library.address }]),
        configFile,
        redis: redis.url,
      },
    });
  }

  before(async () => {
    redis = await startRedis();
    library = await startLibraryBackend();
    dir = mkdtempSync(join(tmpdir(), "refract-rate-limit-e2e-"));
    const file = join(dir, "refract.yaml");
    writeFileSync(file, CONFIG);
    a = await gateway(file);
    b = await gateway(file);
    // Both gateways have the policies and reach Redis: an answer carries the shared limit's headers.
    for (const [i, g] of [a, b].entries()) {
      await waitFor(
        async () => (await call(g, SHARED, `warm-up-${i}`)).headers.get("ratelimit-limit") === "3",
        10_000,
        "the shared limit in force",
      );
    }
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await library?.close();
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("store redis: N allowed in total across both gateways; the next gets 429 with the headers", async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) answers.push(await call(i % 2 === 0 ? a : b, SHARED, "alice"));
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 429, 429, 429, 429, 429],
    );
    assert.deepEqual(
      answers.slice(0, 3).map((r) => r.headers.get("ratelimit-remaining")),
      ["2", "1", "0"],
    );
    assert.equal(answers[0]?.headers.get("ratelimit-limit"), "3");
    assert.equal(answers[0]?.headers.get("ratelimit-reset"), "1200"); // 1 h / 3
    const refused = answers[3] as Answer;
    assert.deepEqual(refused.body, { code: 8, message: "rate limit of 3 per 1h exceeded", details: [] });
    assert.equal(refused.headers.get("retry-after"), "1200");
    assert.equal(refused.headers.get("ratelimit-limit"), "3");
    assert.equal(refused.headers.get("ratelimit-remaining"), "0");
    assert.equal(refused.headers.get("ratelimit-reset"), "3600");
    // Another client has its own bucket.
    assert.equal((await call(b, SHARED, "bob")).status, 200);
  });

  test("store local: each gateway counts its own", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(i % 2 === 0 ? a : b, LOCAL, "carol")).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  });

  test("Redis killed: fail open, failOpen false → 503, every answer bounded; Redis back: limiting resumes", async () => {
    await redis.stop();
    for (const g of [a, b]) {
      for (let i = 0; i < 4; i++) {
        const answer = await call(g, SHARED, "dave");
        assert.equal(answer.status, 200);
        assert.equal(answer.headers.get("ratelimit-limit"), null);
      }
      const closed = await call(g, CLOSED, "dave");
      assert.equal(closed.status, 503);
      assert.equal((closed.body as { code: number }).code, 14);
    }
    const warnings = a.logs.filter((line) => String(line.msg).includes("rate limit store unreachable"));
    assert.ok(warnings.length >= 1 && warnings.length <= 2, `${warnings.length} warnings from one gateway`);
    // Counted, too: 4 let through and 1 refused per gateway while Redis was down.
    const counted = await scrape(a.adminUrl);
    assert.equal(counted.value("refract_rate_limit_store_failures_total", { outcome: "open" }), 4);
    assert.equal(counted.value("refract_rate_limit_store_failures_total", { outcome: "closed" }), 1);

    await redis.restart();
    // Redis restarts empty: "erin" has a full bucket once the gateways reach it again.
    for (const g of [a, b]) {
      await waitFor(
        async () => (await call(g, SHARED, `probe-${g.publicUrl}`)).headers.get("ratelimit-limit") === "3",
        10_000,
        "the gateway to reach redis again",
      );
    }
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(i % 2 === 0 ? a : b, CLOSED, "erin")).status);
    assert.deepEqual(
      statuses.map((s) => (s === 429 ? 429 : s < 500 ? "passed" : s)),
      ["passed", "passed", "passed", 429, 429],
    );
  });
});
