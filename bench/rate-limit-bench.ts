/**
 * rate-limit micro-benchmark: µs per decision of a compiled rate-limit policy (key building, the GCRA step,
 * headers), with the local store and with the Redis store against a real redis-server started here
 * (sequential: one round trip per decision, as one request sees it; and 64 in flight: what one process
 * gets through the shared connection). Keys cycle over 1,000 client IPs; the limit is high enough that
 * every decision is an allow, the common case. Refusals (429) are measured separately for the local store.
 *
 *     node --import tsx bench/rate-limit-bench.ts
 */
import { pathToFileURL } from "node:url";
import pino from "pino";
import type { CompiledPolicy, PolicyContext, PolicyEnvironment } from "../src/policy/policy.js";
import { rateLimitPolicyType } from "../src/policy/rate-limit.js";
import { createRedisConnection } from "../src/policy/redis-connection.js";
import { startRedis } from "../test/helpers/redis-server.js";
import { waitFor } from "../test/helpers/wait.js";

export interface RateLimitBenchResult {
  /** Local store, allowed decisions. */
  readonly localAllowUs: number;
  /** Local store, refused decisions (the 429 error with its headers built). */
  readonly localRefuseUs: number;
  /** Redis store, one decision at a time (wall time per decision: the round trip). */
  readonly redisSequentialUs: number;
  /** Redis store, 64 decisions in flight (wall time ÷ decisions). */
  readonly redisConcurrentUs: number;
}

const silent = pino({ level: "silent" });
const IPS = Array.from({ length: 1_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);

function contexts(): PolicyContext[] {
  return IPS.map((clientIp) => ({
    method: { backend: "bench", selector: "bench.v1.Bench/Unary" },
    headers: {},
    query: "",
    clientIp,
    identity: undefined,
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    log: silent,
  }));
}

function environment(redis: PolicyEnvironment["redis"]): PolicyEnvironment {
  return { consumersByKeyHash: new Map(), consumersByName: new Map(), logger: silent, redis };
}

/** Best of `rounds` rounds of `iterations` synchronous decisions, µs each. */
function timeSync(policy: CompiledPolicy, all: PolicyContext[], iterations: number, rounds = 5): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      try {
        policy.run(all[i % all.length] as PolicyContext);
      } catch {
        // refused: the cost of building the 429 is what the refusal round measures
      }
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1_000 / iterations);
  }
  return best;
}

async function timeAsync(
  policy: CompiledPolicy,
  all: PolicyContext[],
  iterations: number,
  inFlight: number,
): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < iterations) {
      const context = all[next++ % all.length] as PolicyContext;
      await policy.run(context);
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return Number(process.hrtime.bigint() - start) / 1_000 / iterations;
}

export async function benchRateLimit(): Promise<RateLimitBenchResult> {
  const all = contexts();
  const local = rateLimitPolicyType.compile(
    { limit: 1_000_000_000, window: "1s" },
    environment(undefined),
    "bench-local",
  );
  timeSync(local, all, 100_000, 1);
  const localAllowUs = timeSync(local, all, 1_000_000);
  const tight = rateLimitPolicyType.compile({ limit: 1, window: "1h" }, environment(undefined), "bench-429");
  timeSync(tight, all, all.length, 1); // spends every key's one request
  const localRefuseUs = timeSync(tight, all, 200_000);

  const server = await startRedis();
  const connection = createRedisConnection(server.url, silent);
  try {
    const shared = rateLimitPolicyType.compile(
      { limit: 1_000_000_000, window: "1s", store: "redis", failOpen: false, timeoutMs: 1_000 },
      environment(connection),
      "bench-redis",
    );
    await waitFor(() => connection.isReady(), 5_000, "redis connection");
    await timeAsync(shared, all, 2_000, 1);
    const redisSequentialUs = await timeAsync(shared, all, 10_000, 1);
    const redisConcurrentUs = await timeAsync(shared, all, 50_000, 64);
    return { localAllowUs, localRefuseUs, redisSequentialUs, redisConcurrentUs };
  } finally {
    await connection.close();
    await server.close();
  }
}

/** The result as a small table for bench/run.ts. */
export function formatRateLimit(result: RateLimitBenchResult): string {
  return [
    `local store, allowed      ${result.localAllowUs.toFixed(2)} µs/decision`,
    `local store, refused 429  ${result.localRefuseUs.toFixed(2)} µs/decision`,
    `redis store, sequential   ${result.redisSequentialUs.toFixed(1)} µs/decision (one round trip each)`,
    `redis store, 64 in flight ${result.redisConcurrentUs.toFixed(1)} µs/decision`,
    "",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchRateLimit();
  process.stdout.write(formatRateLimit(result));
}
