import { describeValidCorpus, type ValidCase } from "./test-oracle.test-helper.js";
import { testAllTypesProto3 } from "./test-schemas.test-helper.js";

/**
 * Valid JSON for protobuf_test_messages.proto3.TestAllTypesProto3, after the protobuf conformance
 * suite's JSON tests (binary_json_conformance_suite.cc) and then some: field names, scalars, enums,
 * strings, bytes, messages, oneofs. Maps, lists, nulls and well-known types: corpus-valid-wkt.test.ts.
 */

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
];

describeValidCorpus("TestAllTypesProto3 corpus: valid JSON (scalars)", testAllTypesProto3(), CASES);
