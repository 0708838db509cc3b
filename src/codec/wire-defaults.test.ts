import assert from "node:assert/strict";
import { describe, it } from "node:test";
import protobuf from "protobufjs";
import { Kind, messagePlan } from "./plan.js";
import { assertSameMessage, codecWith, oracleView, outputOptionMatrix } from "./test-oracle.test-helper.js";
import { bookType, testAllTypesProto3 } from "./test-schemas.test-helper.js";

/**
 * "Same JSON from every backend": Node servers write default values that Go and C++ omit, Go writes map
 * entries in random order, other writers order fields differently. The JSON must be identical in every
 * case, for every option combination. Bytes here are made by hand with protobufjs's Writer.
 */

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function wireTypeOf(field: protobuf.Field): number {
  switch (field.type) {
    case "double":
    case "fixed64":
    case "sfixed64":
      return I64;
    case "float":
    case "fixed32":
    case "sfixed32":
      return I32;
    case "string":
    case "bytes":
      return LEN;
    default:
      return VARINT;
  }
}

/** Writes the default value of every implicit-presence field, and an empty packed run for every packed field. */
function explicitDefaults(type: protobuf.Type): Uint8Array {
  const w = protobuf.Writer.create();
  const plan = messagePlan(type);
  for (const field of plan.fields) {
    const source = type.fieldsArray.find((f) => f.id === field.number)!;
    if (field.map || field.kind === Kind.MESSAGE) continue;
    if (field.repeated) {
      if (field.packed) w.uint32((field.number << 3) | LEN).uint32(0);
      continue;
    }
    if (field.presence) continue;
    const wt = field.kind === Kind.ENUM ? VARINT : wireTypeOf(source);
    w.uint32((field.number << 3) | wt);
    if (wt === VARINT) w.uint32(0);
    else if (wt === I64) w.fixed64(0);
    else if (wt === I32) w.fixed32(0);
    else w.uint32(0);
  }
  return w.finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

describe("the JSON does not depend on how the backend wrote the bytes", () => {
  for (const [name, type] of [
    ["TestAllTypesProto3", testAllTypesProto3()],
    ["acme.library.v1.Book", bookType()],
  ] as const) {
    it(`${name}: explicit defaults on the wire render exactly like omitted ones`, () => {
      const defaults = explicitDefaults(type);
      assert.ok(defaults.length > 10);
      for (const options of outputOptionMatrix()) {
        const codec = codecWith(type, options);
        assert.equal(
          codec.binaryToJson(defaults),
          codec.binaryToJson(new Uint8Array(0)),
          JSON.stringify(options),
        );
      }
      assert.equal(codecWith(type, { emitUnpopulated: false }).binaryToJson(defaults), "{}");
    });
  }

  it("field order and map entry order on the wire do not change the JSON", () => {
    const type = bookType();
    const codec = codecWith(type);
    const canonical = codec.jsonToBinary(
      JSON.stringify({
        name: "n",
        id: "-7",
        labels: { b: "2", a: "1", c: "3" },
        editions: { "10": "x", "-3": "y", "9007199254740993": "z", "2": "w" },
        flags: { true: 1, false: 2 },
        tags: ["x", "y"],
        author: { displayName: "d" },
      }),
    );
    // Split into fields; write them highest number first, and each map's entries in reverse order
    // (repeated elements keep theirs: that order is data).
    const groups = new Map<number, Uint8Array[]>();
    const r = protobuf.Reader.create(canonical);
    while (r.pos < r.len) {
      const start = r.pos;
      const tag = r.uint32();
      r.skipType(tag & 7);
      const list = groups.get(tag >>> 3) ?? [];
      list.push(canonical.subarray(start, r.pos));
      groups.set(tag >>> 3, list);
    }
    const maps = new Set([9, 17, 18]);
    const reordered = [...groups.entries()]
      .sort(([a], [b]) => b - a)
      .flatMap(([no, parts]) => (maps.has(no) ? [...parts].reverse() : parts));
    const reversed = concat(...reordered);
    assert.notDeepStrictEqual(reversed, canonical);
    for (const options of outputOptionMatrix()) {
      const c = codecWith(type, options);
      assert.equal(c.binaryToJson(reversed), c.binaryToJson(canonical));
    }
    assert.deepStrictEqual(Object.keys(JSON.parse(codec.binaryToJson(reversed)).labels), ["a", "b", "c"]);
  });

  it("a scalar set to its default stays out of emitUnpopulated=false output, in proto3 `optional` it stays in", () => {
    const type = bookType();
    const w = protobuf.Writer.create();
    w.uint32((3 << 3) | VARINT).uint32(0); // pages = 0 (implicit presence)
    w.uint32((13 << 3) | LEN).string(""); // subtitle = "" (proto3 optional: presence is data)
    w.uint32((16 << 3) | VARINT).uint32(0); // print_run = 0 (oneof member)
    const json = JSON.parse(codecWith(type, { emitUnpopulated: false }).binaryToJson(w.finish()));
    assert.deepStrictEqual(json, { subtitle: "", printRun: 0 });
  });
});

describe("binary merge rules", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type, { emitUnpopulated: false });
  const view = (w: protobuf.Writer) => JSON.parse(codec.binaryToJson(w.finish()));

  it("last value wins for singular scalars; messages seen twice merge", () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | VARINT).int32(1);
    w.uint32((1 << 3) | VARINT).int32(2);
    w.uint32((18 << 3) | LEN)
      .fork()
      .uint32((1 << 3) | VARINT)
      .int32(5)
      .ldelim();
    w.uint32((18 << 3) | LEN)
      .fork()
      .uint32((2 << 3) | LEN)
      .fork()
      .uint32((1 << 3) | VARINT)
      .int32(9)
      .ldelim()
      .ldelim();
    assert.deepStrictEqual(view(w), {
      optionalInt32: 2,
      optionalNestedMessage: { a: 5, corecursive: { optionalInt32: 9 } },
    });
  });

  it("a oneof keeps its last member", () => {
    const w = protobuf.Writer.create();
    w.uint32((111 << 3) | VARINT).uint32(5);
    w.uint32((113 << 3) | LEN).string("s");
    assert.deepStrictEqual(view(w), { oneofString: "s" });
  });

  it("packed and unpacked runs of one repeated field are both read, in order", () => {
    const w = protobuf.Writer.create();
    w.uint32((31 << 3) | LEN)
      .fork()
      .int32(1)
      .int32(-2)
      .ldelim(); // repeated_int32, packed
    w.uint32((31 << 3) | VARINT).int32(3); // then unpacked
    w.uint32((89 << 3) | VARINT).int32(4); // unpacked_int32 sent packed is read too
    w.uint32((89 << 3) | LEN)
      .fork()
      .int32(5)
      .ldelim();
    assert.deepStrictEqual(view(w), { repeatedInt32: [1, -2, 3], unpackedInt32: [4, 5] });
  });

  it("map entries: the last duplicate key wins, a missing key or value is its default", () => {
    const w = protobuf.Writer.create();
    const entry = (k: string | undefined, v: string | undefined) => {
      w.uint32((69 << 3) | LEN).fork(); // map_string_string
      if (k !== undefined) w.uint32((1 << 3) | LEN).string(k);
      if (v !== undefined) w.uint32((2 << 3) | LEN).string(v);
      w.ldelim();
    };
    entry("a", "1");
    entry("a", "2");
    entry(undefined, "no key");
    entry("no value", undefined);
    assert.deepStrictEqual(view(w), { mapStringString: { a: "2", "": "no key", "no value": "" } });
  });

  it("unknown fields of every wire type are skipped", () => {
    const w = protobuf.Writer.create();
    w.uint32((900 << 3) | VARINT).uint64(123456789012);
    w.uint32((901 << 3) | I64).fixed64(1);
    w.uint32((902 << 3) | LEN).string("ignored");
    w.uint32((903 << 3) | 3)
      .uint32((1 << 3) | VARINT)
      .uint32(1)
      .uint32((903 << 3) | 4); // a group
    w.uint32((904 << 3) | I32).fixed32(1);
    w.uint32((1 << 3) | VARINT).int32(7);
    assert.deepStrictEqual(view(w), { optionalInt32: 7 });
  });

  it("reads varints the way protobuf does (10-byte negatives, bools beyond 32 bits, int32 truncation)", () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | VARINT).int64(-5); // optional_int32 = -5 written as 64-bit
    w.uint32((13 << 3) | VARINT).uint64(2 ** 33); // optional_bool: any non-zero varint is true
    w.uint32((3 << 3) | VARINT).uint64(2 ** 33 + 1); // optional_uint32 keeps the low 32 bits
    assert.deepStrictEqual(view(w), { optionalInt32: -5, optionalBool: true, optionalUint32: 1 });
  });
});

describe("64-bit map keys, bool keys and unknown enum numbers round-trip exactly", () => {
  const type = testAllTypesProto3();
  const json = {
    mapInt64Int64: {
      "-9223372036854775808": "9223372036854775807",
      "9223372036854775807": "-1",
      "-1": "0",
      "9007199254740993": "1",
    },
    mapUint64Uint64: { "18446744073709551615": "18446744073709551615", "9007199254740993": "0" },
    mapSint64Sint64: { "-9223372036854775808": "-9223372036854775808" },
    mapFixed64Fixed64: { "18446744073709551614": "1" },
    mapSfixed64Sfixed64: { "-9223372036854775807": "2" },
    mapBoolBool: { true: false, false: true },
    optionalNestedEnum: 77,
    repeatedNestedEnum: ["BAR", -5, 99],
    mapStringNestedEnum: { k: 55 },
  };
  for (const options of outputOptionMatrix()) {
    it(JSON.stringify(options), () => {
      const codec = codecWith(type, options);
      const bytes = codec.jsonToBinary(JSON.stringify(json));
      const out = codec.binaryToJson(bytes);
      assertSameMessage(type, codec.jsonToBinary(out), bytes);
      const value = JSON.parse(out);
      const keys = options.useProtoNames ? "map_int64_int64" : "mapInt64Int64";
      assert.deepStrictEqual(value[keys], json.mapInt64Int64);
      assert.deepStrictEqual(
        value[options.useProtoNames ? "map_uint64_uint64" : "mapUint64Uint64"],
        json.mapUint64Uint64,
      );
      assert.deepStrictEqual(
        value[options.useProtoNames ? "optional_nested_enum" : "optionalNestedEnum"],
        77,
      );
      assert.deepStrictEqual(
        value[options.useProtoNames ? "repeated_nested_enum" : "repeatedNestedEnum"],
        options.enumsAsInts ? [1, -5, 99] : ["BAR", -5, 99],
      );
      assert.deepStrictEqual(oracleView(type, bytes), oracleView(type, codec.jsonToBinary(out)));
    });
  }
});

describe("responses that cannot become JSON", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type);
  const code = (bytes: Uint8Array) => {
    try {
      codec.binaryToJson(bytes);
    } catch (error) {
      return [(error as { code: number }).code, (error as Error).message] as const;
    }
    return [0, ""] as const;
  };
  const w = () => protobuf.Writer.create();

  it("malformed bytes are DATA_LOSS, with the field path", () => {
    assert.equal(code(Uint8Array.of(0x08))[0], 15); // truncated varint
    assert.equal(code(Uint8Array.of(0x72, 0x05, 0x61))[0], 15); // length past the end
    assert.equal(code(Uint8Array.of(0x0e))[0], 15); // wire type 6
    assert.equal(code(Uint8Array.of(0x00, 0x00))[0], 15); // field number 0
    assert.equal(code(Uint8Array.of(0x1b, 0x08, 0x01))[0], 15); // unclosed group
    assert.equal(code(Uint8Array.of(0x08, ...Array(11).fill(0xff), 0x01))[0], 15); // varint too long
    const [status, message] = code(
      w()
        .uint32((18 << 3) | LEN)
        .fork()
        .uint32((2 << 3) | LEN)
        .fork()
        .uint32((14 << 3) | LEN)
        .bytes(Uint8Array.of(0xff, 0xfe))
        .ldelim()
        .ldelim()
        .finish(),
    );
    assert.equal(status, 15);
    assert.match(
      message,
      /optionalNestedMessage\.corecursive\.optionalString: string field holds invalid UTF-8$/,
    );
  });

  it("valid bytes with no JSON form are INTERNAL", () => {
    const timestamp = w()
      .uint32((302 << 3) | LEN)
      .fork()
      .uint32((1 << 3) | VARINT)
      .int64(253402300800)
      .ldelim()
      .finish();
    assert.deepStrictEqual(code(timestamp)[0], 13);
    assert.match(
      code(timestamp)[1],
      /^cannot render .* as JSON: optionalTimestamp: Timestamp .* out of range$/,
    );
    const duration = w()
      .uint32((301 << 3) | LEN)
      .fork()
      .uint32((1 << 3) | VARINT)
      .int64(1)
      .uint32((2 << 3) | VARINT)
      .int32(-1)
      .ldelim()
      .finish();
    assert.equal(code(duration)[0], 13);
    const nan = w()
      .uint32((306 << 3) | LEN)
      .fork()
      .uint32((2 << 3) | I64)
      .double(Number.NaN)
      .ldelim()
      .finish();
    assert.equal(code(nan)[0], 13);
    for (const path of ["fooBar", "foo_3_bar", "foo__bar"]) {
      const mask = w()
        .uint32((303 << 3) | LEN)
        .fork()
        .uint32((1 << 3) | LEN)
        .string(path)
        .ldelim()
        .finish();
      assert.equal(code(mask)[0], 13, path);
    }
  });

  it("an Any of a type the schema does not know renders as @type + base64 value", () => {
    const any = w()
      .uint32((305 << 3) | LEN)
      .fork()
      .uint32((1 << 3) | LEN)
      .string("type.googleapis.com/x.Unknown")
      .uint32((2 << 3) | LEN)
      .bytes(Uint8Array.of(8, 1))
      .ldelim()
      .finish();
    assert.deepStrictEqual(JSON.parse(codecWith(type, { emitUnpopulated: false }).binaryToJson(any)), {
      optionalAny: { "@type": "type.googleapis.com/x.Unknown", value: "CAE=" },
    });
  });

  it("float32 prints its shortest form; -0 is a value and prints as -0", () => {
    const bytes = w()
      .uint32((11 << 3) | I32)
      .float(0.1)
      .uint32((12 << 3) | I64)
      .double(-0)
      .finish();
    const codec = codecWith(type, { emitUnpopulated: false });
    assert.equal(codec.binaryToJson(bytes), '{"optionalFloat":0.1,"optionalDouble":-0}');
    assert.ok(Object.is(JSON.parse(codec.binaryToJson(bytes)).optionalDouble, -0));
    assert.equal(codec.fieldToJson(bytes, "optional_double"), "-0");
    assert.deepStrictEqual(codec.jsonToBinary(codec.binaryToJson(bytes)), Buffer.from(bytes));
  });
});
