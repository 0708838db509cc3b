import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import autocannon from "autocannon";
import protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { largePayload, smallPayload } from "./payloads.js";

/**
 * `npm run bench`: the gateway's unary hot path against its ceiling (the same backend called directly
 * with grpc-js at the same concurrency) and its floor (a static Fastify reply of the same JSON), in one
 * run, on this machine. Backend, gateway and static server each run in their own process so the
 * gateway's CPU time per request can be read from /proc. Results: a table on stdout and a JSON file in
 * bench/results/.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_S = 2;
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

interface ProcessSample {
  cpuMs: number;
  rssBytes: number;
}

function sample(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat(5))
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

/**
 * Starts a child and resolves with the first stdout line `ready` accepts (mapped), e.g. its URL.
 * Later output is drained so the child never blocks on a full pipe.
 */
async function spawnReady(
  args: string[],
  env: Record<string, string> = {},
  ready: (line: string) => string | undefined = (line) => line,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not start`)), 30_000);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
    lines.on("line", (l) => {
      const value = ready(l);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      }
    });
  });
  return { child, line };
}

/** The gateway logs JSON lines; the one with `publicUrl` says where it listens. */
function listeningUrl(line: string): string | undefined {
  try {
    return (JSON.parse(line) as { publicUrl?: string }).publicUrl;
  } catch {
    return undefined;
  }
}

function load(
  url: string,
  options: { method: "GET" | "POST"; body?: string; durationS: number },
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: options.method,
        connections: CONNECTIONS,
        duration: options.durationS,
        headers: { "content-type": "application/json" },
        ...(options.body === undefined ? {} : { body: options.body }),
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          requestsPerSec: result.requests.average,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          requests: result.requests.total,
          errors: result.errors + result.non2xx,
        });
      },
    );
  });
}

/**
 * The ceiling: CONNECTIONS concurrent loops of unary calls with a plain grpc-js client that encodes and
 * decodes each message with protobufjs, as a Node application would.
 */
async function direct(
  address: string,
  payload: Record<string, unknown>,
  durationS: number,
): Promise<LoadResult> {
  const schema = await protobuf.load(join(here, "bench.proto"));
  const type = schema.lookupType("refract.bench.v1.Payload");
  const message = protojson.fromJson(type, payload);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const start = performance.now();
      await new Promise<void>((resolve) =>
        client.makeUnaryRequest(
          "/refract.bench.v1.BenchService/Echo",
          (m: protobuf.Message) => Buffer.from(type.encode(m).finish()),
          (bytes: Buffer) => type.decode(bytes),
          message,
          (error) => {
            if (error) errors++;
            else latencies.push(performance.now() - start);
            resolve();
          },
        ),
      );
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requestsPerSec: latencies.length / elapsedS,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    requests: latencies.length,
    errors,
  };
}

interface ScenarioResult {
  scenario: string;
  bodyBytes: number;
  gateway: LoadResult & { cpuUsPerRequest: number; rssMiB: number };
  direct?: LoadResult;
  static: LoadResult;
  ratios: { gatewayToDirect?: number; gatewayToStatic: number };
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  const backends = await spawnReady(["--import", "tsx", join(here, "bench-backend.ts")]);
  const addresses = JSON.parse(backends.line) as { bench: string; library: string };
  const gateway = await spawnReady(
    [
      join(root, "dist/src/cli/main.js"),
      "--port=0",
      "--host=127.0.0.1",
      "--admin-port=0",
      "--log-level=info",
      `--backend=bench=${addresses.bench}`,
      `--backend=library=${addresses.library}`,
    ],
    {},
    listeningUrl,
  );
  const gatewayUrl = gateway.line;
  const children = [backends.child, gateway.child];
  const results: ScenarioResult[] = [];
  try {
    const scenarios = [
      {
        scenario: "unary small (default route)",
        method: "POST" as const,
        path: "/refract.bench.v1.BenchService/Echo",
        payload: smallPayload,
      },
      {
        scenario: "unary large (default route)",
        method: "POST" as const,
        path: "/refract.bench.v1.BenchService/Echo",
        payload: largePayload,
      },
    ];
    for (const s of scenarios) {
      const body = JSON.stringify(s.payload);
      const url = `${gatewayUrl}${s.path}`;
      const probe = await fetch(url, {
        method: s.method,
        body,
        headers: { "content-type": "application/json" },
      });
      const answer = await probe.text();
      if (probe.status !== 200) throw new Error(`${s.scenario}: gateway answered ${probe.status}: ${answer}`);
      await load(url, { method: s.method, body, durationS: WARMUP_S });
      const before = sample(gateway.child.pid!);
      const through = await load(url, { method: s.method, body, durationS: DURATION_S });
      const afterSample = sample(gateway.child.pid!);
      const ceiling = await direct(addresses.bench, s.payload, DURATION_S);
      const floorServer = await spawnReady(["--import", "tsx", join(here, "static-server.ts")], {
        REFRACT_BENCH_BODY: answer,
      });
      await load(`${floorServer.line}${s.path}`, { method: s.method, body, durationS: WARMUP_S });
      const floor = await load(`${floorServer.line}${s.path}`, {
        method: s.method,
        body,
        durationS: DURATION_S,
      });
      floorServer.child.kill("SIGTERM");
      results.push({
        scenario: s.scenario,
        bodyBytes: body.length,
        gateway: {
          ...through,
          cpuUsPerRequest: ((afterSample.cpuMs - before.cpuMs) * 1000) / Math.max(1, through.requests),
          rssMiB: afterSample.rssBytes / 1024 / 1024,
        },
        direct: ceiling,
        static: floor,
        ratios: {
          gatewayToDirect: through.requestsPerSec / ceiling.requestsPerSec,
          gatewayToStatic: through.requestsPerSec / floor.requestsPerSec,
        },
      });
    }
  } finally {
    for (const child of children) child.kill("SIGTERM");
  }
  printTable(results);
  mkdirSync(join(here, "results"), { recursive: true });
  const file = join(here, "results", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { date: new Date().toISOString(), connections: CONNECTIONS, durationS: DURATION_S, results },
      null,
      2,
    ),
  );
  process.stdout.write(`\nwrote ${file}\n`);
}

function printTable(results: ScenarioResult[]): void {
  const fmt = (n: number | undefined, digits = 0): string => (n === undefined ? "-" : n.toFixed(digits));
  const rows = [
    [
      "scenario",
      "who",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "CPU µs/req",
      "RSS MiB",
      "vs direct",
      "vs static",
    ],
  ];
  for (const r of results) {
    rows.push([
      r.scenario,
      "gateway",
      fmt(r.gateway.requestsPerSec),
      fmt(r.gateway.p50Ms, 2),
      fmt(r.gateway.p99Ms, 2),
      fmt(r.gateway.errors),
      fmt(r.gateway.cpuUsPerRequest, 1),
      fmt(r.gateway.rssMiB, 1),
      fmt(r.ratios.gatewayToDirect, 2),
      fmt(r.ratios.gatewayToStatic, 2),
    ]);
    if (r.direct)
      rows.push([
        "",
        "direct grpc-js",
        fmt(r.direct.requestsPerSec),
        fmt(r.direct.p50Ms, 2),
        fmt(r.direct.p99Ms, 2),
        fmt(r.direct.errors),
        "",
        "",
        "",
        "",
      ]);
    rows.push([
      "",
      "static fastify",
      fmt(r.static.requestsPerSec),
      fmt(r.static.p50Ms, 2),
      fmt(r.static.p99Ms, 2),
      fmt(r.static.errors),
      "",
      "",
      "",
      "",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")}\n`);
  process.stdout.write(
    `\n${CONNECTIONS} connections, ${DURATION_S} s per measurement, HTTP/1.1 keep-alive (autocannon), same 2-core machine for all processes\n`,
  );
}

await main();
