import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import pino from "pino";
import { metadataFromHeaders } from "../src/gateway/metadata.js";
import { clientAddress } from "../src/policy/client-ip.js";
import { compilePolicies, resolveChain } from "../src/policy/compile.js";
import type { PolicyContext } from "../src/policy/policy.js";
import { NOOP_POLICY_OBSERVER, runChain } from "../src/policy/run-chain.js";

/**
 * The policy chain's own work per request (issue 15), in process, without the HTTP server and the backend
 * call around it (whose noise on this shared machine is larger than the chain): what `Gateway.admitNow`
 * and the metadata step do for a small request, with no chain and with jwt (a cached token) + rate-limit
 * (local) + request-transform. The end-to-end figures are in policy-chain-bench.ts.
 */

export interface PolicyOverheadResult {
  noChainNs: number;
  chainNs: number;
  addedUs: number;
}

export async function benchPolicyOverhead(iterations = 200_000): Promise<PolicyOverheadResult> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" };
  const token = await new SignJWT({ scope: "read" })
    .setProtectedHeader({ alg: "ES256", kid: "k" })
    .setIssuer("https://issuer.bench")
    .setAudience("bench")
    .setSubject("user-1")
    .setExpirationTime("2h")
    .sign(privateKey);
  const logger = pino({ level: "silent" });
  const compiled = compilePolicies(
    {
      revision: 1,
      consumers: [],
      policies: [
        {
          name: "j",
          type: "jwt",
          config: { issuer: "https://issuer.bench", audiences: ["bench"], jwks: { keys: [jwk] } },
        },
        { name: "r", type: "rate-limit", config: { limit: 1_000_000_000, window: "1s", key: ["ip"] } },
        { name: "t", type: "request-transform", config: { setMetadata: { "x-user-id": "{subject}" } } },
      ],
    },
    { logger, redis: undefined },
  );
  const method = { backend: "bench", selector: "refract.bench.v1.BenchService/Echo", routes: [] };
  const chain = resolveChain(compiled, method);
  const headers = {
    host: "127.0.0.1:8080",
    "content-type": "application/json",
    "content-length": "650",
    authorization: `Bearer ${token}`,
    "user-agent": "bench",
  };
  const base = {
    requestId: "r-1",
    remoteAddress: "127.0.0.1",
    forwardHeaders: new Set<string>(),
    onDropped() {},
  };

  const withChain = (): unknown => {
    const context: PolicyContext = {
      method,
      headers,
      query: "",
      clientIp: clientAddress("127.0.0.1", undefined, undefined),
      identity: undefined,
      setMetadata: new Map(),
      removeMetadata: new Set(),
      removeHeaders: new Set(),
      responseHeaders: {},
      removeQueryParameters: new Set(),
      log: logger,
    };
    const running = runChain(chain, context, NOOP_POLICY_OBSERVER);
    if (running !== undefined) throw new Error("the chain should answer synchronously with a cached token");
    return metadataFromHeaders(headers, {
      ...base,
      policy: {
        removeHeaders: context.removeHeaders,
        removeMetadata: context.removeMetadata,
        setsMetadata: chain.setsMetadata,
        setMetadata: context.setMetadata,
      },
    });
  };
  const withoutChain = (): unknown => metadataFromHeaders(headers, base);

  // The first verification fills the token cache (its cost is in jwt-bench.ts).
  const warm = {
    method,
    headers,
    query: "",
    clientIp: "127.0.0.1",
    identity: undefined,
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    removeQueryParameters: new Set(),
    log: logger,
  } as PolicyContext;
  await runChain(chain, warm, NOOP_POLICY_OBSERVER);

  const time = (fn: () => unknown): number => {
    for (let i = 0; i < 20_000; i++) fn();
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    return Number(process.hrtime.bigint() - started) / iterations;
  };
  // Alternate to spread drift over both.
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < 5; round++) {
    a.push(time(withoutChain));
    b.push(time(withChain));
  }
  await compiled.close();
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[2]!;
  const noChainNs = median(a);
  const chainNs = median(b);
  return { noChainNs, chainNs, addedUs: (chainNs - noChainNs) / 1000 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(`${JSON.stringify(await benchPolicyOverhead(), null, 2)}\n`);
}
