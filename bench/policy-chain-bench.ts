import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { startRedis } from "../test/helpers/redis-server.js";
import { load, sampleTree, startGateway } from "./e2e-bench.js";
import { smallPayload } from "./payloads.js";
import { spawnReady } from "./processes.js";

/**
 * What the policy chain costs per request (issue 15), in one run: the small unary scenario through a
 * gateway with no policy, with `jwt` (a cached token: inline JWKS, ES256) + `rate-limit` (local store,
 * a limit never reached) + `request-transform` (one metadata key from a claim), and with the same chain
 * limiting through Redis. Configurations alternate over `rounds` so that drift on this shared machine
 * falls on all of them alike. Target: the chain with a cached token costs at most 15 µs more than none.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ECHO = "/refract.bench.v1.BenchService/Echo";

export interface PolicyChainResult {
  rounds: number;
  /** CPU µs per request of each configuration, one figure per round. */
  cpuUsPerRequest: Record<"none" | "chain" | "chainRedis", number[]>;
  requestsPerSec: Record<"none" | "chain" | "chainRedis", number[]>;
}

function chainYaml(jwk: object, limitStore: "local" | "redis"): string {
  const document = {
    policies: [
      {
        name: "bench-jwt",
        type: "jwt",
        config: { issuer: "https://bench.example", audiences: ["bench"], jwks: { keys: [jwk] } },
      },
      {
        name: "bench-limit",
        type: "rate-limit",
        config: { limit: 1_000_000_000, window: "1s", key: ["ip"], store: limitStore },
      },
      {
        name: "bench-transform",
        type: "request-transform",
        config: { setMetadata: { "x-user-id": "{claims.sub}" } },
      },
    ],
  };
  return JSON.stringify(document);
}

export async function benchPolicyChain(rounds = 3): Promise<PolicyChainResult> {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  const dir = mkdtempSync(join(tmpdir(), "refract-policy-bench-"));
  const redis = await startRedis();
  const backends = await spawnReady(["--import", "tsx", join(here, "bench-backend.ts")]);
  const addresses = JSON.parse(backends.line) as { bench: string };
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256", use: "sig" };
  const token = await new SignJWT({ scope: "bench" })
    .setProtectedHeader({ alg: "ES256", kid: "bench" })
    .setIssuer("https://bench.example")
    .setAudience("bench")
    .setSubject("user-1")
    .setExpirationTime("2h")
    .sign(privateKey);
  const localConfig = join(dir, "chain-local.json");
  const redisConfig = join(dir, "chain-redis.json");
  writeFileSync(localConfig, chainYaml(jwk, "local"));
  writeFileSync(redisConfig, chainYaml(jwk, "redis"));
  const configurations = {
    none: [] as string[],
    chain: [`--config=${localConfig}`],
    chainRedis: [`--config=${redisConfig}`, `--redis=${redis.url}`],
  };
  const result: PolicyChainResult = {
    rounds,
    cpuUsPerRequest: { none: [], chain: [], chainRedis: [] },
    requestsPerSec: { none: [], chain: [], chainRedis: [] },
  };
  const body = JSON.stringify(smallPayload);
  const headers = { authorization: `Bearer ${token}` };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [name, args] of Object.entries(configurations) as Array<
        [keyof typeof configurations, string[]]
      >) {
        const gateway = await startGateway(addresses, 1, args);
        try {
          const url = `${gateway.line}${ECHO}`;
          const probe = await fetch(url, {
            method: "POST",
            body,
            headers: { ...headers, "content-type": "application/json" },
          });
          const answer = await probe.text();
          if (probe.status !== 200) throw new Error(`${name}: gateway answered ${probe.status}: ${answer}`);
          await load(url, { method: "POST", body, headers, durationS: 2 });
          const before = sampleTree(gateway.child.pid!);
          const through = await load(url, { method: "POST", body, headers, durationS: DURATION_S });
          const after = sampleTree(gateway.child.pid!);
          if (through.errors > 0) throw new Error(`${name}: ${through.errors} errors under load`);
          result.cpuUsPerRequest[name].push(
            ((after.cpuMs - before.cpuMs) * 1000) / Math.max(1, through.requests),
          );
          result.requestsPerSec[name].push(through.requestsPerSec);
        } finally {
          gateway.child.kill("SIGTERM");
          await new Promise((resolve) => gateway.child.once("exit", resolve));
        }
      }
    }
  } finally {
    backends.child.kill("SIGTERM");
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchPolicyChain(Number(process.env.BENCH_ROUNDS ?? 3));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
