import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertSameMessage, codecWith, oracleBytes } from "./test-oracle.js";
import { testAllTypesProto3 } from "./test-schemas.js";

/**
 * Valid JSON for protobuf_test_messages.proto3.TestAllTypesProto3, after the protobuf conformance
 * suite's JSON tests (binary_json_conformance_suite.cc) and then some. Each case: JSON → bytes must be the
 * message ext/protojson reads; bytes → JSON must read back (by ext/protojson) as the same message; and
 * where given, the JSON output (emitUnpopulated off, as the conformance runner expects) is checked exactly.
 */

interface ValidCase {
  readonly name: string;
  readonly json: string;
  /** Expected output with emitUnpopulated=false (parsed JSON). */
  readonly out?: unknown;
  /** The reference cannot parse this input the same way (a documented improvement). */
  readonly noOracle?: boolean;
}

const NAMES_18 = `{"fieldname1":1,"field_name2":2,"_field_name3":3,"field__name4_":4,"field0name5":5,"field_0_name6":6,
  "fieldName7":7,"FieldName8":8,"field_Name9":9,"Field_Name10":10,"FIELD_NAME11":11,"FIELD_name12":12,
  "__field_name13":13,"__Field_name14":14,"field__name15":15,"field__Name16":16,"field_name17__":17,"Field_name18__":18}`;

const CASES: ValidCase[] = [
  {
    name: "HelloWorld",
    json: `{"optionalString":"Hello, World!"}`,
    out: { optionalString: "Hello, World!" },
  },
  {
    name: "FieldNameInSnakeCase",
    json: `{"fieldname1":1,"fieldName2":2,"FieldName3":3,"fieldName4":4}`,
    out: { fieldname1: 1, fieldName2: 2, FieldName3: 3, fieldName4: 4 },
  },
  {
    name: "FieldNameWithNumbers",
    json: `{"field0name5":5,"field0Name6":6}`,
    out: { field0name5: 5, field0Name6: 6 },
  },
  {
    name: "FieldNameWithMixedCases",
    json: `{"fieldName7":7,"FieldName8":8,"fieldName9":9,"FieldName10":10,"FIELDNAME11":11,"FIELDName12":12}`,
    out: { fieldName7: 7, FieldName8: 8, fieldName9: 9, FieldName10: 10, FIELDNAME11: 11, FIELDName12: 12 },
  },
  {
    name: "FieldNameWithDoubleUnderscores",
    json: `{"FieldName13":13,"FieldName14":14,"fieldName15":15,"fieldName16":16,"fieldName17":17,"FieldName18":18}`,
    out: {
      FieldName13: 13,
      FieldName14: 14,
      fieldName15: 15,
      fieldName16: 16,
      fieldName17: 17,
      FieldName18: 18,
    },
  },
  { name: "OriginalProtoFieldName", json: NAMES_18 },
  { name: "FieldNameEscaped", json: `{"fieldn\\u0061me1": 1}`, out: { fieldname1: 1 } },
  {
    name: "WhitespaceEverywhere",
    json: `{\n  "optionalInt32"  :  1\n  ,\n  "optionalInt64"  :  2\n}\n`,
    out: { optionalInt32: 1, optionalInt64: "2" },
  },
  { name: "Int32FieldMaxValue", json: `{"optionalInt32": 2147483647}`, out: { optionalInt32: 2147483647 } },
  { name: "Int32FieldMinValue", json: `{"optionalInt32": -2147483648}`, out: { optionalInt32: -2147483648 } },
  {
    name: "Uint32FieldMaxValue",
    json: `{"optionalUint32": 4294967295}`,
    out: { optionalUint32: 4294967295 },
  },
  {
    name: "Int64FieldMaxValue",
    json: `{"optionalInt64": "9223372036854775807"}`,
    out: { optionalInt64: "9223372036854775807" },
  },
  {
    name: "Int64FieldMinValue",
    json: `{"optionalInt64": "-9223372036854775808"}`,
    out: { optionalInt64: "-9223372036854775808" },
  },
  {
    name: "Uint64FieldMaxValue",
    json: `{"optionalUint64": "18446744073709551615"}`,
    out: { optionalUint64: "18446744073709551615" },
  },
  {
    name: "Int64FieldMaxValueNotQuoted",
    json: `{"optionalInt64": 9223372036854774784}`,
    out: { optionalInt64: "9223372036854774784" },
  },
  {
    name: "Int64FieldMinValueNotQuoted",
    json: `{"optionalInt64": -9223372036854775808}`,
    out: { optionalInt64: "-9223372036854775808" },
  },
  {
    name: "Uint64FieldMaxValueNotQuoted",
    json: `{"optionalUint64": 18446744073709549568}`,
    out: { optionalUint64: "18446744073709549568" },
  },
  // Beyond the conformance suite: integers a double cannot hold stay exact (the text is kept).
  {
    name: "Int64UnquotedExact",
    json: `{"optionalInt64": 12345678901234567}`,
    out: { optionalInt64: "12345678901234567" },
    noOracle: true,
  },
  {
    name: "Uint64UnquotedMaxExact",
    json: `{"optionalUint64": 18446744073709551615}`,
    out: { optionalUint64: "18446744073709551615" },
    noOracle: true,
  },
  {
    name: "Sint64Fixed64Sfixed64",
    json: `{"optionalSint64":"-9223372036854775808","optionalFixed64":"18446744073709551615","optionalSfixed64":"-1","optionalSint32":-2147483648,"optionalFixed32":4294967295,"optionalSfixed32":-2147483648}`,
    out: {
      optionalSint64: "-9223372036854775808",
      optionalFixed64: "18446744073709551615",
      optionalSfixed64: "-1",
      optionalSint32: -2147483648,
      optionalFixed32: 4294967295,
      optionalSfixed32: -2147483648,
    },
  },
  {
    name: "Int32FieldStringValue",
    json: `{"optionalInt32": "2147483647"}`,
    out: { optionalInt32: 2147483647 },
  },
  {
    name: "Int32FieldStringValueEscaped",
    json: `{"optionalInt32": "2\\u003147483647"}`,
    out: { optionalInt32: 2147483647 },
  },
  {
    name: "Int32FieldFloatTrailingZero",
    json: `{"optionalInt32": 100000.000}`,
    out: { optionalInt32: 100000 },
  },
  { name: "Int32FieldExponentialFormat", json: `{"optionalInt32": 1e5}`, out: { optionalInt32: 100000 } },
  {
    name: "Int32FieldMaxFloatValue",
    json: `{"optionalInt32": 2.147483647e9}`,
    out: { optionalInt32: 2147483647 },
  },
  {
    name: "Int32FieldMinFloatValue",
    json: `{"optionalInt32": -2.147483648e9}`,
    out: { optionalInt32: -2147483648 },
  },
  {
    name: "Uint32FieldMaxFloatValue",
    json: `{"optionalUint32": 4.294967295e9}`,
    out: { optionalUint32: 4294967295 },
  },
  { name: "Int64FieldBeString", json: `{"optionalInt64": 1}`, out: { optionalInt64: "1" } },
  { name: "Uint64FieldBeString", json: `{"optionalUint64": 1}`, out: { optionalUint64: "1" } },
  { name: "BoolFieldTrue", json: `{"optionalBool":true}`, out: { optionalBool: true } },
  { name: "BoolFieldFalse", json: `{"optionalBool":false}`, out: {} },
  {
    name: "FloatFieldMinPositiveValue",
    json: `{"optionalFloat": 1.175494e-38}`,
    out: { optionalFloat: 1.175494e-38 },
  },
  {
    name: "FloatFieldMaxNegativeValue",
    json: `{"optionalFloat": -1.175494e-38}`,
    out: { optionalFloat: -1.175494e-38 },
  },
  {
    name: "FloatFieldMaxPositiveValue",
    json: `{"optionalFloat": 3.402823e+38}`,
    out: { optionalFloat: 3.402823e38 },
  },
  { name: "FloatFieldShortest", json: `{"optionalFloat": 0.1}`, out: { optionalFloat: 0.1 } },
  { name: "FloatFieldQuotedValue", json: `{"optionalFloat": "1"}`, out: { optionalFloat: 1 } },
  { name: "FloatFieldNan", json: `{"optionalFloat": "NaN"}`, out: { optionalFloat: "NaN" } },
  { name: "FloatFieldInfinity", json: `{"optionalFloat": "Infinity"}`, out: { optionalFloat: "Infinity" } },
  {
    name: "FloatFieldNegativeInfinity",
    json: `{"optionalFloat": "-Infinity"}`,
    out: { optionalFloat: "-Infinity" },
  },
  {
    name: "DoubleFieldMinPositiveValue",
    json: `{"optionalDouble": 2.22507e-308}`,
    out: { optionalDouble: 2.22507e-308 },
  },
  {
    name: "DoubleFieldMaxNegativeValue",
    json: `{"optionalDouble": -2.22507e-308}`,
    out: { optionalDouble: -2.22507e-308 },
  },
  {
    name: "DoubleFieldMaxPositiveValue",
    json: `{"optionalDouble": 1.79769e+308}`,
    out: { optionalDouble: 1.79769e308 },
  },
  {
    name: "DoubleFieldMinNegativeValue",
    json: `{"optionalDouble": -1.79769e+308}`,
    out: { optionalDouble: -1.79769e308 },
  },
  { name: "DoubleFieldQuotedValue", json: `{"optionalDouble": "1"}`, out: { optionalDouble: 1 } },
  { name: "DoubleFieldNan", json: `{"optionalDouble": "NaN"}`, out: { optionalDouble: "NaN" } },
  {
    name: "DoubleFieldInfinity",
    json: `{"optionalDouble": "Infinity"}`,
    out: { optionalDouble: "Infinity" },
  },
  {
    name: "DoubleFieldNegativeInfinity",
    json: `{"optionalDouble": "-Infinity"}`,
    out: { optionalDouble: "-Infinity" },
  },
  { name: "EnumField", json: `{"optionalNestedEnum": "BAR"}`, out: { optionalNestedEnum: "BAR" } },
  {
    name: "EnumFieldWithAlias",
    json: `{"optionalAliasedEnum": "ALIAS_BAZ"}`,
    out: { optionalAliasedEnum: "ALIAS_BAZ" },
  },
  {
    name: "EnumFieldWithAliasUseAlias",
    json: `{"optionalAliasedEnum": "MOO"}`,
    out: { optionalAliasedEnum: "ALIAS_BAZ" },
  },
  {
    name: "EnumFieldWithAliasLowerCase",
    json: `{"optionalAliasedEnum": "moo"}`,
    out: { optionalAliasedEnum: "ALIAS_BAZ" },
  },
  {
    name: "EnumFieldWithAliasDifferentCase",
    json: `{"optionalAliasedEnum": "bAz"}`,
    out: { optionalAliasedEnum: "ALIAS_BAZ" },
  },
  { name: "EnumFieldNumericValueZero", json: `{"optionalNestedEnum": 0}`, out: {} },
  {
    name: "EnumFieldNumericValueNonZero",
    json: `{"optionalNestedEnum": 1}`,
    out: { optionalNestedEnum: "BAR" },
  },
  { name: "EnumFieldNegative", json: `{"optionalNestedEnum": "NEG"}`, out: { optionalNestedEnum: "NEG" } },
  { name: "EnumFieldUnknownValue", json: `{"optionalNestedEnum": 123}`, out: { optionalNestedEnum: 123 } },
  {
    name: "StringField",
    json: `{"optionalString": "Hello world!"}`,
    out: { optionalString: "Hello world!" },
  },
  { name: "StringFieldUnicode", json: `{"optionalString": "谷歌"}`, out: { optionalString: "谷歌" } },
  {
    name: "StringFieldEscape",
    json: `{"optionalString": "\\"\\\\\\/\\b\\f\\n\\r\\t"}`,
    out: { optionalString: '"\\/\b\f\n\r\t' },
  },
  {
    name: "StringFieldUnicodeEscape",
    json: `{"optionalString": "\\u8C37\\u6B4C"}`,
    out: { optionalString: "谷歌" },
  },
  {
    name: "StringFieldUnicodeEscapeWithLowercaseHexLetters",
    json: `{"optionalString": "\\u8c37\\u6b4c"}`,
    out: { optionalString: "谷歌" },
  },
  {
    name: "StringFieldSurrogatePair",
    json: `{"optionalString": "\\uD83D\\uDE01"}`,
    out: { optionalString: "😁" },
  },
  {
    name: "StringFieldEmbeddedNull",
    json: `{"optionalString": "Hello\\u0000world!"}`,
    out: { optionalString: "Hello\u0000world!" },
  },
  {
    name: "StringFieldLong",
    json: JSON.stringify({ optionalString: `${"é".repeat(100)}${"x".repeat(300)}` }),
    out: { optionalString: `${"é".repeat(100)}${"x".repeat(300)}` },
  },
  { name: "BytesField", json: `{"optionalBytes": "AQI="}`, out: { optionalBytes: "AQI=" } },
  { name: "BytesFieldUnpadded", json: `{"optionalBytes": "AQI"}`, out: { optionalBytes: "AQI=" } },
  { name: "BytesFieldBase64Url", json: `{"optionalBytes": "-_"}`, out: { optionalBytes: "+w==" } },
  {
    name: "MessageField",
    json: `{"optionalNestedMessage": {"a": 1234}}`,
    out: { optionalNestedMessage: { a: 1234 } },
  },
  { name: "MessageFieldEmpty", json: `{"optionalNestedMessage": {}}`, out: { optionalNestedMessage: {} } },
  {
    name: "RecursiveMessage",
    json: `{"recursiveMessage": {"recursiveMessage": {"optionalInt32": 7}}}`,
    out: { recursiveMessage: { recursiveMessage: { optionalInt32: 7 } } },
  },
  {
    name: "OneofFieldNullFirst",
    json: `{"oneofUint32": null, "oneofString": "test"}`,
    out: { oneofString: "test" },
  },
  {
    name: "OneofFieldNullSecond",
    json: `{"oneofString": "test", "oneofUint32": null}`,
    out: { oneofString: "test" },
  },
  { name: "OneofZeroUint32", json: `{"oneofUint32": 0}`, out: { oneofUint32: 0 } },
  { name: "OneofZeroMessage", json: `{"oneofNestedMessage": {}}`, out: { oneofNestedMessage: {} } },
  { name: "OneofZeroString", json: `{"oneofString": ""}`, out: { oneofString: "" } },
  { name: "OneofZeroBytes", json: `{"oneofBytes": ""}`, out: { oneofBytes: "" } },
  { name: "OneofZeroBool", json: `{"oneofBool": false}`, out: { oneofBool: false } },
  { name: "OneofZeroUint64", json: `{"oneofUint64": 0}`, out: { oneofUint64: "0" } },
  { name: "OneofZeroFloat", json: `{"oneofFloat": 0.0}`, out: { oneofFloat: 0 } },
  { name: "OneofZeroDouble", json: `{"oneofDouble": 0.0}`, out: { oneofDouble: 0 } },
  { name: "OneofZeroEnum", json: `{"oneofEnum":"FOO"}`, out: { oneofEnum: "FOO" } },
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

describe("TestAllTypesProto3 corpus: valid JSON", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type, { emitUnpopulated: false });
  const emitting = codecWith(type, { emitUnpopulated: true });
  for (const c of CASES) {
    it(c.name, () => {
      const bytes = codec.jsonToBinary(c.json);
      if (!c.noOracle) assertSameMessage(type, bytes, oracleBytes(type, JSON.parse(c.json)), "JSON → bytes");
      const out = codec.binaryToJson(bytes);
      if (c.out !== undefined) assert.deepStrictEqual(JSON.parse(out), c.out);
      if (!c.noOracle)
        assertSameMessage(type, oracleBytes(type, JSON.parse(out)), bytes, "bytes → JSON → bytes");
      assert.deepStrictEqual(
        codec.jsonToBinary(out),
        codec.jsonToBinary(codec.binaryToJson(codec.jsonToBinary(out))),
      );
      // With every field emitted, the output still means the same message.
      const full = emitting.binaryToJson(bytes);
      assertSameMessage(type, codec.jsonToBinary(full), bytes, "emitUnpopulated output → bytes");
    });
  }
});

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
