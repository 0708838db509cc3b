import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { realpathSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import WebSocket from "ws";
import { listeningUrl, sampleProcess, spawnReady } from "./processes.js";

/**
 * Server-streaming throughput: one StreamBooks stream of N messages read through the gateway (NDJSON over
 * HTTP/1.1, and WebSocket frames) next to the same stream read directly with grpc-js — raw bytes, and
 * decoded with protobufjs as a Node application would — in one run, against the same backend process.
 * Backend and gateway run in their own processes; this process is only the client, and the gateway's
 * CPU time per message is read from /proc. Rounds interleave the readers so machine load skews none.
 *
 * `node --import tsx bench/stream-bench.ts` prints a table; `npm run bench` calls `benchServerStream()`.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const LIB = "acme.library.v1.LibraryService";

export interface StreamBenchOptions {
  /** Messages per stream. Default BENCH_STREAM_MESSAGES or 200,000. */
  messages?: number;
  /** StreamBooks `payload_bytes` (title length). Default BENCH_STREAM_PAYLOAD_BYTES or 64. */
  payloadBytes?: number;
  /** Rounds; each reader runs once per round and the median counts. Default 3. */
  rounds?: number;
}

export interface StreamReaderResult {
  msgsPerSec: number;
  /** Payload bytes per second as this reader receives them (JSON text or protobuf bytes). */
  mibPerSec: number;
}

export interface StreamBenchResult {
  messages: number;
  payloadBytes: number;
  rounds: number;
  gatewayMsgsPerSec: number;
  gatewayMiBPerSec: number;
  /** Gateway CPU time per message of the NDJSON stream (user + system), µs. */
  gatewayCpuUsPerMsg: number;
  gatewayWebSocketMsgsPerSec: number;
  /** grpc-js with protobufjs decoding each message. */
  directMsgsPerSec: number;
  /** grpc-js, bytes only: the transport's ceiling. */
  directRawMsgsPerSec: number;
  /** gatewayMsgsPerSec ÷ directMsgsPerSec. */
  gatewayToDirect: number;
  gatewayToDirectRaw: number;
}

function cpuMs(pid: number): number {
  return sampleProcess(pid).cpuMs;
}

async function timed(read: () => Promise<{ count: number; bytes: number }>, expected: number) {
  const started = performance.now();
  const { count, bytes } = await read();
  const seconds = (performance.now() - started) / 1000;
  if (count !== expected) throw new Error(`expected ${expected} messages, got ${count}`);
  return { msgsPerSec: count / seconds, mibPerSec: bytes / seconds / 1024 / 1024 };
}

/** Reads the NDJSON stream, counting lines (a line is a message; JSON escapes newlines in strings). */
function readNdjson(url: string): Promise<{ count: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { "grpc-timeout": "10M" } }, (response) => {
        if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}`));
        let count = 0;
        let bytes = 0;
        let last = 10;
        response.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
          last = chunk[chunk.length - 1] ?? last;
        });
        response.on("end", () => (last === 10 ? resolve({ count, bytes }) : reject(new Error("cut short"))));
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

async function readWebSocket(url: string, request: string): Promise<{ count: number; bytes: number }> {
  const socket = new WebSocket(url, { headers: { "grpc-timeout": "10M" } });
  let count = 0;
  let bytes = 0;
  socket.on("message", (data: Buffer) => {
    count++;
    bytes += data.length;
  });
  await once(socket, "open");
  socket.send(request);
  const [code] = (await once(socket, "close")) as [number];
  if (code !== 1000) throw new Error(`WebSocket closed with ${code}`);
  return { count, bytes };
}

function readDirect(
  client: grpc.Client,
  request: Buffer,
  decode: ((bytes: Buffer) => unknown) | undefined,
): Promise<{ count: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    let count = 0;
    let bytes = 0;
    const call = client.makeServerStreamRequest(
      `/${LIB}/StreamBooks`,
      (b: Buffer) => b,
      (b: Buffer) => {
        bytes += b.length;
        return decode ? decode(b) : b;
      },
      request,
    );
    call.on("data", () => {
      count++;
    });
    call.on("error", reject);
    call.on("end", () => resolve({ count, bytes }));
  });
}

async function loadBookTypes(): Promise<{ request: protobuf.Type; book: protobuf.Type }> {
  const schema = new protobuf.Root();
  schema.resolvePath = (_origin, target) => join(root, "proto", target);
  await schema.load("acme/library/v1/library.proto");
  return {
    request: schema.lookupType("acme.library.v1.StreamBooksRequest"),
    book: schema.lookupType("acme.library.v1.Book"),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const medianOf = (results: StreamReaderResult[], key: keyof StreamReaderResult): number =>
  median(results.map((r) => r[key]));

export async function benchServerStream(options: StreamBenchOptions = {}): Promise<StreamBenchResult> {
  const messages = options.messages ?? Number(process.env.BENCH_STREAM_MESSAGES ?? 200_000);
  const payloadBytes = options.payloadBytes ?? Number(process.env.BENCH_STREAM_PAYLOAD_BYTES ?? 64);
  const rounds = options.rounds ?? 3;
  const children: ChildProcess[] = [];
  try {
    const backends = await spawnReady(["--import", "tsx", join(here, "bench-backend.ts")]);
    children.push(backends.child);
    const { library } = JSON.parse(backends.line) as { library: string };
    const gateway = await spawnReady(
      [
        "--import",
        "tsx",
        join(root, "src/cli/main.ts"),
        "--port=0",
        "--host=127.0.0.1",
        "--admin-port=0",
        "--log-level=info",
        // One process, like the one direct client: msgs/s and CPU per message compare like for like.
        "--workers=1",
        `--backend=library=${library}`,
      ],
      { ready: listeningUrl },
    );
    children.push(gateway.child);
    const types = await loadBookTypes();
    const requestJson = { parent: "shelves/1", count: messages, payload_bytes: payloadBytes };
    // protobufjs names fields in lowerCamelCase.
    const request = Buffer.from(
      types.request
        .encode(types.request.fromObject({ parent: "shelves/1", count: messages, payloadBytes }))
        .finish(),
    );
    const ndjsonUrl = `${gateway.line}/v1/shelves/1/books:stream?count=${messages}&payloadBytes=${payloadBytes}`;
    const wsUrl = `${gateway.line.replace(/^http/, "ws")}/${LIB}/StreamBooks`;
    const client = new grpc.Client(library, grpc.credentials.createInsecure());
    const decode = (bytes: Buffer): unknown => types.book.decode(bytes);

    // Warm-up: connections, JIT, the gateway's catalog.
    const warm = Math.min(messages, 20_000);
    await readNdjson(ndjsonUrl.replace(`count=${messages}`, `count=${warm}`));
    await readDirect(client, request, decode).catch(() => undefined);

    const ndjson: StreamReaderResult[] = [];
    const ws: StreamReaderResult[] = [];
    const direct: StreamReaderResult[] = [];
    const directRaw: StreamReaderResult[] = [];
    let gatewayCpu = 0;
    for (let round = 0; round < rounds; round++) {
      direct.push(await timed(() => readDirect(client, request, decode), messages));
      const cpuBefore = cpuMs(gateway.child.pid!);
      ndjson.push(await timed(() => readNdjson(ndjsonUrl), messages));
      gatewayCpu += cpuMs(gateway.child.pid!) - cpuBefore;
      directRaw.push(await timed(() => readDirect(client, request, undefined), messages));
      ws.push(await timed(() => readWebSocket(wsUrl, JSON.stringify(requestJson)), messages));
    }
    client.close();
    const gatewayMsgsPerSec = medianOf(ndjson, "msgsPerSec");
    const directMsgsPerSec = medianOf(direct, "msgsPerSec");
    const directRawMsgsPerSec = medianOf(directRaw, "msgsPerSec");
    return {
      messages,
      payloadBytes,
      rounds,
      gatewayMsgsPerSec,
      gatewayMiBPerSec: medianOf(ndjson, "mibPerSec"),
      gatewayCpuUsPerMsg: (gatewayCpu * 1000) / (messages * rounds),
      gatewayWebSocketMsgsPerSec: medianOf(ws, "msgsPerSec"),
      directMsgsPerSec,
      directRawMsgsPerSec,
      gatewayToDirect: gatewayMsgsPerSec / directMsgsPerSec,
      gatewayToDirectRaw: gatewayMsgsPerSec / directRawMsgsPerSec,
    };
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, "exit") : undefined)));
  }
}

/** The result as a small table. */
export function formatServerStream(r: StreamBenchResult): string {
  const rows = [
    ["reader", "msgs/s", "vs direct (decoded)", "notes"],
    [
      "gateway NDJSON (HTTP/1.1)",
      r.gatewayMsgsPerSec.toFixed(0),
      r.gatewayToDirect.toFixed(2),
      `${r.gatewayMiBPerSec.toFixed(1)} MiB/s of JSON, gateway CPU ${r.gatewayCpuUsPerMsg.toFixed(2)} µs/msg`,
    ],
    [
      "gateway WebSocket",
      r.gatewayWebSocketMsgsPerSec.toFixed(0),
      (r.gatewayWebSocketMsgsPerSec / r.directMsgsPerSec).toFixed(2),
      "one text frame per message",
    ],
    ["direct grpc-js + protobufjs decode", r.directMsgsPerSec.toFixed(0), "1.00", ""],
    [
      "direct grpc-js, bytes only",
      r.directRawMsgsPerSec.toFixed(0),
      (r.directRawMsgsPerSec / r.directMsgsPerSec).toFixed(2),
      "transport ceiling",
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  const body = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")).join("\n");
  return `${r.messages} messages of StreamBooks (payload_bytes ${r.payloadBytes}), median of ${r.rounds} rounds\n${body}\n`;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatServerStream(await benchServerStream()));
}
