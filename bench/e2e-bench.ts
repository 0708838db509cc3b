import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import autocannon from "autocannon";
import protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { largePayload, smallPayload } from "./payloads.js";
import { listeningUrl, type ProcessSample, sampleProcess, spawnReady } from "./processes.js";

/**
 * The end-to-end part of `npm run bench`: the gateway's unary hot path against its ceiling (the same
 * backend called directly with grpc-js at the same concurrency) and its floor (a static Fastify reply of
 * the same JSON), in one run, on this machine. Backend, gateway and static server each run in their own
 * process so the gateway's CPU time per request can be read from /proc (with `--workers 2`, summed over
 * the worker processes).
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_S = 2;

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

export function load(
  url: string,
  options: { method: "GET" | "POST"; body?: string; durationS: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: options.method,
        connections: CONNECTIONS,
        duration: options.durationS,
        headers: { "content-type": "application/json", ...options.headers },
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

export interface ScenarioResult {
  scenario: string;
  workers: number;
  requestBytes: number;
  responseBytes: number;
  gateway: LoadResult & { cpuUsPerRequest: number; rssMiB: number };
  direct?: LoadResult;
  static?: LoadResult;
  ratios: { gatewayToDirect?: number; gatewayToStatic?: number };
}

interface Scenario {
  scenario: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
  /** The Echo request the direct client sends for the same work. */
  direct: Record<string, unknown>;
  workers: number;
  compare: boolean;
}

/** CPU and memory of a process and its children (the workers of `--workers N`). */
export function sampleTree(pid: number): ProcessSample {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  return [pid, ...children]
    .map(sampleProcess)
    .reduce((a, b) => ({ cpuMs: a.cpuMs + b.cpuMs, rssBytes: a.rssBytes + b.rssBytes }));
}

export async function startGateway(addresses: { bench: string }, workers: number, extraArgs: string[] = []) {
  return spawnReady(
    [
      join(root, "dist/src/cli/main.js"),
      ...extraArgs,
      "--port=0",
      "--host=127.0.0.1",
      "--admin-port=0",
      "--log-level=info",
      `--workers=${workers}`,
      `--http-rules=${join(here, "http-rules.yaml")}`,
      `--backend=bench=${addresses.bench}`,
    ],
    { ready: listeningUrl },
  );
}

export async function benchEndToEnd(): Promise<ScenarioResult[]> {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  const backends = await spawnReady(["--import", "tsx", join(here, "bench-backend.ts")]);
  const addresses = JSON.parse(backends.line) as { bench: string; library: string };
  const echo = "/refract.bench.v1.BenchService/Echo";
  const scenarios: Scenario[] = [
    {
      scenario: "unary small, default route",
      method: "POST",
      path: echo,
      body: JSON.stringify(smallPayload),
      direct: smallPayload,
      workers: 1,
      compare: true,
    },
    {
      scenario: "unary large, default route",
      method: "POST",
      path: echo,
      body: JSON.stringify(largePayload),
      direct: largePayload,
      workers: 1,
      compare: true,
    },
    {
      scenario: "REST GET /v1/payloads/{id}?name=",
      method: "GET",
      path: "/v1/payloads/1234567890123456789?name=Ada%20Lovelace",
      direct: { id: "1234567890123456789", name: "Ada Lovelace" },
      workers: 1,
      compare: true,
    },
    {
      scenario: "unary small, --workers 2",
      method: "POST",
      path: echo,
      body: JSON.stringify(smallPayload),
      direct: smallPayload,
      workers: 2,
      compare: false,
    },
  ];
  const results: ScenarioResult[] = [];
  try {
    for (const s of scenarios) {
      const gateway = await startGateway(addresses, s.workers);
      try {
        const url = `${gateway.line}${s.path}`;
        const request = { method: s.method, ...(s.body === undefined ? {} : { body: s.body }) };
        const probe = await fetch(url, { ...request, headers: { "content-type": "application/json" } });
        const answer = await probe.text();
        if (probe.status !== 200)
          throw new Error(`${s.scenario}: gateway answered ${probe.status}: ${answer}`);
        await load(url, { ...request, durationS: WARMUP_S });
        const before = sampleTree(gateway.child.pid!);
        const through = await load(url, { ...request, durationS: DURATION_S });
        const after = sampleTree(gateway.child.pid!);
        const result: ScenarioResult = {
          scenario: s.scenario,
          workers: s.workers,
          requestBytes: s.body?.length ?? 0,
          responseBytes: answer.length,
          gateway: {
            ...through,
            cpuUsPerRequest: ((after.cpuMs - before.cpuMs) * 1000) / Math.max(1, through.requests),
            rssMiB: after.rssBytes / 1024 / 1024,
          },
          ratios: {},
        };
        if (s.compare) {
          result.direct = await direct(addresses.bench, s.direct, DURATION_S);
          const floorServer = await spawnReady(["--import", "tsx", join(here, "static-server.ts")], {
            env: { REFRACT_BENCH_BODY: answer },
          });
          const floorUrl = `${floorServer.line}${s.path}`;
          await load(floorUrl, { ...request, durationS: WARMUP_S });
          result.static = await load(floorUrl, { ...request, durationS: DURATION_S });
          floorServer.child.kill("SIGTERM");
          result.ratios = {
            gatewayToDirect: through.requestsPerSec / result.direct.requestsPerSec,
            gatewayToStatic: through.requestsPerSec / result.static.requestsPerSec,
          };
        }
        results.push(result);
      } finally {
        gateway.child.kill("SIGTERM");
        await new Promise((resolve) => gateway.child.once("exit", resolve));
      }
    }
  } finally {
    backends.child.kill("SIGTERM");
  }
  return results;
}

export function formatEndToEnd(results: ScenarioResult[]): string {
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
    // The comparison rows: load figures only (CPU, memory and ratios are the gateway's).
    for (const [who, load] of [
      ["direct grpc-js", r.direct],
      ["static fastify", r.static],
    ] as const) {
      if (load) {
        const figures = [fmt(load.requestsPerSec), fmt(load.p50Ms, 2), fmt(load.p99Ms, 2), fmt(load.errors)];
        rows.push(["", who, ...figures, "", "", "", ""]);
      }
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const table = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")).join("\n");
  return `${table}\n${CONNECTIONS} connections, ${DURATION_S} s per measurement after ${WARMUP_S} s warm-up, HTTP/1.1 keep-alive (autocannon); backend, gateway, static server and load generator share this machine's cores\n`;
}
