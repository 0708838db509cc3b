/**
 * Codec micro-benchmark: the gateway's hot path (request JSON text → protobuf bytes, response bytes →
 * JSON text) on a small (~650 B) and a ~10 KB message, next to JSON.parse / JSON.stringify alone on the
 * same payloads and to protobufjs's ext/protojson (the reference implementation).
 *
 *   node --import tsx bench/codec-bench.ts            (prints a table)
 *   await benchCodec({ timePerCaseMs: 300 })           (returns the figures)
 */
import { pathToFileURL } from "node:url";
import type protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { DEFAULT_JSON_OPTIONS } from "../src/codec/codec.js";
import { createMessageCodec } from "../src/codec/json-codec.js";
import { bookType } from "../src/codec/test-schemas.test-helper.js";

export interface CaseResult {
  /** Nanoseconds per operation (median of the rounds). */
  readonly nsPerOp: number;
}

export interface PayloadResult {
  readonly name: string;
  readonly jsonBytes: number;
  readonly protobufBytes: number;
  readonly jsonParse: CaseResult;
  readonly jsonStringify: CaseResult;
  readonly jsonToBinary: CaseResult;
  readonly binaryToJson: CaseResult;
  readonly protojsonJsonToBinary: CaseResult;
  readonly protojsonBinaryToJson: CaseResult;
  /** jsonToBinary / JSON.parse, binaryToJson / JSON.stringify: the codec's cost over plain JSON. */
  readonly ratioToJsonParse: number;
  readonly ratioToJsonStringify: number;
  /** protojson time / codec time: how much faster the compiled path is than the reference. */
  readonly speedupOverProtojsonIn: number;
  readonly speedupOverProtojsonOut: number;
}

export interface CodecBenchReport {
  readonly node: string;
  readonly payloads: readonly PayloadResult[];
}

export interface CodecBenchOptions {
  /** Measuring time per case and round, in milliseconds. Default 150. */
  readonly timePerCaseMs?: number;
  /** Interleaved rounds per case (the median is reported). Default 7. */
  readonly rounds?: number;
}

/** A deterministic Book: strings, int32/int64, bool, double, an enum, repeated strings, a nested message, a map, bytes. */
function book(i: number): Record<string, unknown> {
  return {
    name: `shelves/${i}/books/the-left-hand-of-darkness`,
    id: String(9007199254740993n + BigInt(i)),
    pages: 304 + i,
    available: i % 2 === 0,
    price: 12.5 + i / 4,
    genre: "GENRE_FICTION",
    tags: ["science-fiction", "classic", "hugo-award", "nebula-award"],
    author: { displayName: "Ursula K. Le Guin", email: "ursula@example.org", birthYear: 1929 },
    labels: { shelf: "b-12", condition: "good", language: "en" },
    cover: Buffer.from(`cover-image-bytes-${i}-0123456789abcdef`).toString("base64"),
    createdAt: "2024-03-01T12:34:56.789Z",
    description:
      "Genly Ai is sent to the planet Gethen to persuade its nations to join the Ekumen; a study of loyalty, gender and trust.",
    isbn: "9780441478125",
    rating: 4.5,
  };
}

function item(i: number): Record<string, unknown> {
  return {
    sku: `SKU-${String(100000 + i)}`,
    quantity: String(3 + i),
    unitPrice: 9.99 + i,
    genre: i % 2 === 0 ? "GENRE_SCIENCE" : "GENRE_HISTORY",
    notes: [
      "gift wrap in blue paper",
      `aisle ${i}, second shelf from the top, left side`,
      "handle with care: first edition with a signed dust jacket",
      "ships in 2 days from the central warehouse",
      "customer asked for a receipt without prices",
    ],
    createdAt: "2024-03-01T12:34:56Z",
  };
}

export function benchPayloads(): { name: string; json: string }[] {
  const small = book(1);
  const large = { ...book(2), items: Array.from({ length: 25 }, (_, i) => item(i)) };
  return [
    { name: "small", json: JSON.stringify(small) },
    { name: "10KB", json: JSON.stringify(large) },
  ];
}

/** Nanoseconds per call of `fn`, timed for about `timeMs`. */
function timeOnce(fn: () => void, timeMs: number): number {
  let ops = 0;
  let batch = 16;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(timeMs * 1e6));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    batch = Math.min(batch * 2, 4096);
    now = process.hrtime.bigint();
  }
  return Number(now - start) / ops;
}

/**
 * Times every case in interleaved rounds (case A, B, C, then A, B, C again…) and keeps each case's
 * median: a burst of load elsewhere on the machine then hits all cases alike, so ratios stay honest.
 */
function measureAll(
  cases: Record<string, () => void>,
  timeMs: number,
  rounds: number,
): Record<string, CaseResult> {
  const samples: Record<string, number[]> = {};
  for (const [name, fn] of Object.entries(cases)) {
    timeOnce(fn, timeMs); // warm-up (and JIT)
    samples[name] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(cases)) samples[name]!.push(timeOnce(fn, timeMs));
  }
  const out: Record<string, CaseResult> = {};
  for (const [name, list] of Object.entries(samples)) {
    list.sort((a, b) => a - b);
    out[name] = { nsPerOp: list[Math.floor(list.length / 2)]! };
  }
  return out;
}

let sink: unknown;

export async function benchCodec(options: CodecBenchOptions = {}): Promise<CodecBenchReport> {
  const timeMs = options.timePerCaseMs ?? 150;
  const rounds = options.rounds ?? 7;
  const type: protobuf.Type = bookType();
  const codec = createMessageCodec(type, DEFAULT_JSON_OPTIONS);
  const payloads: PayloadResult[] = [];
  for (const { name, json } of benchPayloads()) {
    const value = JSON.parse(json);
    const bytes = codec.jsonToBinary(json);
    const m = measureAll(
      {
        jsonParse: () => {
          sink = JSON.parse(json);
        },
        jsonStringify: () => {
          sink = JSON.stringify(value);
        },
        jsonToBinary: () => {
          sink = codec.jsonToBinary(json);
        },
        binaryToJson: () => {
          sink = codec.binaryToJson(bytes);
        },
        protojsonJsonToBinary: () => {
          sink = type.encode(protojson.fromJsonString(type, json)).finish();
        },
        protojsonBinaryToJson: () => {
          sink = JSON.stringify(protojson.toJson(type, type.decode(bytes)));
        },
      },
      timeMs,
      rounds,
    );
    const jsonParse = m.jsonParse!;
    const jsonStringify = m.jsonStringify!;
    const jsonToBinary = m.jsonToBinary!;
    const binaryToJson = m.binaryToJson!;
    const protojsonJsonToBinary = m.protojsonJsonToBinary!;
    const protojsonBinaryToJson = m.protojsonBinaryToJson!;
    payloads.push({
      name,
      jsonBytes: Buffer.byteLength(json),
      protobufBytes: bytes.length,
      jsonParse,
      jsonStringify,
      jsonToBinary,
      binaryToJson,
      protojsonJsonToBinary,
      protojsonBinaryToJson,
      ratioToJsonParse: jsonToBinary.nsPerOp / jsonParse.nsPerOp,
      ratioToJsonStringify: binaryToJson.nsPerOp / jsonStringify.nsPerOp,
      speedupOverProtojsonIn: protojsonJsonToBinary.nsPerOp / jsonToBinary.nsPerOp,
      speedupOverProtojsonOut: protojsonBinaryToJson.nsPerOp / binaryToJson.nsPerOp,
    });
  }
  if (sink === Symbol.for("never")) throw new Error("unreachable");
  return { node: process.version, payloads };
}

function printReport(report: CodecBenchReport): void {
  const us = (c: CaseResult) => `${(c.nsPerOp / 1000).toFixed(2)} µs`;
  const x = (n: number) => `${n.toFixed(2)}×`;
  console.log(`codec benchmark (Node ${report.node}), median of rounds, lower is faster`);
  for (const p of report.payloads) {
    console.log(`\n${p.name}: ${p.jsonBytes} B JSON, ${p.protobufBytes} B protobuf`);
    console.log(
      `  request  JSON text → bytes   codec ${us(p.jsonToBinary)}   JSON.parse alone ${us(p.jsonParse)}   ratio ${x(p.ratioToJsonParse)}   ext/protojson ${us(p.protojsonJsonToBinary)} (codec ${x(p.speedupOverProtojsonIn)} faster)`,
    );
    console.log(
      `  response bytes → JSON text   codec ${us(p.binaryToJson)}   JSON.stringify alone ${us(p.jsonStringify)}   ratio ${x(p.ratioToJsonStringify)}   ext/protojson ${us(p.protojsonBinaryToJson)} (codec ${x(p.speedupOverProtojsonOut)} faster)`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printReport(await benchCodec());
}
