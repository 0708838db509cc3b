/**
 * jwt micro-benchmark: µs per `run()` of a compiled jwt policy (inline JWKS: no network), for
 *  - a cached token (what every request after the first pays: Bearer parsing, SHA-256 of the token, one
 *    LRU lookup; no signature check), and
 *  - a token's first verification, RS256 (2048-bit) and ES256: distinct tokens, each seen once, so each run
 *    is a full jose jwtVerify (header and payload parsing, the signature, the claims) plus the cache write.
 * Wall time and process CPU (all threads: WebCrypto verifies on libuv's pool) per run, best of rounds.
 *
 *     node --import tsx bench/jwt-bench.ts
 */
import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import pino from "pino";
import { jwtPolicyType } from "../src/policy/jwt.js";
import type { CompiledPolicy, PolicyContext } from "../src/policy/policy.js";

export interface JwtBenchResult {
  /** A cached token: µs per run (synchronous). */
  readonly cachedUs: number;
  /** First verification of a token, µs per run, wall and CPU. */
  readonly firstVerification: Record<"RS256" | "ES256", { readonly wallUs: number; readonly cpuUs: number }>;
}

const silent = pino({ level: "silent" });
const ISSUER = "https://bench.example";

function context(token: string): PolicyContext {
  return {
    method: { backend: "bench", selector: "bench.v1.Bench/Unary" },
    headers: { authorization: `Bearer ${token}` },
    query: "",
    clientIp: "10.0.0.1",
    identity: undefined,
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    log: silent,
  };
}

/** A policy with one key of `alg`, and `count` distinct tokens signed by it (realistic claims). */
async function fixture(alg: "RS256" | "ES256", count: number) {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid: `bench-${alg}`, alg, use: "sig" };
  const policy = jwtPolicyType.compile(
    { issuer: ISSUER, audiences: ["bench"], jwks: { keys: [jwk] }, cacheSize: count * 2 },
    { consumersByKeyHash: new Map(), consumersByName: new Map(), logger: silent, redis: undefined },
    `bench-${alg}`,
  );
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      new SignJWT({ sub: `user-${i}`, scope: "books:read books:write", email: `user-${i}@example.com` })
        .setProtectedHeader({ alg, kid: jwk.kid, typ: "JWT" })
        .setIssuer(ISSUER)
        .setAudience("bench")
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    ),
  );
  return { policy, contexts: tokens.map(context) };
}

/** Every context run once, in sequence: µs of wall and of process CPU per run. */
async function timeFirstRuns(policy: CompiledPolicy, contexts: PolicyContext[]) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (const ctx of contexts) await policy.run(ctx);
  const wallUs = Number(process.hrtime.bigint() - start) / 1_000 / contexts.length;
  const used = process.cpuUsage(cpu);
  for (const ctx of contexts) if (ctx.identity === undefined) throw new Error("a bench token was refused");
  return { wallUs, cpuUs: (used.user + used.system) / contexts.length };
}

async function firstVerification(alg: "RS256" | "ES256", rounds = 3, count = 500) {
  let best = { wallUs: Number.POSITIVE_INFINITY, cpuUs: Number.POSITIVE_INFINITY };
  for (let round = 0; round <= rounds; round++) {
    const { policy, contexts } = await fixture(alg, count);
    const result = await timeFirstRuns(policy, contexts);
    if (round > 0 && result.wallUs < best.wallUs) best = result; // round 0 warms up the JIT
  }
  return best;
}

function cached(policy: CompiledPolicy, ctx: PolicyContext, iterations: number, rounds = 5): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      if (policy.run(ctx) !== undefined) throw new Error("a cached token must answer synchronously");
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1_000 / iterations);
  }
  return best;
}

export async function benchJwt(): Promise<JwtBenchResult> {
  const { policy, contexts } = await fixture("ES256", 1);
  const ctx = contexts[0]!;
  await policy.run(ctx); // the first verification fills the cache
  cached(policy, ctx, 50_000, 1);
  const cachedUs = cached(policy, ctx, 500_000);
  return {
    cachedUs,
    firstVerification: { RS256: await firstVerification("RS256"), ES256: await firstVerification("ES256") },
  };
}

/** The result as a few lines for bench/run.ts. */
export function formatJwt(result: JwtBenchResult): string {
  const first = (alg: "RS256" | "ES256") =>
    `first verification, ${alg}  ${result.firstVerification[alg].wallUs.toFixed(1)} µs wall, ${result.firstVerification[alg].cpuUs.toFixed(1)} µs CPU`;
  return [
    `cached token              ${result.cachedUs.toFixed(2)} µs/request (hash + lookup, no signature check)`,
    first("RS256"),
    first("ES256"),
    "",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(formatJwt(await benchJwt()));
}
