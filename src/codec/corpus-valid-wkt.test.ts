import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertSameMessage,
  codecWith,
  describeValidCorpus,
  oracleBytes,
  type ValidCase,
} from "./test-oracle.test-helper.js";
import { testAllTypesProto3 } from "./test-schemas.test-helper.js";

/**
 * Valid JSON for TestAllTypesProto3, continued (see corpus-valid.test.ts): maps, repeated fields,
 * null, wrappers, Duration, Timestamp, FieldMask, Struct, Value, Any; and discardUnknownFields.
 */

const CASES: ValidCase[] = [
  {
    name: "Int32MapField",
    json: `{"mapInt32Int32": {"1": 2, "3": 4}}`,
    out: { mapInt32Int32: { "1": 2, "3": 4 } },
  },
  {
    name: "Uint32MapField",
    json: `{"mapUint32Uint32": {"1": 2, "3": 4}}`,
    out: { mapUint32Uint32: { "1": 2, "3": 4 } },
  },
  {
    name: "Int64MapField",
    json: `{"mapInt64Int64": {"1": 2, "3": 4}}`,
    out: { mapInt64Int64: { "1": "2", "3": "4" } },
  },
  {
    name: "Uint64MapField",
    json: `{"mapUint64Uint64": {"1": 2, "3": 4}}`,
    out: { mapUint64Uint64: { "1": "2", "3": "4" } },
  },
  {
    name: "Int64MapExtremeKeys",
    json: `{"mapInt64Int64": {"-9223372036854775808": "1", "9223372036854775807": "-1", "-1": "0"}, "mapSint64Sint64": {"-5": "5"}, "mapSfixed64Sfixed64": {"-9007199254740993": "1"}, "mapFixed64Fixed64": {"18446744073709551615": "2"}}`,
    out: {
      mapInt64Int64: { "-9223372036854775808": "1", "9223372036854775807": "-1", "-1": "0" },
      mapSint64Sint64: { "-5": "5" },
      mapSfixed64Sfixed64: { "-9007199254740993": "1" },
      mapFixed64Fixed64: { "18446744073709551615": "2" },
    },
  },
  {
    name: "BoolMapField",
    json: `{"mapBoolBool": {"true": true, "false": false}}`,
    out: { mapBoolBool: { true: true, false: false } },
  },
  {
    name: "MessageMapField",
    json: `{"mapStringNestedMessage": {"hello": {"a": 1234}, "world": {"a": 5678}}}`,
    out: { mapStringNestedMessage: { hello: { a: 1234 }, world: { a: 5678 } } },
  },
  {
    name: "Int32MapEscapedKey",
    json: `{"mapInt32Int32": {"\\u0031": 2}}`,
    out: { mapInt32Int32: { "1": 2 } },
  },
  {
    name: "Int64MapEscapedKey",
    json: `{"mapInt64Int64": {"\\u0031": 2}}`,
    out: { mapInt64Int64: { "1": "2" } },
  },
  {
    name: "BoolMapEscapedKey",
    json: `{"mapBoolBool": {"tr\\u0075e": true}}`,
    out: { mapBoolBool: { true: true } },
  },
  {
    name: "MapDefaultValues",
    json: `{"mapStringString": {"": ""}, "mapInt32Int32": {"0": 0}, "mapStringNestedEnum": {"k": "FOO"}}`,
    out: { mapStringString: { "": "" }, mapInt32Int32: { "0": 0 }, mapStringNestedEnum: { k: "FOO" } },
  },
  {
    name: "MapProtoKey",
    json: `{"mapStringString": {"__proto__": "x"}}`,
    out: JSON.parse(`{"mapStringString": {"__proto__": "x"}}`),
  },
  {
    name: "PrimitiveRepeatedField",
    json: `{"repeatedInt32": [1, 2, 3, 4]}`,
    out: { repeatedInt32: [1, 2, 3, 4] },
  },
  {
    name: "EnumRepeatedField",
    json: `{"repeatedNestedEnum": ["FOO", "BAR", "BAZ", 77]}`,
    out: { repeatedNestedEnum: ["FOO", "BAR", "BAZ", 77] },
  },
  {
    name: "StringRepeatedField",
    json: `{"repeatedString": ["Hello", "world"]}`,
    out: { repeatedString: ["Hello", "world"] },
  },
  {
    name: "BytesRepeatedField",
    json: `{"repeatedBytes": ["AAEC", "AQI="]}`,
    out: { repeatedBytes: ["AAEC", "AQI="] },
  },
  {
    name: "MessageRepeatedField",
    json: `{"repeatedNestedMessage": [{"a": 1234}, {"a": 5678}]}`,
    out: { repeatedNestedMessage: [{ a: 1234 }, { a: 5678 }] },
  },
  {
    name: "PackedAndUnpacked",
    json: `{"packedInt64": ["1", "-2"], "unpackedInt64": [3, -4], "packedDouble": [0.5, "NaN"], "unpackedBool": [true, false], "packedSint32": [-1, 0], "packedFixed32": [1]}`,
    out: {
      packedInt64: ["1", "-2"],
      unpackedInt64: ["3", "-4"],
      packedDouble: [0.5, "NaN"],
      unpackedBool: [true, false],
      packedSint32: [-1, 0],
      packedFixed32: [1],
    },
  },
  {
    name: "AllFieldAcceptNull",
    json: `{"optionalInt32": null, "optionalInt64": null, "optionalUint32": null, "optionalUint64": null, "optionalSint32": null, "optionalSint64": null, "optionalFixed32": null, "optionalFixed64": null, "optionalSfixed32": null, "optionalSfixed64": null, "optionalFloat": null, "optionalDouble": null, "optionalBool": null, "optionalString": null, "optionalBytes": null, "optionalNestedEnum": null, "optionalNestedMessage": null, "repeatedInt32": null, "repeatedNestedMessage": null, "mapInt32Int32": null, "mapBoolBool": null, "mapStringNestedMessage": null}`,
    out: {},
  },
  {
    name: "OptionalWrappersZero",
    json: `{"optionalBoolWrapper": false, "optionalInt32Wrapper": 0, "optionalUint32Wrapper": 0, "optionalInt64Wrapper": 0, "optionalUint64Wrapper": 0, "optionalFloatWrapper": 0, "optionalDoubleWrapper": 0, "optionalStringWrapper": "", "optionalBytesWrapper": ""}`,
    out: {
      optionalBoolWrapper: false,
      optionalInt32Wrapper: 0,
      optionalUint32Wrapper: 0,
      optionalInt64Wrapper: "0",
      optionalUint64Wrapper: "0",
      optionalFloatWrapper: 0,
      optionalDoubleWrapper: 0,
      optionalStringWrapper: "",
      optionalBytesWrapper: "",
    },
  },
  {
    name: "OptionalWrapperTypesWithNonDefaultValue",
    json: `{"optionalBoolWrapper": true, "optionalInt32Wrapper": 1, "optionalUint32Wrapper": 1, "optionalInt64Wrapper": "1", "optionalUint64Wrapper": "1", "optionalFloatWrapper": 1, "optionalDoubleWrapper": 1, "optionalStringWrapper": "1", "optionalBytesWrapper": "AQI="}`,
    out: {
      optionalBoolWrapper: true,
      optionalInt32Wrapper: 1,
      optionalUint32Wrapper: 1,
      optionalInt64Wrapper: "1",
      optionalUint64Wrapper: "1",
      optionalFloatWrapper: 1,
      optionalDoubleWrapper: 1,
      optionalStringWrapper: "1",
      optionalBytesWrapper: "AQI=",
    },
  },
  {
    name: "RepeatedWrappers",
    json: `{"repeatedBoolWrapper": [true, false], "repeatedInt64Wrapper": [0, 1], "repeatedStringWrapper": ["", "AQI="], "repeatedBytesWrapper": ["", "AQI="], "repeatedFloatWrapper": [0, 1.5]}`,
    out: {
      repeatedBoolWrapper: [true, false],
      repeatedInt64Wrapper: ["0", "1"],
      repeatedStringWrapper: ["", "AQI="],
      repeatedBytesWrapper: ["", "AQI="],
      repeatedFloatWrapper: [0, 1.5],
    },
  },
  {
    name: "WrapperTypesWithNullValue",
    json: `{"optionalBoolWrapper": null, "optionalInt32Wrapper": null, "optionalBytesWrapper": null, "repeatedBoolWrapper": null}`,
    out: {},
  },
  {
    name: "DurationMinValue",
    json: `{"optionalDuration": "-315576000000.999999999s"}`,
    out: { optionalDuration: "-315576000000.999999999s" },
  },
  {
    name: "DurationMaxValue",
    json: `{"optionalDuration": "315576000000.999999999s"}`,
    out: { optionalDuration: "315576000000.999999999s" },
  },
  {
    name: "DurationRepeatedValue",
    json: `{"repeatedDuration": ["1.5s", "-1.5s"]}`,
    out: { repeatedDuration: ["1.500s", "-1.500s"] },
  },
  { name: "DurationNull", json: `{"optionalDuration": null}`, out: {} },
  { name: "DurationNegativeSeconds", json: `{"optionalDuration": "-5s"}`, out: { optionalDuration: "-5s" } },
  {
    name: "DurationNegativeNanos",
    json: `{"optionalDuration": "-0.5s"}`,
    out: { optionalDuration: "-0.500s" },
  },
  {
    name: "DurationHasZeroFractionalDigit",
    json: `{"optionalDuration": "1.000000000s"}`,
    out: { optionalDuration: "1s" },
  },
  {
    name: "DurationHas3FractionalDigits",
    json: `{"optionalDuration": "1.010000000s"}`,
    out: { optionalDuration: "1.010s" },
  },
  {
    name: "DurationHas6FractionalDigits",
    json: `{"optionalDuration": "1.000010000s"}`,
    out: { optionalDuration: "1.000010s" },
  },
  {
    name: "DurationHas9FractionalDigits",
    json: `{"optionalDuration": "1.000000010s"}`,
    out: { optionalDuration: "1.000000010s" },
  },
  { name: "DurationZero", json: `{"optionalDuration": "0s"}`, out: { optionalDuration: "0s" } },
  {
    name: "TimestampMinValue",
    json: `{"optionalTimestamp": "0001-01-01T00:00:00Z"}`,
    out: { optionalTimestamp: "0001-01-01T00:00:00Z" },
  },
  {
    name: "TimestampMaxValue",
    json: `{"optionalTimestamp": "9999-12-31T23:59:59.999999999Z"}`,
    out: { optionalTimestamp: "9999-12-31T23:59:59.999999999Z" },
  },
  {
    name: "TimestampRepeatedValue",
    json: `{"repeatedTimestamp": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"]}`,
    out: { repeatedTimestamp: ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"] },
  },
  {
    name: "TimestampLeap",
    json: `{"optionalTimestamp": "1993-02-10T00:00:00.000Z"}`,
    out: { optionalTimestamp: "1993-02-10T00:00:00Z" },
  },
  {
    name: "TimestampLeapDay",
    json: `{"optionalTimestamp": "2000-02-29T23:59:59.5Z"}`,
    out: { optionalTimestamp: "2000-02-29T23:59:59.500Z" },
  },
  {
    name: "TimestampWithPositiveOffset",
    json: `{"optionalTimestamp": "1970-01-01T08:00:01+08:00"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:01Z" },
  },
  {
    name: "TimestampWithNegativeOffset",
    json: `{"optionalTimestamp": "1969-12-31T16:00:01-08:00"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:01Z" },
  },
  { name: "TimestampNull", json: `{"optionalTimestamp": null}`, out: {} },
  {
    name: "TimestampZeroNormalized",
    json: `{"optionalTimestamp": "1969-12-31T16:00:00-08:00"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:00Z" },
  },
  {
    name: "TimestampHasZeroFractionalDigit",
    json: `{"optionalTimestamp": "1970-01-01T00:00:00.000000000Z"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:00Z" },
  },
  {
    name: "TimestampHas3FractionalDigits",
    json: `{"optionalTimestamp": "1970-01-01T00:00:00.010000000Z"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:00.010Z" },
  },
  {
    name: "TimestampHas6FractionalDigits",
    json: `{"optionalTimestamp": "1970-01-01T00:00:00.000010000Z"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:00.000010Z" },
  },
  {
    name: "TimestampHas9FractionalDigits",
    json: `{"optionalTimestamp": "1970-01-01T00:00:00.000000010Z"}`,
    out: { optionalTimestamp: "1970-01-01T00:00:00.000000010Z" },
  },
  {
    name: "TimestampBeforeEpoch",
    json: `{"optionalTimestamp": "1969-07-20T20:17:40.123456Z"}`,
    out: { optionalTimestamp: "1969-07-20T20:17:40.123456Z" },
  },
  {
    name: "FieldMask",
    json: `{"optionalFieldMask": "foo,barBaz"}`,
    out: { optionalFieldMask: "foo,barBaz" },
  },
  {
    name: "FieldMaskNested",
    json: `{"optionalFieldMask": "a.bC,dE.f"}`,
    out: { optionalFieldMask: "a.bC,dE.f" },
  },
  { name: "EmptyFieldMask", json: `{"optionalFieldMask": ""}`, out: { optionalFieldMask: "" } },
  {
    name: "Struct",
    json: `{"optionalStruct": {"nullValue": null, "intValue": 1234, "boolValue": true, "doubleValue": 1234.5678, "stringValue": "Hello world!", "listValue": [1234, "5678"], "objectValue": {"value": 0}}}`,
    out: {
      optionalStruct: {
        nullValue: null,
        intValue: 1234,
        boolValue: true,
        doubleValue: 1234.5678,
        stringValue: "Hello world!",
        listValue: [1234, "5678"],
        objectValue: { value: 0 },
      },
    },
  },
  {
    name: "StructWithEmptyListValue",
    json: `{"optionalStruct": {"listValue": []}}`,
    out: { optionalStruct: { listValue: [] } },
  },
  { name: "StructEmpty", json: `{"optionalStruct": {}}`, out: { optionalStruct: {} } },
  { name: "ValueAcceptInteger", json: `{"optionalValue": 1}`, out: { optionalValue: 1 } },
  { name: "ValueAcceptFloat", json: `{"optionalValue": 1.5}`, out: { optionalValue: 1.5 } },
  { name: "ValueAcceptBool", json: `{"optionalValue": false}`, out: { optionalValue: false } },
  { name: "ValueAcceptNull", json: `{"optionalValue": null}`, out: { optionalValue: null } },
  { name: "ValueAcceptString", json: `{"optionalValue": "hello"}`, out: { optionalValue: "hello" } },
  { name: "ValueAcceptList", json: `{"optionalValue": [0, "hello"]}`, out: { optionalValue: [0, "hello"] } },
  {
    name: "ValueAcceptObject",
    json: `{"optionalValue": {"value": 1}}`,
    out: { optionalValue: { value: 1 } },
  },
  {
    name: "RepeatedValue",
    json: `{"repeatedValue": [["a"], null, 2]}`,
    out: { repeatedValue: [["a"], null, 2] },
  },
  { name: "RepeatedListValue", json: `{"repeatedListValue": [["a"]]}`, out: { repeatedListValue: [["a"]] } },
  {
    name: "NullValueInOtherOneofOldFormat",
    json: `{"oneofNullValue": "NULL_VALUE"}`,
    out: { oneofNullValue: null },
  },
  { name: "NullValueInOtherOneofNewFormat", json: `{"oneofNullValue": null}`, out: { oneofNullValue: null } },
  { name: "NullValueInNormalMessage", json: `{"optionalNullValue": null}`, out: {} },
  {
    name: "Any",
    json: `{"optionalAny": {"@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3", "optionalInt32": 12345}}`,
    out: {
      optionalAny: {
        "@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3",
        optionalInt32: 12345,
      },
    },
  },
  {
    name: "AnyNested",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Any", "value": {"@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3", "optionalInt32": 12345}}}`,
    out: {
      optionalAny: {
        "@type": "type.googleapis.com/google.protobuf.Any",
        value: {
          "@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3",
          optionalInt32: 12345,
        },
      },
    },
  },
  {
    name: "AnyUnorderedTypeTag",
    json: `{"optionalAny": {"optionalInt32": 12345, "@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3"}}`,
    out: {
      optionalAny: {
        "@type": "type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3",
        optionalInt32: 12345,
      },
    },
  },
  {
    name: "AnyWithInt32ValueWrapper",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Int32Value", "value": 12345}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.Int32Value", value: 12345 } },
  },
  {
    name: "AnyWithDuration",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s"}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "1.500s" } },
  },
  {
    name: "AnyWithTimestamp",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Timestamp", "value": "1970-01-01T00:00:00Z"}}`,
    out: {
      optionalAny: {
        "@type": "type.googleapis.com/google.protobuf.Timestamp",
        value: "1970-01-01T00:00:00Z",
      },
    },
  },
  {
    name: "AnyWithFieldMask",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.FieldMask", "value": "foo,barBaz"}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.FieldMask", value: "foo,barBaz" } },
  },
  {
    name: "AnyWithStruct",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {"foo": 1}}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.Struct", value: { foo: 1 } } },
  },
  {
    name: "AnyWithValueForJsonObject",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Value", "value": {"foo": 1}}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.Value", value: { foo: 1 } } },
  },
  {
    name: "AnyWithValueForInteger",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Value", "value": 1}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.Value", value: 1 } },
  },
  { name: "AnyEmpty", json: `{"optionalAny": {}}`, out: { optionalAny: {} } },
  {
    name: "AnyWithEmptyMessage",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Empty"}}`,
    out: { optionalAny: { "@type": "type.googleapis.com/google.protobuf.Empty" } },
  },
  {
    name: "RepeatedAny",
    json: `{"repeatedAny": [{"@type": "type.googleapis.com/protobuf_test_messages.proto3.ForeignMessage", "c": 3}]}`,
    out: {
      repeatedAny: [{ "@type": "type.googleapis.com/protobuf_test_messages.proto3.ForeignMessage", c: 3 }],
    },
  },
];

describeValidCorpus(
  "TestAllTypesProto3 corpus: valid JSON (structure, well-known types)",
  testAllTypesProto3(),
  CASES,
);

describe("TestAllTypesProto3 corpus: discardUnknownFields", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type, { emitUnpopulated: false, discardUnknownFields: true });
  const cases: [string, string][] = [
    ["IgnoreUnknownJsonNumber", `{"unknown": 1}`],
    ["IgnoreUnknownJsonString", `{"unknown": "a"}`],
    ["IgnoreUnknownJsonTrue", `{"unknown": true}`],
    ["IgnoreUnknownJsonFalse", `{"unknown": false}`],
    ["IgnoreUnknownJsonNull", `{"unknown": null}`],
    ["IgnoreUnknownJsonObject", `{"unknown": {"a": 1, "b": [{"c": 2}]}}`],
    ["IgnoreUnknownEnumStringValueInOptionalField", `{"optional_nested_enum": "UNKNOWN_ENUM_VALUE"}`],
    ["IgnoreUnknownEnumStringValueInRepeatedField", `{"repeated_nested_enum": ["UNKNOWN_ENUM_VALUE"]}`],
    ["IgnoreUnknownEnumStringValueInMapValue", `{"map_string_nested_enum": {"key": "UNKNOWN_ENUM_VALUE"}}`],
    ["IgnoreUnknownNested", `{"optionalNestedMessage": {"a": 1, "zzz": [1, 2]}, "zzz": {"q": {}}}`],
  ];
  for (const [name, json] of cases) {
    it(name, () => {
      const bytes = codec.jsonToBinary(json);
      assertSameMessage(type, bytes, oracleBytes(type, JSON.parse(json), true));
    });
  }
  it("still rejects duplicate keys inside discarded values", () => {
    assert.throws(() => codec.jsonToBinary(`{"unknown": {"a": 1, "a": 2}}`), /unknown: duplicate key "a"/);
  });
});
