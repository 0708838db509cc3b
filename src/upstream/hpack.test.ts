import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { encodeHeader, encodeHeaders, HpackDecoder, HpackError } from "./hpack.js";

type Field = readonly [string, string];

const latin1Char = fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code));

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

/** The decoder's flat [name, value, ...] as pairs. */
function pairs(flat: readonly string[]): Field[] {
  const out: Field[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * The dynamic table, newest first, read through the public API: an indexed field per dynamic index
 * (62, 63, ...) until the index is out of range. Indexed fields leave the table as it is.
 */
function dynamicTable(decoder: HpackDecoder): Field[] {
  const entries: Field[] = [];
  for (let index = 62; ; index++) {
    const block: number[] = [];
    // Indexed header field: 1 + 7-bit prefix integer.
    if (index < 127) block.push(0x80 | index);
    else block.push(0xff, index - 127);
    try {
      entries.push(...pairs(decoder.decode(Buffer.from(block))));
    } catch (error) {
      assert.ok(error instanceof HpackError);
      return entries;
    }
  }
}

interface Step {
  block: string;
  fields: Field[];
  /** The RFC's dynamic table after the block, newest first. */
  table: Field[];
}

function decodeSeries(maxTableSize: number, steps: Step[]): void {
  const decoder = new HpackDecoder(maxTableSize);
  for (const [i, step] of steps.entries()) {
    assert.deepEqual(pairs(decoder.decode(hex(step.block))), step.fields, `block ${i + 1}`);
    assert.deepEqual(dynamicTable(decoder), step.table, `dynamic table after block ${i + 1}`);
  }
}

// RFC 7541 Appendix C, the blocks reproduced from the RFC's hex dumps.
const request1: Field[] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const request2: Field[] = [...request1, ["cache-control", "no-cache"]];
const request3: Field[] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];
const requestTables: Field[][] = [
  [[":authority", "www.example.com"]],
  [
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ],
  [
    ["custom-key", "custom-value"],
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ],
];
const date1: Field = ["date", "Mon, 21 Oct 2013 20:13:21 GMT"];
const date2: Field = ["date", "Mon, 21 Oct 2013 20:13:22 GMT"];
const location: Field = ["location", "https://www.example.com"];
const cookie: Field = ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"];
const response1: Field[] = [[":status", "302"], ["cache-control", "private"], date1, location];
const response2: Field[] = [[":status", "307"], ["cache-control", "private"], date1, location];
const response3: Field[] = [
  [":status", "200"],
  ["cache-control", "private"],
  date2,
  location,
  ["content-encoding", "gzip"],
  cookie,
];
const responseTables: Field[][] = [
  [location, date1, ["cache-control", "private"], [":status", "302"]],
  [[":status", "307"], location, date1, ["cache-control", "private"]],
  [cookie, ["content-encoding", "gzip"], date2],
];

describe("HpackDecoder: RFC 7541 Appendix C", () => {
  it("C.2: the four literal and indexed representations", () => {
    const cases: Array<[string, Field, Field[]]> = [
      [
        "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        ["custom-key", "custom-header"],
        [["custom-key", "custom-header"]],
      ],
      ["040c 2f73 616d 706c 652f 7061 7468", [":path", "/sample/path"], []],
      ["1008 7061 7373 776f 7264 0673 6563 7265 74", ["password", "secret"], []],
      ["82", [":method", "GET"], []],
    ];
    for (const [block, field, table] of cases) decodeSeries(4096, [{ block, fields: [field], table }]);
  });

  it("C.3: three requests without Huffman, the dynamic table carried over", () => {
    decodeSeries(4096, [
      {
        block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        fields: request1,
        table: requestTables[0]!,
      },
      { block: "8286 84be 5808 6e6f 2d63 6163 6865", fields: request2, table: requestTables[1]! },
      {
        block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        fields: request3,
        table: requestTables[2]!,
      },
    ]);
  });

  it("C.4: the same requests with Huffman", () => {
    decodeSeries(4096, [
      { block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", fields: request1, table: requestTables[0]! },
      { block: "8286 84be 5886 a8eb 1064 9cbf", fields: request2, table: requestTables[1]! },
      {
        block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        fields: request3,
        table: requestTables[2]!,
      },
    ]);
  });

  it("C.5: three responses without Huffman in a 256-octet table, with evictions", () => {
    decodeSeries(256, [
      {
        block: `4803 3330 3258 0770 7269 7661 7465 611d
                4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                2032 303a 3133 3a32 3120 474d 546e 1768
                7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                6c65 2e63 6f6d`,
        fields: response1,
        table: responseTables[0]!,
      },
      { block: "4803 3330 37c1 c0bf", fields: response2, table: responseTables[1]! },
      {
        block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
                3230 3133 2032 303a 3133 3a32 3220 474d
                54c0 5a04 677a 6970 7738 666f 6f3d 4153
                444a 4b48 514b 425a 584f 5157 454f 5049
                5541 5851 5745 4f49 553b 206d 6178 2d61
                6765 3d33 3630 303b 2076 6572 7369 6f6e
                3d31`,
        fields: response3,
        table: responseTables[2]!,
      },
    ]);
  });

  it("C.6: the same responses with Huffman", () => {
    decodeSeries(256, [
      {
        block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe
                9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
                e9ae 82ae 43d3`,
        fields: response1,
        table: responseTables[0]!,
      },
      { block: "4883 640e ffc1 c0bf", fields: response2, table: responseTables[1]! },
      {
        block: `88c1 6196 d07a be94 1054 d444 a820 0595
                040b 8166 e084 a62d 1bff c05a 839b d9ab
                77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
                3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
        fields: response3,
        table: responseTables[2]!,
      },
    ]);
  });
});

describe("HpackDecoder: table size", () => {
  it("size updates at the block start evict; the limit may be restored up to maxTableSize", () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"));
    // Two updates in one block (§4.2): to 0, which empties the table, then back to 4096.
    assert.deepEqual(decoder.decode(hex("20 3fe11f 82")), [":method", "GET"]);
    assert.deepEqual(dynamicTable(decoder), []);
    decoder.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    assert.deepEqual(dynamicTable(decoder), [["custom-key", "custom-header"]]);
  });

  it("an entry larger than the table empties it and is not added (§4.4)", () => {
    const decoder = new HpackDecoder(64);
    decoder.decode(hex("4001 61 0162")); // a: b, 34 octets
    assert.deepEqual(dynamicTable(decoder), [["a", "b"]]);
    const big = Buffer.concat([hex("4001 63 20"), Buffer.alloc(32, 0x78)]); // c: 32 × x, 65 octets
    assert.deepEqual(pairs(decoder.decode(big)), [["c", "x".repeat(32)]]);
    assert.deepEqual(dynamicTable(decoder), []);
  });

  it("rejects a maxTableSize that is not a size", () => {
    for (const size of [-1, 1.5, Number.NaN, 2 ** 31])
      assert.throws(() => new HpackDecoder(size), RangeError);
    const empty = new HpackDecoder(0); // no entry ever fits
    assert.deepEqual(empty.decode(hex("4001 61 0162")), ["a", "b"]);
    assert.deepEqual(dynamicTable(empty), []);
  });

  it("keeps the newest entries that fit, across ring growth", () => {
    const decoder = new HpackDecoder(40 * 100);
    const expected: Field[] = [];
    for (let i = 0; i < 300; i++) {
      const name = `n${String(i).padStart(3, "0")}`;
      const value = `v${String(i).padStart(3, "0")}`;
      decoder.decode(encodeIncrementally(name, value));
      expected.unshift([name, value]);
    }
    // Every entry is 4 + 4 + 32 = 40 octets: the table holds the newest 100.
    assert.deepEqual(dynamicTable(decoder), expected.slice(0, 100));
  });
});

/** A literal with incremental indexing and a new name, no Huffman (RFC 7541 §6.2.1), short strings. */
function encodeIncrementally(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x40, name.length]),
    Buffer.from(name, "latin1"),
    Buffer.from([value.length]),
    Buffer.from(value, "latin1"),
  ]);
}

describe("HpackDecoder: header list limit (RFC 9113 §6.5.2 sizes)", () => {
  // "a: b" is 1 + 1 + 32 = 34 octets of header list.
  it("accepts a list of exactly maxListSize and refuses one octet more", () => {
    const block = hex("0001 61 0162 0001 61 0162");
    assert.deepEqual(new HpackDecoder(4096, 68).decode(block), ["a", "b", "a", "b"]);
    assert.throws(() => new HpackDecoder(4096, 67).decode(block), /larger than the limit of 67 octets/);
  });

  it("counts fields expanded from the tables, so a small block cannot decode to a large list", () => {
    // One 1,000-octet entry in the dynamic table, then 100 one-octet references to it: a 1 KB block
    // that decodes to 100 KB.
    const entry = Buffer.concat([hex("4001 61 7f e906"), Buffer.alloc(1000, 0x78)]);
    const bomb = Buffer.concat([entry, Buffer.alloc(100, 0xbe)]);
    assert.equal(new HpackDecoder(4096).decode(bomb).length, 202);
    assert.throws(() => new HpackDecoder(4096, 64 << 10).decode(bomb), HpackError);
    // Static table entries count too: ":method: GET" is 7 + 3 + 32 = 42 octets.
    assert.throws(() => new HpackDecoder(4096, 41).decode(hex("82")), HpackError);
  });

  it("rejects a maxListSize that is not a size", () => {
    for (const size of [-1, Number.NaN]) assert.throws(() => new HpackDecoder(4096, size), RangeError);
  });
});

describe("HpackDecoder: malformed blocks throw HpackError", () => {
  const cases: Array<[string, string, RegExp, number?]> = [
    ["indexed field with index 0", "80", /index 0/],
    ["index past the static table, dynamic table empty", "be", /index 62 out of range/],
    ["index past the dynamic table", "4001 61 0162 bf", /index 63 out of range/],
    ["literal name index past the tables", "0f30 0161", /index 63 out of range/],
    ["integer without its continuation octet", "ff", /Truncated integer/],
    ["integer whose continuation is cut", "ff 80", /Truncated integer/],
    ["integer above 2^31 - 1", "ff ffff ffff 0f", /Integer overflow/],
    ["integer with six continuation octets", "ff 8080 8080 8000", /Integer overflow/],
    ["literal without its name string", "40", /Truncated/],
    ["literal without its value", "04", /Truncated/],
    ["string longer than the block", "0005 61", /Truncated string/],
    ["value string longer than the block", "0001 61 0a 6162", /Truncated string/],
    ["Huffman string containing EOS", "0001 61 85 ffff ffff fc", /EOS/],
    ["Huffman padding of 8 bits", "0001 61 81 ff", /padding/],
    ["Huffman padding past a full octet ('a' then 11 one bits)", "0001 61 82 1fff", /padding/],
    ["Huffman padding not all ones", "0001 61 81 00", /padding/],
    ["Huffman string ending inside a long code", "0001 61 82 fffe", /padding/],
    ["size update above the limit", "3fe21f", /4097 above the limit of 4096/],
    ["size update above a small limit", "3fe201", /257 above the limit of 256/, 256],
    ["size update after a field", "82 20", /after a header field/],
  ];
  for (const [title, block, message, maxTableSize] of cases) {
    it(title, () => {
      const decoder = new HpackDecoder(maxTableSize);
      assert.throws(
        () => decoder.decode(hex(block)),
        (error) => error instanceof HpackError && message.test(error.message),
      );
    });
  }

  it("accepts the boundaries of the cases above", () => {
    assert.deepEqual(new HpackDecoder().decode(hex("3fe11f 82")), [":method", "GET"]); // update to 4096
    assert.deepEqual(new HpackDecoder().decode(hex("0001 61 81 1f")), ["a", "a"]); // 3 bits of padding
    assert.deepEqual(new HpackDecoder().decode(hex("0001 61 80")), ["a", ""]); // empty Huffman string
    assert.deepEqual(new HpackDecoder().decode(hex("")), []);
    // A redundant zero continuation octet is legal: index 127 is read (and is out of range here).
    assert.throws(() => new HpackDecoder().decode(hex("ff 00")), /index 127 out of range/);
  });
});

describe("encodeHeaders / encodeHeader", () => {
  it("writes literals without indexing, with the static name index when there is one", () => {
    assert.deepEqual(encodeHeaders([[":path", "/x"]]), hex("04 02 2f78"));
    // content-type is static index 31: 15 in the prefix, 16 in a continuation octet.
    assert.deepEqual(encodeHeaders([["content-type", "a"]]), hex("0f10 01 61"));
    assert.deepEqual(encodeHeaders([["www-authenticate", ""]]), hex("0f2e 00"));
    assert.deepEqual(encodeHeaders([["te", "trailers"]]), hex("00 0274 65 08 7472 6169 6c65 7273"));
    assert.deepEqual(encodeHeaders([["x", "\u00e9\u00ff"]]), hex("00 0178 02 e9ff"));
    // A 200-octet value: 127 in the prefix, 73 in a continuation octet.
    const long = encodeHeaders([[":authority", "a".repeat(200)]]);
    assert.deepEqual(long.subarray(0, 3), hex("01 7f49"));
    assert.equal(long.length, 203);
  });

  it("encodeHeader appends to a cached prefix", () => {
    const out = [...encodeHeaders([[":path", "/x"]])];
    encodeHeader("grpc-timeout", "1S", out);
    assert.deepEqual(
      Buffer.from(out),
      encodeHeaders([
        [":path", "/x"],
        ["grpc-timeout", "1S"],
      ]),
    );
  });

  it("round-trips through the decoder (latin1 values, any length)", () => {
    const staticNames = fc.constantFrom(
      ":authority",
      ":path",
      "content-type",
      "user-agent",
      "www-authenticate",
    );
    const name = fc.oneof(staticNames, fc.stringMatching(/^[a-z0-9-]{1,200}$/));
    const value = fc.string({ unit: latin1Char, maxLength: 300 });
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), (fields) => {
        assert.deepEqual(pairs(new HpackDecoder().decode(encodeHeaders(fields))), fields);
      }),
      { numRuns: 300 },
    );
  });
});

// Against a real encoder: node:http2's server (nghttp2 — Huffman, dynamic table, size updates), read
// by a raw HTTP/2 client that decodes every header block of a connection with one HpackDecoder.

const FrameType = { Headers: 1, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, Continuation: 9 } as const;
const Flag = { EndStream: 0x1, Ack: 0x1, EndHeaders: 0x4, Padded: 0x8, Priority: 0x20 } as const;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** The server's SETTINGS_MAX_FRAME_SIZE (default). */
const MAX_FRAME_SIZE = 16384;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A request without body: HEADERS with END_STREAM, split into CONTINUATION frames when long. */
function requestFrames(streamId: number, block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset === 0 || offset < block.length; offset += MAX_FRAME_SIZE) {
    const last = offset + MAX_FRAME_SIZE >= block.length;
    const type = offset === 0 ? FrameType.Headers : FrameType.Continuation;
    const flags = (offset === 0 ? Flag.EndStream : 0) | (last ? Flag.EndHeaders : 0);
    frames.push(frame(type, flags, streamId, block.subarray(offset, offset + MAX_FRAME_SIZE)));
  }
  return frames;
}

interface ReceivedBlock {
  fields: Field[];
  /** Size of the encoded block, octets. */
  size: number;
}

/**
 * Sends each request block on streams 1, 3, 5, … of one connection, all at once, and decodes every
 * header block the server sends, in wire order, with one HpackDecoder of `headerTableSize` (advertised
 * in SETTINGS) until every stream has ended. Returns the blocks received per request.
 */
function exchange(port: number, requests: Buffer[], headerTableSize = 4096): Promise<ReceivedBlock[][]> {
  return new Promise((resolve, reject) => {
    const decoder = new HpackDecoder(headerTableSize);
    const received: ReceivedBlock[][] = requests.map(() => []);
    let openStreams = requests.length;
    let pending: { streamId: number; endStream: boolean; fragments: Buffer[] } | undefined;
    let input = Buffer.alloc(0);
    const socket = net.connect(port, "127.0.0.1");
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error(`connection closed with ${openStreams} streams open`)));

    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(SETTINGS_HEADER_TABLE_SIZE, 0);
    settings.writeUInt32BE(headerTableSize, 2);
    socket.write(
      Buffer.concat([
        PREFACE,
        frame(FrameType.Settings, 0, 0, headerTableSize === 4096 ? Buffer.alloc(0) : settings),
        ...requests.flatMap((block, i) => requestFrames(2 * i + 1, block)),
      ]),
    );

    const onFrame = (type: number, flags: number, streamId: number, payload: Buffer): void => {
      switch (type) {
        case FrameType.Settings:
          if (!(flags & Flag.Ack)) socket.write(frame(FrameType.Settings, Flag.Ack, 0));
          return;
        case FrameType.Ping:
          if (!(flags & Flag.Ack)) socket.write(frame(FrameType.Ping, Flag.Ack, 0, payload));
          return;
        case FrameType.RstStream:
          throw new Error(`stream ${streamId} reset, error code ${payload.readUInt32BE(0)}`);
        case FrameType.GoAway:
          throw new Error(`GOAWAY ${payload.readUInt32BE(4)}: ${payload.subarray(8).toString()}`);
        case FrameType.Headers: {
          assert.equal(pending, undefined, "HEADERS while a header block is open");
          const padLength = flags & Flag.Padded ? payload[0]! : 0;
          const start = (flags & Flag.Padded ? 1 : 0) + (flags & Flag.Priority ? 5 : 0);
          const fragment = payload.subarray(start, payload.length - padLength);
          pending = { streamId, endStream: (flags & Flag.EndStream) !== 0, fragments: [fragment] };
          break;
        }
        case FrameType.Continuation:
          assert.equal(pending?.streamId, streamId, "CONTINUATION of another stream");
          pending.fragments.push(payload);
          break;
        default:
          return; // WINDOW_UPDATE; no DATA is sent
      }
      if (!(flags & Flag.EndHeaders) || pending === undefined) return;
      const block = Buffer.concat(pending.fragments);
      const { streamId: id, endStream } = pending;
      pending = undefined;
      received[(id - 1) / 2]!.push({ fields: pairs(decoder.decode(block)), size: block.length });
      if (endStream && --openStreams === 0) {
        resolve(received);
        socket.destroy();
      }
    };

    socket.on("data", (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      try {
        while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
          const length = input.readUIntBE(0, 3);
          const payload = input.subarray(9, 9 + length);
          onFrame(input[3]!, input[4]!, input.readUInt32BE(5) & 0x7fffffff, payload);
          input = input.subarray(9 + length);
        }
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/** What the server answers on one path: its headers (after :status 200), then echo-<name> per request field, then trailers. */
interface ResponsePlan {
  headers: Field[];
  echo: string[];
  trailers: Field[];
}

interface StreamCase {
  requestFields: Field[];
  headers: Field[];
  trailers: Field[];
}

describe("HpackDecoder against node:http2's encoder (nghttp2)", () => {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const plans = new Map<string, ResponsePlan>();
  let port = 0;
  let nextPath = 0;

  before(async () => {
    server.on("session", (session) => {
      sessions.add(session);
      session.on("close", () => sessions.delete(session));
    });
    server.on("stream", (stream, requestHeaders) => {
      const path = String(requestHeaders[":path"]);
      const plan = plans.get(path);
      plans.delete(path);
      if (plan === undefined) {
        stream.respond({ ":status": 404 }, { endStream: true });
        return;
      }
      const headers: http2.OutgoingHttpHeaders = { ":status": 200 };
      for (const [name, value] of plan.headers) headers[name] = value;
      for (const name of plan.echo) headers[`echo-${name}`] = requestHeaders[name];
      stream.respond(headers, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers(Object.fromEntries(plan.trailers)));
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Runs the cases on one connection; asserts each stream got exactly its headers, then its trailers. */
  async function run(cases: StreamCase[], headerTableSize?: number): Promise<ReceivedBlock[][]> {
    const requests = cases.map(({ requestFields, headers, trailers }) => {
      const path = `/case/${nextPath++}`;
      plans.set(path, { headers, echo: requestFields.map(([name]) => name), trailers });
      return encodeHeaders([
        [":method", "POST"],
        [":scheme", "http"],
        [":path", path],
        [":authority", `127.0.0.1:${port}`],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ...requestFields,
      ]);
    });
    const received = await exchange(port, requests, headerTableSize);
    for (const [i, { requestFields, headers, trailers }] of cases.entries()) {
      const echoed = requestFields.map(([name, value]): Field => [`echo-${name}`, value]);
      assert.deepEqual(
        received[i]!.map((block) => block.fields),
        [[[":status", "200"], ...headers, ...echoed], trailers],
        `stream ${2 * i + 1}`,
      );
    }
    return received;
  }

  // Field values: any octets but NUL (node:http2 joins a header list into one NUL-separated string, so
  // a NUL in a value corrupts what it sends), mostly sent as plain literals; printable ASCII, which
  // Huffman shortens; repeated gRPC values, which hit the dynamic table. Request values must be valid field values (RFC 9113
  // §8.2.1) or nghttp2 resets the stream: no controls, no leading or trailing whitespace.
  const nonNulChar = fc.integer({ min: 1, max: 255 }).map((code) => String.fromCharCode(code));
  const anyValue = fc.oneof(
    fc.string({ unit: nonNulChar, maxLength: 40 }),
    fc.string({ unit: "grapheme-ascii", maxLength: 60 }),
    fc.constantFrom("0", "OK", "application/grpc", "", "identity,deflate,gzip"),
  );
  const visibleChar = fc.oneof(
    fc.integer({ min: 0x21, max: 0x7e }),
    fc.integer({ min: 0x80, max: 0xff }),
    fc.constantFrom(0x20, 0x09),
  );
  const requestValue = fc
    .string({ unit: visibleChar.map((code) => String.fromCharCode(code)), maxLength: 40 })
    .map((value) => value.replace(/^[ \t]+|[ \t]+$/g, ""));
  const customName = fc.stringMatching(/^[a-z0-9-]{1,16}$/).map((name) => `x-${name}`);
  const responseName = fc.oneof(
    customName,
    fc.constantFrom("cache-control", "content-encoding", "etag", "location", "server", "set-cookie", "vary"),
  );
  const uniqueFields = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>, maxLength: number) =>
    fc.uniqueArray(fc.tuple(name, value), { selector: ([fieldName]) => fieldName, maxLength });
  const streamCase: fc.Arbitrary<StreamCase> = fc.record({
    requestFields: uniqueFields(customName, requestValue, 4),
    // date first: node:http2 adds one when it is missing.
    headers: fc
      .tuple(anyValue, uniqueFields(responseName, anyValue, 8))
      .map(([date, fields]): Field[] => [["date", date], ...fields]),
    trailers: fc
      .tuple(fc.constantFrom("0", "2", "14"), anyValue, uniqueFields(customName, anyValue, 4))
      .map(([status, message, fields]): Field[] => [
        ["grpc-status", status],
        ["grpc-message", message],
        ...fields,
      ]),
  });

  it("decodes random headers and trailers of many streams on one connection", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(streamCase, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(4096, 1024, 256, 0),
        async (cases, headerTableSize) => {
          await run(cases, headerTableSize);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("decodes every Huffman symbol", async () => {
    // Runs of 'a' (5 bits each) make the Huffman form the shorter one, so nghttp2 uses it for every symbol.
    const headers: Field[] = [["date", "Mon, 21 Oct 2013 20:13:21 GMT"]];
    for (let code = 1; code < 256; code++) {
      headers.push([`x-${code}`, `aaaaaaaaaaaaaaaa${String.fromCharCode(code)}aaaaaaaaaaaaaaaa`]);
    }
    const received = await run([{ requestFields: [], headers, trailers: [["grpc-status", "0"]] }]);
    // Literal values would take 255 × 34 octets.
    const { size } = received[0]![0]!;
    assert.ok(size < 255 * 34, `block of ${size} octets: Huffman not used`);
  });

  it("decodes blocks split over CONTINUATION frames (and the server decodes ours)", async () => {
    const long = "abcdefghij".repeat(4000);
    const latin1 = Array.from({ length: 20000 }, (_, i) => String.fromCharCode(1 + ((i * 7) % 255))).join("");
    const received = await run([
      {
        requestFields: [["x-long", long]],
        headers: [
          ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
          ["x-latin1", latin1],
        ],
        trailers: [["grpc-status", "0"]],
      },
    ]);
    assert.ok(received[0]![0]!.size > MAX_FRAME_SIZE);
  });
});
