import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CatalogBenchResult } from "./catalog-bench.js";
import { benchCodec } from "./codec-bench.js";
import { benchDiscovery } from "./discovery-bench.js";
import { benchEndToEnd, formatEndToEnd } from "./e2e-bench.js";
import { benchEtcdOutage } from "./etcd-outage-bench.js";
import { benchJwt, formatJwt } from "./jwt-bench.js";
import { benchPolicyChain } from "./policy-chain-bench.js";
import { benchPolicyOverhead } from "./policy-overhead-bench.js";
import { benchRateLimit, formatRateLimit } from "./rate-limit-bench.js";
import { benchRouter } from "./router-bench.js";
import { benchServerStream, formatServerStream } from "./stream-bench.js";

/**
 * `npm run bench`: every benchmark of the project in one run on this machine, printed as tables and
 * written as JSON to bench/results/. Sections: end to end (gateway vs direct grpc-js vs static Fastify,
 * CPU per request, `--workers 2`), server-stream messages/s, codec micro-benchmarks next to JSON.parse/stringify, route matching
 * at 10/1k/10k routes, discovery time through etcd, catalog memory for 1,000 backends × 20 methods.
 * Timings live here, never in pass/fail tests.
 */

const here = dirname(fileURLToPath(import.meta.url));
const out = (text: string): void => {
  process.stdout.write(text);
};

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return `${rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")).join("\n")}\n`;
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

  out("\n== End to end: unary through the gateway, direct grpc-js, static Fastify ==\n");
  const e2e = await benchEndToEnd();
  results.endToEnd = e2e;
  out(formatEndToEnd(e2e));

  out("\n== Server streaming: messages/s through the gateway vs read directly with grpc-js ==\n");
  const stream = await benchServerStream();
  results.serverStream = stream;
  out(formatServerStream(stream));

  out("\n== Codec (ns per message; ratio = codec ÷ plain JSON.parse/JSON.stringify of the same text) ==\n");
  const codec = await benchCodec();
  results.codec = codec;
  out(
    table([
      [
        "payload",
        "JSON bytes",
        "JSON.parse",
        "JSON→bytes",
        "ratio",
        "JSON.stringify",
        "bytes→JSON",
        "ratio",
        "vs protojson in/out",
      ],
      ...codec.payloads.map((p) => [
        p.name,
        String(p.jsonBytes),
        p.jsonParse.nsPerOp.toFixed(0),
        p.jsonToBinary.nsPerOp.toFixed(0),
        p.ratioToJsonParse.toFixed(2),
        p.jsonStringify.nsPerOp.toFixed(0),
        p.binaryToJson.nsPerOp.toFixed(0),
        p.ratioToJsonStringify.toFixed(2),
        `${p.speedupOverProtojsonIn.toFixed(1)}× / ${p.speedupOverProtojsonOut.toFixed(1)}×`,
      ]),
    ]),
  );

  out("\n== Route matching (ns per match; flat means matching does not grow with the table) ==\n");
  const router = await benchRouter();
  results.router = router;
  out(table([["routes", "ns/match"], ...router.map((r) => [String(r.routes), r.nsPerMatch.toFixed(0)])]));

  out("\n== Discovery: registration (or a new schema) in etcd → first successful call ==\n");
  const discovery = await benchDiscovery(20);
  results.discovery = discovery;
  out(
    table([
      ["trials", "registration p50 ms", "p99 ms", "new schema p50 ms", "p99 ms"],
      [
        String(discovery.trials),
        discovery.registrationP50Ms.toFixed(1),
        discovery.registrationP99Ms.toFixed(1),
        discovery.newSchemaP50Ms.toFixed(1),
        discovery.newSchemaP99Ms.toFixed(1),
      ],
    ]),
  );

  out("\n== Rediscovery after an etcd outage: etcd healthy again → a new registration answers 200 ==\n");
  const outage = await benchEtcdOutage(4);
  results.etcdOutage = outage;
  out(
    table([
      ["trials", "outage s", "recovery ms per trial", "max ms"],
      [
        String(outage.trials),
        (outage.outageMs / 1000).toFixed(0),
        outage.recoveryMs.map((ms) => ms.toFixed(0)).join(", "),
        Math.max(...outage.recoveryMs).toFixed(0),
      ],
    ]),
  );

  out(
    "\n== Policy chain: small unary request, no policy vs jwt (cached) + rate-limit + request-transform ==\n",
  );
  const chain = await benchPolicyChain(3);
  results.policyChain = chain;
  const median = (values: number[]): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  out(
    table([
      ["configuration", "CPU µs/req per round", "median", "+ over none", "req/s median"],
      ...(["none", "chain", "chainRedis"] as const).map((name) => [
        { none: "no policy", chain: "chain, local limit", chainRedis: "chain, Redis limit" }[name],
        chain.cpuUsPerRequest[name].map((v) => v.toFixed(0)).join(", "),
        median(chain.cpuUsPerRequest[name]).toFixed(0),
        (median(chain.cpuUsPerRequest[name]) - median(chain.cpuUsPerRequest.none)).toFixed(0),
        median(chain.requestsPerSec[name]).toFixed(0),
      ]),
    ]),
  );
  const overhead = await benchPolicyOverhead();
  results.policyOverhead = overhead;
  out(
    `chain's own work per request, in process (admit + metadata): ${overhead.noChainNs.toFixed(0)} ns without, ` +
      `${overhead.chainNs.toFixed(0)} ns with the chain: +${overhead.addedUs.toFixed(1)} µs (target ≤ 15 µs)\n`,
  );
  out("\n== Policies in isolation: jwt verification, rate-limit decisions ==\n");
  const jwt = await benchJwt();
  results.jwt = jwt;
  out(formatJwt(jwt));
  const rateLimit = await benchRateLimit();
  results.rateLimit = rateLimit;
  out(formatRateLimit(rateLimit));

  out("\n== Catalog: 1,000 backends × 20 methods (own process, --expose-gc) ==\n");
  const catalog = JSON.parse(
    execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", join(here, "catalog-bench.ts")], {
      cwd: join(here, ".."),
      encoding: "utf8",
    }),
  ) as CatalogBenchResult;
  results.catalog = catalog;
  out(
    table([
      ["backends", "methods", "build ms", "rebuild (unchanged) ms", "heap MiB", "KiB per backend"],
      [
        String(catalog.backends),
        String(catalog.methods),
        catalog.buildMs.toFixed(0),
        catalog.rebuildUnchangedMs.toFixed(0),
        catalog.heapMiB.toFixed(1),
        catalog.heapPerBackendKiB.toFixed(1),
      ],
    ]),
  );

  mkdirSync(join(here, "results"), { recursive: true });
  const file = join(here, "results", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  out(`\nwrote ${file}\n`);
}

await main();
