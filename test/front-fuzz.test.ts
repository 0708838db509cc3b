import assert from "node:assert/strict";
import { METHODS } from "node:http";
import { after, before, describe, test } from "node:test";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { type GatewayHarness, startGatewayHarness } from "./helpers/gateway-harness.js";
import { isStatusBody, RawHttpConnection, type RawResponse } from "./helpers/raw-http.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 13: a bounded, seeded fuzz of the public front over raw TCP — mutated JSON, deep nesting, huge
 * and compressed bodies, bad and duplicated headers, smuggling attempts (CL+TE, double CL, bad chunk
 * sizes), partial (slowloris-ish) requests, extension methods, bad Expect and Host. Every answer must be
 * a google.rpc.Status body (or a successful JSON answer) or a deliberate close, never a 500; afterwards
 * the in-flight gauge is back at 0 and the gateway still serves. `FUZZ_SEED=<n>` replays a run;
 * `FUZZ_CASES=<n>` and `FUZZ_ONLY=<category prefix>` narrow one down.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x13f00d);
const CASES = Number(process.env.FUZZ_CASES ?? 2500);
const PARALLEL = 12;
const MAX_REQUEST_BYTES = 64 * 1024;

const LIB = "/acme.library.v1.LibraryService";

/** mulberry32: a small, fast, seeded generator (deterministic cases for a given seed). */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number): number => Math.floor(next() * max);
  return {
    int,
    chance: (p: number): boolean => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
  };
}
type Random = ReturnType<typeof createRandom>;

/** How the client leaves the connection after writing: wait for the answer, half-close, or vanish. */
type Finish = "answer" | "end" | "vanish";

interface FuzzCase {
  category: string;
  bytes: Buffer;
  finish: Finish;
  /** A HEAD request: its answer has no body. */
  head?: boolean;
  /** Send a second, ordinary request on a kept-alive connection: its answer must be the next one. */
  probe?: boolean;
}

interface Target {
  verb: string;
  path: string;
  body: string;
  contentType: string;
}

const TARGETS: readonly Target[] = [
  { verb: "POST", path: `${LIB}/GetShelf`, body: '{"shelfId":"1"}', contentType: "application/json" },
  {
    verb: "POST",
    path: `${LIB}/CreateShelf`,
    body: '{"shelf":{"theme":"Fuzz","createTime":"2024-01-01T00:00:00Z"}}',
    contentType: "application/json",
  },
  { verb: "POST", path: `${LIB}/ListShelves`, body: "{}", contentType: "application/json" },
  { verb: "POST", path: "/v1/shelves", body: '{"theme":"Rest"}', contentType: "application/json" },
  { verb: "GET", path: "/v1/shelves/1?x=1", body: "", contentType: "application/json" },
  {
    verb: "POST",
    path: "/v1/books:import",
    body: '{"parent":"shelves/1","book":{"title":"A"}}\n{"parent":"shelves/1","book":{"title":"B"}}\n',
    contentType: "application/x-ndjson",
  },
  { verb: "POST", path: "/no/such/route", body: "{}", contentType: "application/json" },
];

const JUNK = [
  '"',
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "\\",
  "\\u12",
  "0",
  "-",
  "1e999",
  "null",
  "\u0000",
  "é",
  " ",
];
const BAD_BYTES = [0xff, 0xc3, 0x80, 0xed, 0xa0, 0x00];

function request(
  target: Pick<Target, "verb" | "path">,
  headers: readonly string[],
  body: Buffer | string = "",
  version = "HTTP/1.1",
): Buffer {
  const head = `${target.verb} ${target.path} ${version}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

function framed(target: Target, body: Buffer | string, extra: readonly string[] = []): Buffer {
  const length = Buffer.isBuffer(body) ? body.length : Buffer.byteLength(body);
  return request(
    target,
    ["Host: gateway", `Content-Type: ${target.contentType}`, `Content-Length: ${length}`, ...extra],
    body,
  );
}

function mutate(random: Random, text: string): Buffer {
  let bytes = Buffer.from(text);
  for (let n = 1 + random.int(4); n > 0; n--) {
    const at = random.int(bytes.length + 1);
    switch (random.int(6)) {
      case 0: // flip a bit
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << random.int(8);
        break;
      case 1: // insert JSON punctuation or escapes
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(random.pick(JUNK)), bytes.subarray(at)]);
        break;
      case 2: // delete a span
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + random.int(8))]);
        break;
      case 3: // invalid UTF-8
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from([random.pick(BAD_BYTES)]),
          bytes.subarray(at),
        ]);
        break;
      case 4: // duplicate a member
        bytes = Buffer.from(text.replace("{", `{"shelfId":"2",`));
        break;
      default: // an odd value
        bytes = Buffer.from(
          text.replace(
            /"[^"]*"(?=\s*[,}])/,
            random.pick(['"9999999999999999999999"', "[]", "{}", "-0", "true"]),
          ),
        );
    }
  }
  return bytes;
}

function deepNesting(random: Random): Buffer {
  const depth = 50 + random.int(20_000);
  const [open, close] = random.pick([
    ["[", "]"],
    ['{"a":', "}"],
  ] as const);
  const nested = open.repeat(depth) + "1" + close.repeat(random.chance(0.8) ? depth : random.int(depth));
  return Buffer.from(random.chance(0.5) ? `{"shelfId":${nested}}` : `{"shelf":{"theme":${nested}}}`);
}

function compressed(random: Random, target: Target): FuzzCase {
  const zipBomb = random.chance(0.4);
  const plain = zipBomb
    ? `{"shelfId":"${"0".repeat(MAX_REQUEST_BYTES * (2 + random.int(30)))}"}`
    : target.body;
  const [encoding, compress] = random.pick([
    ["gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const);
  let body = compress(Buffer.from(plain));
  if (random.chance(0.25)) body = Buffer.from(body.subarray(0, Math.max(1, random.int(body.length)))); // corrupt
  const named = random.chance(0.1) ? random.pick(["zstd", "compress", "gzip, gzip", "x"]) : encoding;
  return {
    category: "compressed",
    bytes: framed(target, body, [`Content-Encoding: ${named}`]),
    finish: "answer",
  };
}

function huge(random: Random, target: Target): FuzzCase {
  const size = MAX_REQUEST_BYTES + 1 + random.int(4 * MAX_REQUEST_BYTES);
  const body = `{"shelfId":"${"1".repeat(size)}"}`;
  if (random.chance(0.5)) return { category: "huge", bytes: framed(target, body), finish: "answer" };
  // Chunked: the size is only known while reading.
  const chunk = 8192;
  let chunks = "";
  for (let at = 0; at < body.length; at += chunk) {
    const part = body.slice(at, at + chunk);
    chunks += `${part.length.toString(16)}\r\n${part}\r\n`;
  }
  const headers = ["Host: gateway", `Content-Type: ${target.contentType}`, "Transfer-Encoding: chunked"];
  return {
    category: "huge-chunked",
    bytes: request(target, headers, `${chunks}0\r\n\r\n`),
    finish: "answer",
  };
}

const BAD_HEADERS = [
  "Content-Type: application/json",
  "Content-Type: text/plain",
  "Content-Type: application/json; charset=latin1",
  "Content-Type: ;;;",
  "Content-Type: application/json, application/xml",
  "Grpc-Timeout: garbage",
  "Grpc-Timeout: 99999999999H",
  "Grpc-Timeout: -1S",
  "Grpc-Timeout: 1n",
  "X-Request-Id: \u00ff\u00fe",
  `X-Request-Id: ${"r".repeat(500)}`,
  "Accept-Encoding: gzip;q=garbage, *;q=0",
  "Accept: text/event-stream",
  "Connection: close",
  "Connection: garbage, keep-alive",
  "Authorization: Bearer \u0001",
  "Origin: null",
  "Upgrade: websocket",
  "Upgrade: h2c",
  "Grpc-Metadata-Bin: !!!notbase64",
  "Te: trailers",
  "Bad Name: x",
  "Nul: a\u0000b",
  "X-Folded: a\r\n folded",
  ": empty-name",
  `X-Long: ${"v".repeat(20_000)}`,
];

function badHeaders(random: Random, target: Target): FuzzCase {
  const body = target.body;
  const headers = ["Host: gateway", `Content-Length: ${Buffer.byteLength(body)}`];
  for (let n = 1 + random.int(5); n > 0; n--) headers.push(random.pick(BAD_HEADERS));
  if (random.chance(0.3)) headers.push("Host: other"); // duplicated Host
  if (random.chance(0.2)) headers.push(`Content-Length: ${Buffer.byteLength(body)}`);
  if (random.chance(0.1)) {
    for (let i = 995 + random.int(10); i > 0; i--) headers.push(`X-F${i}: v`);
  }
  shuffle(random, headers);
  return { category: "bad-headers", bytes: request(target, headers, body), finish: "answer" };
}

function smuggling(random: Random, target: Target): FuzzCase {
  const body = target.body;
  const smuggled = `GET ${LIB}/Smuggled HTTP/1.1\r\nHost: gateway\r\n\r\n`;
  const length = Buffer.byteLength(body);
  const chunked = `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const base = ["Host: gateway", `Content-Type: ${target.contentType}`];
  const variants: Array<() => Buffer> = [
    // CL.TE and TE.CL
    () =>
      request(
        target,
        [...base, `Content-Length: ${length}`, "Transfer-Encoding: chunked"],
        chunked + smuggled,
      ),
    () => request(target, [...base, "Transfer-Encoding: chunked", "Content-Length: 4"], chunked + smuggled),
    // Two Content-Lengths, same or different
    () =>
      request(target, [...base, `Content-Length: ${length}`, `Content-Length: ${length}`], body + smuggled),
    () => request(target, [...base, `Content-Length: ${length}`, "Content-Length: 0"], body + smuggled),
    () => request(target, [...base, `Content-Length: ${length}, 0`], body + smuggled),
    // Obfuscated Transfer-Encoding
    () => request(target, [...base, "Transfer-Encoding: xchunked"], chunked),
    () => request(target, [...base, "Transfer-Encoding: chunked, identity"], chunked),
    () => request(target, [...base, "Transfer-Encoding : chunked"], chunked),
    () => request(target, [...base, "Transfer-Encoding:\tchunked", "Transfer-Encoding: gzip"], chunked),
    // Bad chunk sizes and chunk framing
    () => request(target, [...base, "Transfer-Encoding: chunked"], `zz\r\n${body}\r\n0\r\n\r\n`),
    () => request(target, [...base, "Transfer-Encoding: chunked"], `-1\r\n${body}\r\n0\r\n\r\n`),
    () =>
      request(target, [...base, "Transfer-Encoding: chunked"], `ffffffffffffffffff\r\n${body}\r\n0\r\n\r\n`),
    () =>
      request(
        target,
        [...base, "Transfer-Encoding: chunked"],
        `${length.toString(16)};ext="\r\n${body}\r\n0\r\n\r\n`,
      ),
    () =>
      request(
        target,
        [...base, "Transfer-Encoding: chunked"],
        `${(length + 3).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ),
    () => request(target, [...base, "Transfer-Encoding: chunked"], `${length.toString(16)}\n${body}\n0\n\n`),
    () =>
      request(target, [...base, "Transfer-Encoding: chunked"], `${chunked.slice(0, -2)}X-Trailer: t\r\n\r\n`),
    // Bare LF line endings and a request line with extra spaces
    () => Buffer.from(framed(target, body).toString("latin1").replaceAll("\r\n", "\n"), "latin1"),
    () =>
      request({ verb: target.verb, path: `${target.path} x` }, [...base, `Content-Length: ${length}`], body),
  ];
  return { category: "smuggling", bytes: random.pick(variants)(), finish: "answer", probe: true };
}

function partial(random: Random, target: Target): FuzzCase {
  const whole = framed(target, target.body);
  const cut = random.int(whole.length);
  return {
    category: "partial",
    bytes: whole.subarray(0, cut),
    finish: random.chance(0.6) ? "end" : "vanish",
  };
}

function extensionMethod(random: Random, target: Target): FuzzCase {
  const verb = random.pick(METHODS);
  const path = random.pick([
    target.path,
    "/v1/shelves",
    "/",
    "*",
    "/%zz",
    "/v1/shelves/%2F",
    "http://gateway/v1/shelves",
  ]);
  const body = random.chance(0.5) ? target.body : "";
  const headers = ["Host: gateway"];
  if (body) headers.push(`Content-Type: ${target.contentType}`, `Content-Length: ${Buffer.byteLength(body)}`);
  return {
    category: "extension-method",
    bytes: request({ verb, path }, headers, body),
    // CONNECT turns the connection into a tunnel: Node closes it, which a half-close makes prompt.
    finish: verb === "CONNECT" ? "end" : "answer",
    head: verb === "HEAD",
  };
}

function expectAndHost(random: Random, target: Target): FuzzCase {
  const body = target.body;
  const headers = [`Content-Type: ${target.contentType}`, `Content-Length: ${Buffer.byteLength(body)}`];
  const host = random.pick(["Host: gateway", "", "Host:", "Host: a b", "Host: gateway\r\nHost: other"]);
  if (host) headers.push(host);
  if (random.chance(0.7)) {
    headers.push(
      `Expect: ${random.pick(["garbage", "100-continue", "100-Continue", "", "200-ok", "100-continue, x"])}`,
    );
  }
  const version = random.pick(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/0.9", "HTTP/2.0"]);
  return { category: "expect-host", bytes: request(target, headers, body, version), finish: "answer" };
}

function shuffle<T>(random: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

function generate(random: Random): FuzzCase {
  const target = random.pick(TARGETS);
  switch (random.int(9)) {
    case 0:
    case 1:
      return {
        category: "mutated-json",
        bytes: framed(target, mutate(random, target.body)),
        finish: "answer",
      };
    case 2:
      return { category: "deep-nesting", bytes: framed(target, deepNesting(random)), finish: "answer" };
    case 3:
      return random.chance(0.5) ? huge(random, target) : compressed(random, target);
    case 4:
      return badHeaders(random, target);
    case 5:
      return smuggling(random, target);
    case 6:
      return partial(random, target);
    case 7:
      return extensionMethod(random, target);
    default:
      return expectAndHost(random, target);
  }
}

/** What was wrong with an answer, or undefined when it is one the contract allows. */
function problemWith(response: RawResponse, head: boolean): string | undefined {
  const text = response.body.toString("utf8").slice(0, 300);
  // Other 5xx are the contract's (a 1 ns Grpc-Timeout is a 504), with a Status body like any error.
  if (response.status === 500) return `status 500: ${text}`;
  if (head) return undefined;
  const type = response.headers["content-type"] ?? "";
  if (response.status >= 300) {
    if (!/^application\/json/.test(type)) return `status ${response.status} with content-type "${type}"`;
    if (!isStatusBody(response.body)) return `status ${response.status} without a Status body: ${text}`;
    return undefined;
  }
  if (response.status === 101) return "an upgrade nobody asked for properly";
  if (/^application\/json/.test(type)) {
    try {
      JSON.parse(response.body.toString("utf8"));
    } catch {
      return `status ${response.status} with a body that is not JSON: ${text}`;
    }
  }
  return undefined;
}

async function runCase(port: number, fuzz: FuzzCase): Promise<string | undefined> {
  const connection = await RawHttpConnection.open(port);
  try {
    connection.write(fuzz.bytes);
    if (fuzz.finish === "vanish") return undefined;
    if (fuzz.finish === "end") {
      connection.end();
      for (;;) {
        const response = await connection.response({ head: fuzz.head === true });
        if (response === undefined) return undefined;
        const problem = problemWith(response, fuzz.head === true);
        if (problem) return problem;
      }
    }
    const response = await connection.response({ head: fuzz.head === true });
    if (response === undefined) return undefined; // a deliberate close
    const problem = problemWith(response, fuzz.head === true);
    if (problem) return problem;
    if (/\bclose\b/i.test(response.headers.connection ?? "")) {
      // Nothing may follow an answer that closes the connection (a smuggled request's answer would).
      await connection.closed;
      if (connection.unread.length > 0)
        return `bytes after a closing answer: ${connection.unread.toString().slice(0, 200)}`;
      return undefined;
    }
    if (fuzz.probe && !connection.isClosed) {
      connection.write(`GET /fuzz/probe HTTP/1.1\r\nHost: gateway\r\n\r\n`);
      const next = await connection.response();
      if (next !== undefined && !next.body.toString().includes("/fuzz/probe")) {
        return `the answer after a smuggling attempt is not the probe's: ${next.status} ${next.body.toString().slice(0, 200)}`;
      }
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    connection.destroy();
  }
}

describe("front: seeded fuzz over raw TCP", () => {
  let h: GatewayHarness;
  let port: number;

  before(async () => {
    h = await startGatewayHarness({
      users: false,
      logLevel: "warn",
      gateway: { maxRequestBytes: MAX_REQUEST_BYTES, headersTimeoutMs: 1000, requestTimeoutMs: 3000 },
    });
    port = Number(new URL(h.publicUrl).port);
  });
  after(() => h?.close());

  test(`${CASES} hostile requests: Status bodies or deliberate closes, never a 500; gauge back at 0`, async () => {
    const random = createRandom(SEED);
    const only = process.env.FUZZ_ONLY;
    const cases = Array.from({ length: CASES }, () => generate(random)).filter(
      (fuzz) => only === undefined || fuzz.category.startsWith(only),
    );
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const index = next++;
        const fuzz = cases[index]!;
        const problem = await runCase(port, fuzz);
        if (problem) {
          const sent = JSON.stringify(fuzz.bytes.subarray(0, 300).toString("latin1"));
          failures.push(`#${index} ${fuzz.category}: ${problem}\n    sent: ${sent}`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    assert.deepEqual(failures.slice(0, 10), [], `seed ${SEED}: ${failures.length} bad answers`);

    const inFlight = async (): Promise<number | undefined> => {
      const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
      const value = /^refract_http_requests_in_flight (\d+)$/m.exec(text)?.[1];
      return value === undefined ? undefined : Number(value);
    };
    await waitFor(async () => (await inFlight()) === 0, 10_000, "the in-flight gauge back at 0").catch(
      async (error) =>
        assert.fail(`${(error as Error).message}; it reads ${await inFlight()} (seed ${SEED})`),
    );
    // Still alive and serving.
    const response = await fetch(`${h.publicUrl}${LIB}/GetShelf`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"shelfId":"1"}',
    });
    assert.equal(response.status, 200);
  });
});
