/**
 * The rate-limit policy against a real redis-server: one limit shared exactly by two limiter instances on
 * two connections (two gateway processes' view), fail open / closed while Redis is down or hung (every
 * decision bounded), limiting back once Redis is.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { loadConfig } from "../src/config/load-config.js";
import { validateGatewayOptions } from "../src/config/validate-options.js";
import { GatewayConfigError, GatewayError } from "../src/errors.js";
import type { CompiledPolicy, PolicyContext, PolicyEnvironment } from "../src/policy/policy.js";
import { type RateLimitConfig, rateLimitPolicyType } from "../src/policy/rate-limit.js";
import { createRedisConnection, type OwnedRedisConnection } from "../src/policy/redis-connection.js";
import { type RedisServer, startRedis } from "./helpers/redis-server.js";
import { waitFor } from "./helpers/wait.js";

const silent = pino({ level: "silent" });

function context(clientIp: string, headers: Record<string, string> = {}): PolicyContext {
  return {
    method: { backend: "library", selector: "acme.v1.Library/GetBook" },
    headers,
    query: "",
    clientIp,
    identity: undefined,
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    log: silent,
  };
}

type Outcome =
  | { status: "allowed"; headers: Record<string, string> }
  | { status: number; error: GatewayError };

/** Runs one decision, failing the test if it takes longer than `boundMs` (a hang, not a timing check). */
async function decide(policy: CompiledPolicy, ctx: PolicyContext, boundMs = 5_000): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`decision did not settle within ${boundMs} ms`)), boundMs);
  });
  try {
    await Promise.race([policy.run(ctx), hang]);
    return { status: "allowed", headers: ctx.responseHeaders };
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { status: error.httpStatus, error };
  } finally {
    clearTimeout(timer);
  }
}

/** The refusal of an outcome; fails the test when it was allowed. */
function refusal(outcome: Outcome): GatewayError {
  if (outcome.status === "allowed") assert.fail("request was allowed");
  return outcome.error;
}

describe("rate-limit with store redis (real redis-server)", () => {
  let redis: RedisServer;
  const connections: OwnedRedisConnection[] = [];
  const logLines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logLines.push(line) });

  function gatewayView(options: { commandTimeoutMs?: number } = {}): {
    connection: OwnedRedisConnection;
    compile(config: Omit<RateLimitConfig, "store">, name?: string): CompiledPolicy;
  } {
    const connection = createRedisConnection(redis.url, logger, options);
    connections.push(connection);
    const environment: PolicyEnvironment = {
      consumersByKeyHash: new Map(),
      consumersByName: new Map(),
      logger,
      redis: connection,
    };
    return {
      connection,
      compile: (config, name = "shared") =>
        rateLimitPolicyType.compile({ ...config, store: "redis" }, environment, name),
    };
  }

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const connection of connections) await connection.close();
    await redis?.close();
  });

  test("two limiters on two connections share one limit exactly: N in total, not N each", async () => {
    const a = gatewayView();
    const b = gatewayView();
    const config = { limit: 5, window: "1h", key: ["header:x-api-key"], timeoutMs: 1_000 };
    // Nothing is opened before a policy needs it; compiling one connects.
    assert.equal(a.connection.client.status, "wait");
    const policies = [a.compile(config), b.compile(config)];
    await waitFor(() => a.connection.isReady() && b.connection.isReady(), 5_000, "redis connections");
    const secret = "sk_live_never_in_redis_in_clear";
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 12; i++) {
      outcomes.push(
        await decide(policies[i % 2] as CompiledPolicy, context("10.0.0.1", { "x-api-key": secret })),
      );
    }
    const allowed = outcomes.filter((o) => o.status === "allowed");
    assert.equal(allowed.length, 5);
    assert.deepEqual(
      outcomes.slice(0, 5).map((o) => (o.status === "allowed" ? o.headers["ratelimit-remaining"] : o.status)),
      ["4", "3", "2", "1", "0"],
    );
    for (const outcome of outcomes.slice(5)) {
      const error = refusal(outcome);
      assert.equal(error.httpStatus, 429);
      assert.equal(error.code, 8);
      assert.equal(error.message, "rate limit of 5 per 1h exceeded");
      assert.equal(error.headers["ratelimit-limit"], "5");
      assert.equal(error.headers["ratelimit-remaining"], "0");
      assert.equal(error.headers["retry-after"], "720"); // one request every 1h / 5
    }
    // A different key has its own bucket; another policy name too.
    assert.equal((await decide(policies[1] as CompiledPolicy, context("10.0.0.1"))).status, "allowed");
    assert.equal(
      (await decide(a.compile(config, "other"), context("10.0.0.1", { "x-api-key": secret }))).status,
      "allowed",
    );
    // The key is stored hashed: the secret is nowhere in Redis.
    assert.equal(await redis.command(`EXISTS refract:rl:shared:${secret}`), ":0");
  });

  test("Redis killed: fail open (bounded, counted, logged once), failOpen false → 503; back → limiting resumes", async () => {
    const view = gatewayView();
    const open = view.compile({ limit: 2, window: "1h", timeoutMs: 200 }, "outage-open");
    const closed = view.compile({ limit: 2, window: "1h", timeoutMs: 200, failOpen: false }, "outage-closed");
    await waitFor(() => view.connection.isReady(), 5_000, "redis connection");
    assert.equal((await decide(open, context("10.0.0.9"))).status, "allowed");

    await redis.stop();
    logLines.length = 0;
    for (let i = 0; i < 5; i++) {
      const outcome = await decide(open, context("10.0.0.9"));
      assert.equal(outcome.status, "allowed");
      // Nothing known about the limit: no RateLimit headers rather than made-up ones.
      if (outcome.status === "allowed") assert.equal(outcome.headers["ratelimit-limit"], undefined);
    }
    const refused = refusal(await decide(closed, context("10.0.0.9")));
    assert.equal(refused.httpStatus, 503);
    assert.equal(refused.code, 14);
    assert.deepEqual(view.connection.failures(), { open: 5, closed: 1 });
    const warnings = logLines.filter((line) => line.includes("rate limit store unreachable"));
    assert.equal(warnings.length, 2, "one warning per policy, not one per request");

    await redis.restart();
    // Redis restarted empty: the bucket is full again, and it limits once the connection is back.
    await waitFor(
      async () => {
        const outcome = await decide(closed, context("10.0.0.10"));
        return outcome.status === "allowed";
      },
      10_000,
      "the limiter to reach redis again",
    );
    assert.equal((await decide(closed, context("10.0.0.10"))).status, "allowed");
    assert.equal(refusal(await decide(closed, context("10.0.0.10"))).httpStatus, 429);
  });

  test("Redis hung (no answer): each decision ends after timeoutMs, not the connection's timeout", async () => {
    // The connection's own backstop is far longer than the bound below: only the policy's timeout ends it.
    const view = gatewayView({ commandTimeoutMs: 60_000 });
    const policy = view.compile({ limit: 10, window: "1m", timeoutMs: 100 }, "hung");
    await waitFor(() => view.connection.isReady(), 5_000, "redis connection");
    assert.equal((await decide(policy, context("10.0.0.20"))).status, "allowed");
    redis.freeze();
    try {
      for (let i = 0; i < 3; i++) {
        const outcome = await decide(policy, context("10.0.0.20"), 3_000);
        assert.equal(outcome.status, "allowed");
      }
      assert.equal(view.connection.failures().open, 3);
    } finally {
      redis.thaw();
    }
  });
});

describe("--redis option", () => {
  test("a redis:// or rediss:// URL from a flag, the environment or createGateway; anything else is refused", () => {
    const loaded = loadConfig({ argv: ["--redis", "redis://127.0.0.1:6380"], env: {} });
    assert.equal(loaded.ok && loaded.config.redis, "redis://127.0.0.1:6380");
    const fromEnv = loadConfig({ argv: [], env: { REFRACT_REDIS: "rediss://cache:6380/1" } });
    assert.equal(fromEnv.ok && fromEnv.config.redis, "rediss://cache:6380/1");
    assert.equal(validateGatewayOptions({}).redis, undefined);
    for (const bad of ["127.0.0.1:6379", "http://cache:6379", "redis://", ""]) {
      assert.throws(
        () => validateGatewayOptions({ redis: bad }),
        (error: unknown) => error instanceof GatewayConfigError && error.option === "redis",
        bad,
      );
    }
  });
});
