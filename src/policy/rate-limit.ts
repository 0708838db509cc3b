/**
 * The `rate-limit` policy type (phase "limit"): `limit` requests per `window` per key, as a token bucket
 * (GCRA, see rate-limit-gcra.ts for why), counted per process (`store: local`) or in the one Redis every
 * replica shares (`store: redis`, needs `--redis`). Answers carry the IETF draft RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` in
 * seconds until the bucket is full again); a refusal is 429 code 8 with those and `Retry-After`.
 *
 * Redis unreachable or slower than `timeoutMs`: by default the request is let through (fail open), counted
 * (RedisConnection.countFailure) and logged at most once per 10 s per policy; `failOpen: false` answers
 * 503 instead. Nothing waits longer than `timeoutMs`.
 */
import { parseDurationMs } from "../config/duration.js";
import { Code, GatewayConfigError, GatewayError } from "../errors.js";
import type { CompiledPolicy, PolicyContext, PolicyType } from "./policy.js";
import { limited } from "./policy-errors.js";
import { createLocalGcraStore, gcraLimit, type RateLimitDecision } from "./rate-limit-gcra.js";
import { compileKey, KEY_PART_PATTERN } from "./rate-limit-key.js";
import { createRedisGcraStore } from "./rate-limit-redis.js";

/** A rate-limit document's `config` (defaults as in RATE_LIMIT_DEFAULTS). */
export interface RateLimitConfig {
  /** Requests allowed per window (the bucket's size). */
  limit: number;
  /** The window as a duration: `1s`, `500ms`, `1m`, `1h`, `1h30m`. */
  window: string;
  /** What a bucket is per: any of `consumer`, `ip`, `claim:<name>`, `header:<name>`, `method`. Default `["ip"]`. */
  key?: string[];
  /** `local` (per process) or `redis` (shared by every replica; needs `--redis`). Default `local`. */
  store?: "local" | "redis";
  /** Redis unreachable or slow: let requests through (true) or answer 503 (false). Default true. */
  failOpen?: boolean;
  /** Longest wait for Redis per request, ms. Default 100. */
  timeoutMs?: number;
}

export const RATE_LIMIT_DEFAULTS = {
  key: ["ip"],
  store: "local",
  failOpen: true,
  timeoutMs: 100,
} as const;

const DURATION_PATTERN = "^((\\d+(\\.\\d*)?|\\.\\d+)(ms|s|m|h))+$";

const configSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "rate-limit",
  description:
    "limit requests per window per key; a token bucket (GCRA): a fresh key may burst `limit` requests, then gets one every window/limit. 429 over it, with Retry-After and RateLimit-Limit/-Remaining/-Reset (also on allowed answers).",
  type: "object",
  additionalProperties: false,
  required: ["limit", "window"],
  properties: {
    limit: { type: "integer", minimum: 1, maximum: 1_000_000_000, description: "Requests per window." },
    window: {
      type: "string",
      pattern: DURATION_PATTERN,
      description: 'The window: a duration such as "1s", "500ms", "1m", "1h", "1h30m".',
    },
    key: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", pattern: KEY_PART_PATTERN },
      default: [...RATE_LIMIT_DEFAULTS.key],
      description:
        'What a limit is per: any of "consumer", "ip", "claim:<name>", "header:<name>", "method"; a part with no value (anonymous) counts as "-".',
    },
    store: {
      enum: ["local", "redis"],
      default: RATE_LIMIT_DEFAULTS.store,
      description: '"local": per gateway process; "redis": one limit shared through --redis.',
    },
    failOpen: {
      type: "boolean",
      default: RATE_LIMIT_DEFAULTS.failOpen,
      description: "Redis unreachable or slow: let requests through (true) or answer 503 (false).",
    },
    timeoutMs: {
      type: "integer",
      minimum: 1,
      maximum: 10_000,
      default: RATE_LIMIT_DEFAULTS.timeoutMs,
      description: "Longest wait for Redis per request, ms.",
    },
  },
} as const;

const seconds = (us: number): number => Math.ceil(us / 1_000_000);

/** The RateLimit-* headers of a decision (lower-case names, as every header the gateway writes). */
export function rateLimitHeaders(limit: number, decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(decision.remaining),
    "ratelimit-reset": String(seconds(decision.resetUs)),
  };
  // At least 1: "Retry-After: 0" would invite an immediate retry that is refused again.
  if (!decision.allowed) headers["retry-after"] = String(Math.max(1, seconds(decision.retryAfterUs)));
  return headers;
}

/**
 * Adds an allowed decision's headers unless another limit on the same request left fewer requests: a
 * client sees the limit it will hit first.
 */
function addHeaders(context: PolicyContext, limit: number, decision: RateLimitDecision): void {
  const headers = context.responseHeaders;
  const current = headers["ratelimit-remaining"];
  if (current !== undefined && Number(current) <= decision.remaining) return;
  headers["ratelimit-limit"] = String(limit);
  headers["ratelimit-remaining"] = String(decision.remaining);
  headers["ratelimit-reset"] = String(seconds(decision.resetUs));
}

/** Logs of store failures: the first at once, then at most one per interval with the count in between. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

export const rateLimitPolicyType: PolicyType<RateLimitConfig> = {
  type: "rate-limit",
  phase: "limit",
  configSchema,
  compile(config, environment, name): CompiledPolicy {
    const windowMs = parseDurationMs(config.window, "window");
    if (!(windowMs > 0)) throw new GatewayConfigError("window", `"${config.window}" must be longer than 0`);
    const store = config.store ?? RATE_LIMIT_DEFAULTS.store;
    const failOpen = config.failOpen ?? RATE_LIMIT_DEFAULTS.failOpen;
    const timeoutMs = config.timeoutMs ?? RATE_LIMIT_DEFAULTS.timeoutMs;
    const keyOf = compileKey(config.key ?? RATE_LIMIT_DEFAULTS.key);
    const limit = config.limit;
    const gcra = gcraLimit(limit, windowMs);
    // Says which limit was hit, never whose: a key value can be a secret (a header carrying a token).
    const message = `rate limit of ${limit} per ${config.window} exceeded`;
    const base = { name, type: "rate-limit", phase: "limit", priority: 0 } as const;

    const decide = (context: PolicyContext, decision: RateLimitDecision): void => {
      if (decision.allowed) {
        addHeaders(context, limit, decision);
        return;
      }
      throw limited(message, rateLimitHeaders(limit, decision));
    };

    if (store === "local") {
      const local = createLocalGcraStore(gcra);
      return { ...base, run: (context) => decide(context, local.take(keyOf(context))) };
    }

    const redis = environment.redis;
    if (redis === undefined) {
      throw new GatewayConfigError(
        "store",
        'store "redis" needs a Redis: start the gateway with --redis redis://host:port (or use store "local")',
      );
    }
    redis.connect?.();
    const shared = createRedisGcraStore({
      client: redis.client as Parameters<typeof createRedisGcraStore>[0]["client"],
      policyName: name,
      limit: gcra,
      timeoutMs,
    });
    const logger = environment.logger;
    let lastLogAt = Number.NEGATIVE_INFINITY;
    let unlogged = 0;
    const storeFailed = (error: unknown): void => {
      redis.countFailure?.(failOpen ? "open" : "closed");
      const now = Date.now();
      if (now - lastLogAt < FAILURE_LOG_INTERVAL_MS) {
        unlogged++;
        return;
      }
      logger.warn(
        {
          policy: name,
          err: error instanceof Error ? error.message : String(error),
          failuresSinceLastLog: unlogged,
        },
        failOpen
          ? "rate limit store unreachable: requests let through (failOpen)"
          : "rate limit store unreachable: requests refused with 503 (failOpen: false)",
      );
      lastLogAt = now;
      unlogged = 0;
    };
    return {
      ...base,
      async run(context) {
        let decision: RateLimitDecision;
        try {
          decision = await shared.take(keyOf(context));
        } catch (error) {
          storeFailed(error);
          if (failOpen) return;
          throw new GatewayError(Code.UNAVAILABLE, "rate limit store unavailable", {
            headers: { "retry-after": "1" },
            cause: error,
          });
        }
        decide(context, decision);
      },
    };
  },
};
