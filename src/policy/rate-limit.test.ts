import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ajv } from "ajv";
import pino from "pino";
import { GatewayConfigError, GatewayError } from "../errors.js";
import type { Identity, PolicyContext, PolicyEnvironment } from "./policy.js";
import { rateLimitHeaders, rateLimitPolicyType } from "./rate-limit.js";
import { createLocalGcraStore, gcraLimit, gcraStep } from "./rate-limit-gcra.js";
import { compileKey, hashKey } from "./rate-limit-key.js";

const silent = pino({ level: "silent" });
const environment: PolicyEnvironment = {
  consumersByKeyHash: new Map(),
  consumersByName: new Map(),
  logger: silent,
  redis: undefined,
};

function context(
  over: Partial<Omit<PolicyContext, "identity">> & { identity?: Identity } = {},
): PolicyContext {
  return {
    method: { backend: "library", selector: "acme.v1.Library/GetBook" },
    headers: {},
    query: "",
    clientIp: "10.0.0.1",
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    log: silent,
    ...over,
    identity: over.identity,
  };
}

const jwtIdentity = (claims: Record<string, unknown>, consumer?: string): Identity => ({
  source: "jwt",
  subject: String(claims.sub),
  claims,
  scopes: [],
  consumer: consumer === undefined ? undefined : { name: consumer, labels: {} },
});

describe("rate-limit keys", () => {
  test("each part reads its value; a missing part is '-' so anonymous callers still share one limit", () => {
    const cases: Array<[string[], PolicyContext, string]> = [
      [["ip"], context(), "8:10.0.0.1"],
      [["ip"], context({ clientIp: undefined }), "-"],
      [["method"], context(), "23:acme.v1.Library/GetBook"],
      [["consumer"], context(), "-"],
      [["consumer"], context({ identity: jwtIdentity({ sub: "u" }, "acme") }), "4:acme"],
      [["claim:sub"], context({ identity: jwtIdentity({ sub: "alice" }) }), "5:alice"],
      [["claim:tier"], context({ identity: jwtIdentity({ sub: "a", tier: 2 }) }), "1:2"],
      [["claim:groups"], context({ identity: jwtIdentity({ sub: "a", groups: ["x"] }) }), '5:["x"]'],
      [["claim:sub"], context(), "-"],
      [["header:X-Tenant"], context({ headers: { "x-tenant": "t1" } }), "2:t1"],
      [["header:x-tenant"], context({ headers: { "x-tenant": ["a", "b"] } }), "4:a, b"],
      [["header:x-tenant"], context(), "-"],
      [["ip", "method"], context(), "8:10.0.0.1|23:acme.v1.Library/GetBook|"],
      [["consumer", "ip"], context(), "-|8:10.0.0.1|"],
    ];
    for (const [parts, ctx, expected] of cases) assert.equal(compileKey(parts)(ctx), expected, parts.join());
  });

  test("a value equal to '-' never shares the anonymous bucket; parts cannot run into each other", () => {
    const consumer = compileKey(["consumer"]);
    assert.notEqual(consumer(context({ identity: jwtIdentity({ sub: "u" }, "-") })), consumer(context()));
    const two = compileKey(["header:a", "header:b"]);
    assert.notEqual(
      two(context({ headers: { a: "x|1:y", b: undefined } })),
      two(context({ headers: { a: "x", b: "y" } })),
    );
  });

  test("a long key is replaced by its SHA-256: a huge header cannot grow the store, and it is not kept", () => {
    const secret = `Bearer ${"s".repeat(10_000)}`;
    const key = compileKey(["header:authorization"])(context({ headers: { authorization: secret } }));
    assert.equal(key, `#${hashKey(`${secret.length}:${secret}`)}`);
    assert.ok(key.length < 64);
  });
});

describe("GCRA", () => {
  test("limit at one instant is exactly limit, then one per window/limit", () => {
    const limit = gcraLimit(3, 1_000); // 3 per second: one every 333_333 µs
    let tat: number | undefined;
    const now = 1_700_000_000_000_000;
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const step = gcraStep(limit, tat, now);
      assert.ok(step.allowed, `request ${i + 1}`);
      remaining.push(step.remaining);
      tat = step.newTatUs;
    }
    assert.deepEqual(remaining, [2, 1, 0]);
    const refused = gcraStep(limit, tat, now);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterUs, limit.intervalUs);
    assert.equal(refused.resetUs, limit.burstUs);
    assert.equal(gcraStep(limit, tat, now + limit.intervalUs - 1).allowed, false);
    const later = gcraStep(limit, tat, now + limit.intervalUs);
    assert.ok(later.allowed);
    assert.equal(later.remaining, 0);
    // A full window later the bucket is full again.
    assert.equal(gcraStep(limit, tat, now + limit.burstUs).remaining, 2);
  });

  test("the local store is bounded: the least recently used key is forgotten first", () => {
    let now = 0;
    const store = createLocalGcraStore(gcraLimit(1, 60_000), { maxKeys: 2, now: () => now });
    assert.ok(store.take("a").allowed);
    assert.ok(store.take("b").allowed);
    now += 60_000_000; // a full window: both buckets are full again
    assert.ok(store.take("a").allowed); // a is now the most recently used
    assert.ok(store.take("c").allowed); // the store is full: b, the least recently used, goes
    assert.equal(store.size, 2);
    assert.equal(store.take("a").allowed, false); // kept
    assert.equal(store.take("c").allowed, false); // kept
    assert.ok(store.take("b").allowed); // forgotten: a full bucket again
  });
});

describe("rate-limit headers", () => {
  test("allowed: Limit, Remaining, Reset in whole seconds (rounded up); refused: plus Retry-After ≥ 1", () => {
    assert.deepEqual(
      rateLimitHeaders(10, { allowed: true, remaining: 9, retryAfterUs: 0, resetUs: 6_000_000 }),
      { "ratelimit-limit": "10", "ratelimit-remaining": "9", "ratelimit-reset": "6" },
    );
    assert.deepEqual(
      rateLimitHeaders(10, { allowed: false, remaining: 0, retryAfterUs: 200_000, resetUs: 59_900_001 }),
      { "ratelimit-limit": "10", "ratelimit-remaining": "0", "ratelimit-reset": "60", "retry-after": "1" },
    );
  });
});

describe("rate-limit policy (local store)", () => {
  const compile = (config: Parameters<typeof rateLimitPolicyType.compile>[0], env = environment) =>
    rateLimitPolicyType.compile(config, env, "per-ip");

  test("N pass with headers, the next is 429 code 8 with Retry-After and no key value in the message", async () => {
    const policy = compile({ limit: 2, window: "1m", key: ["header:x-api-key"] });
    assert.equal(policy.phase, "limit");
    const secret = "sk_live_do_not_echo";
    const seen: Array<Record<string, string>> = [];
    for (let i = 0; i < 2; i++) {
      const ctx = context({ headers: { "x-api-key": secret } });
      await policy.run(ctx);
      seen.push(ctx.responseHeaders);
    }
    assert.deepEqual(
      seen.map((h) => h["ratelimit-remaining"]),
      ["1", "0"],
    );
    assert.equal(seen[0]?.["ratelimit-limit"], "2");
    assert.equal(seen[0]?.["ratelimit-reset"], "30");
    const error = await Promise.resolve()
      .then(() => policy.run(context({ headers: { "x-api-key": secret } })))
      .then(
        () => assert.fail("third request allowed"),
        (e: unknown) => e,
      );
    assert.ok(error instanceof GatewayError);
    assert.equal(error.code, 8);
    assert.equal(error.httpStatus, 429);
    assert.equal(error.message, "rate limit of 2 per 1m exceeded");
    assert.equal(error.headers["retry-after"], "30");
    assert.equal(error.headers["ratelimit-remaining"], "0");
    assert.ok(!JSON.stringify(error.toStatusBody()).includes(secret));
    // Another key has its own bucket.
    await policy.run(context({ headers: { "x-api-key": "other" } }));
  });

  test("the default key is the client IP", async () => {
    const policy = compile({ limit: 1, window: "1h" });
    await policy.run(context({ clientIp: "10.0.0.1" }));
    await policy.run(context({ clientIp: "10.0.0.2" }));
    await assert.rejects(async () => policy.run(context({ clientIp: "10.0.0.1" })), { code: 8 });
  });

  test("two limits on one request: the headers show the one with fewer requests left", async () => {
    const loose = compile({ limit: 100, window: "1m" });
    const tight = compile({ limit: 5, window: "1m" });
    for (const order of [
      [loose, tight],
      [tight, loose],
    ]) {
      const ctx = context({ clientIp: order[0] === loose ? "1.1.1.1" : "2.2.2.2" });
      for (const policy of order) await policy.run(ctx);
      assert.equal(ctx.responseHeaders["ratelimit-limit"], "5");
      assert.equal(ctx.responseHeaders["ratelimit-remaining"], "4");
    }
  });

  test("store redis without --redis is rejected at compile with a clear error", () => {
    assert.throws(
      () => compile({ limit: 1, window: "1s", store: "redis" }),
      (error: unknown) =>
        error instanceof GatewayConfigError && error.option === "store" && /--redis/.test(error.message),
    );
    assert.throws(() => compile({ limit: 1, window: "0s" }), GatewayConfigError);
  });

  test("the config schema accepts the documented forms and rejects the rest", () => {
    const validate = new Ajv({ strict: false }).compile(rateLimitPolicyType.configSchema);
    const good = [
      { limit: 1, window: "1s" },
      { limit: 10, window: "1h30m", key: ["consumer", "ip", "claim:sub", "header:x-tenant", "method"] },
      { limit: 5, window: "500ms", store: "redis", failOpen: false, timeoutMs: 50 },
    ];
    const bad = [
      {},
      { limit: 0, window: "1s" },
      { limit: 1.5, window: "1s" },
      { limit: 1, window: "10" },
      { limit: 1, window: "1s", key: [] },
      { limit: 1, window: "1s", key: ["cookie"] },
      { limit: 1, window: "1s", key: ["header:bad header"] },
      { limit: 1, window: "1s", key: ["ip", "ip"] },
      { limit: 1, window: "1s", store: "memcached" },
      { limit: 1, window: "1s", timeoutMs: 0 },
      { limit: 1, window: "1s", extra: true },
    ];
    for (const config of good) assert.ok(validate(config), JSON.stringify(config));
    for (const config of bad) assert.equal(validate(config), false, JSON.stringify(config));
  });
});
