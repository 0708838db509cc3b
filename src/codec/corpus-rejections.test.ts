import { describeRejectCorpus, type RejectCase } from "./test-oracle.test-helper.js";
import { testAllTypesProto3 } from "./test-schemas.test-helper.js";

/**
 * Rejections: every one is a GatewayError INVALID_ARGUMENT whose message starts with the JSON path and
 * says what is wrong. Cases after the conformance suite's ExpectParseFailureForJson tests, and more:
 * malformed JSON, duplicate keys, numbers, strings, bytes, enums. Structure and well-known types:
 * corpus-rejections-structure.test.ts.
 */

const T3 = "protobuf_test_messages.proto3.TestAllTypesProto3";

const CASES: RejectCase[] = [
  // Malformed JSON: position first, then what was expected.
  {
    name: "StringEndsWithEscapeChar",
    json: `{"optionalString": "abc\\`,
    message: /^optionalString: malformed JSON at line 1, column 20: unterminated string$/,
  },
  {
    name: "FieldNameNotQuoted",
    json: "{fieldname1: 1}",
    message: /^malformed JSON at line 1, column 2: expected a quoted key, got 'f'$/,
  },
  {
    name: "TrailingCommaInAnObject",
    json: `{"fieldname1":1,}`,
    message: /^malformed JSON at line 1, column 17: expected a quoted key, got '}'$/,
  },
  {
    name: "TrailingCommaInAnObjectWithSpaceCommaSpace",
    json: `{"fieldname1":1 , }`,
    message: /malformed JSON at line 1, column 19/,
  },
  {
    name: "TrailingCommaInAnObjectWithNewlines",
    json: `{\n  "fieldname1":1,\n}`,
    message: /^malformed JSON at line 3, column 1: expected a quoted key, got '}'$/,
  },
  {
    name: "JsonWithComments",
    json: `{\n  // comment\n  "fieldname1": 1\n}`,
    message: /^malformed JSON at line 2, column 3: expected a quoted key, got '\/'$/,
  },
  {
    name: "MissingCommaOneLine",
    json: `{ "optionalInt32": 1 "optionalInt64": 2 }`,
    message: /^malformed JSON at line 1, column 22: expected ',' or '}' after an object member, got '"'$/,
  },
  {
    name: "FieldNameDuplicateUnquoted",
    json: `{"optionalNestedMessage": {a: 1}, "optionalNestedMessage": {}}`,
    message: /^optionalNestedMessage: malformed JSON/,
  },
  {
    name: "Int32FieldPlusSign",
    json: `{"optionalInt32": +1}`,
    message: /^optionalInt32: malformed JSON at line 1, column 19: expected a value, got '\+'$/,
  },
  {
    name: "Int32FieldLeadingZero",
    json: `{"optionalInt32": 01}`,
    message: /^optionalInt32: malformed JSON .*leading zeros/,
  },
  {
    name: "Int32FieldNegativeWithLeadingZero",
    json: `{"optionalInt32": -01}`,
    message: /^optionalInt32: malformed JSON/,
  },
  {
    name: "BoolFieldCamelCaseTrue",
    json: `{"optionalBool":True}`,
    message: /^optionalBool: malformed JSON .*got 'T'$/,
  },
  {
    name: "BoolFieldAllCapitalFalse",
    json: `{"optionalBool":FALSE}`,
    message: /^optionalBool: malformed JSON/,
  },
  {
    name: "FloatFieldNanNotQuoted",
    json: `{"optionalFloat": NaN}`,
    message: /^optionalFloat: malformed JSON/,
  },
  {
    name: "DoubleFieldNegativeInfinityNotQuoted",
    json: `{"optionalDouble": -Infinity}`,
    message: /^optionalDouble: malformed JSON/,
  },
  {
    name: "DoubleFieldTooLarge",
    json: `{"optionalDouble": +1.89769e+308}`,
    message: /^optionalDouble: malformed JSON/,
  },
  {
    name: "EnumFieldNotQuoted",
    json: `{"optionalNestedEnum": FOO}`,
    message: /^optionalNestedEnum: malformed JSON/,
  },
  {
    name: "StringFieldUppercaseEscapeLetter",
    json: `{"optionalString": "\\U8C37\\U6b4C"}`,
    message: /^optionalString: malformed JSON .*invalid escape \\U$/,
  },
  {
    name: "StringFieldInvalidEscape",
    json: `{"optionalString": "\\uXXXX\\u6B4C"}`,
    message: /^optionalString: malformed JSON .*invalid \\u escape/,
  },
  {
    name: "StringFieldUnterminatedEscape",
    json: `{"optionalString": "\\u8C3"}`,
    message: /^optionalString: malformed JSON .*invalid \\u escape/,
  },
  {
    name: "StringFieldSingleQuoteKey",
    json: `{'optionalString': "Hello world!"}`,
    message: /^malformed JSON at line 1, column 2/,
  },
  {
    name: "StringFieldSingleQuoteValue",
    json: `{"optionalString": 'Hello world!'}`,
    message: /^optionalString: malformed JSON/,
  },
  {
    name: "Int32MapFieldKeyNotQuoted",
    json: `{"mapInt32Int32": {1: 2, 3: 4}}`,
    message: /^mapInt32Int32: malformed JSON/,
  },
  {
    name: "BoolMapFieldKeyNotQuoted",
    json: `{"mapBoolBool": {true: true}}`,
    message: /^mapBoolBool: malformed JSON/,
  },
  {
    name: "MapFieldKeyIsNull",
    json: `{"mapInt32Int32": {null: 1}}`,
    message: /^mapInt32Int32: malformed JSON/,
  },
  {
    name: "RepeatedFieldTrailingComma",
    json: `{"repeatedInt32": [1, 2, 3, 4,]}`,
    message: /^repeatedInt32\[4\]: malformed JSON at line 1, column 31: expected a value, got '\]'$/,
  },
  {
    name: "RepeatedFieldTrailingCommaWithNewlines",
    json: `{"repeatedInt32": [\n  1,\n  2,\n]}`,
    message: /^repeatedInt32\[2\]: malformed JSON at line 4, column 1/,
  },
  {
    name: "ControlCharacterInString",
    json: `{"optionalString": "a\tb"}`,
    message: /^optionalString: malformed JSON .*control character/,
  },
  {
    name: "UnexpectedEnd",
    json: `{"optionalInt32": 1`,
    message:
      /^malformed JSON at line 1, column 20: expected ',' or '}' after an object member, got the end of the input$/,
  },
  {
    name: "TrailingData",
    json: `{} {}`,
    message: /^malformed JSON at line 1, column 4: unexpected data after the JSON value$/,
  },
  // Duplicate keys (JSON.parse would keep the last silently).
  {
    name: "DuplicateKey",
    json: `{"optionalInt32": 1, "optionalInt32": 2}`,
    message: /^duplicate key "optionalInt32"$/,
  },
  {
    name: "DuplicateKeyNested",
    json: `{"mapStringString": {"x": "1", "x": "2"}}`,
    message: /^mapStringString: duplicate key "x"$/,
  },
  {
    name: "DuplicateKeyInArray",
    json: `{"repeatedNestedMessage": [{"a": 1}, {"a": 1, "a": 2}]}`,
    message: /^repeatedNestedMessage\[1\]: duplicate key "a"$/,
  },
  {
    name: "FieldNameDuplicateDifferentCasing1",
    json: `{"optional_nested_message": {"a": 1}, "optionalNestedMessage": {}}`,
    message:
      /^field optional_nested_message is given twice \(as "optionalNestedMessage" and "optional_nested_message"\)$/,
  },
  {
    name: "FieldNameDuplicateDifferentCasing2",
    json: `{"optionalNestedMessage": {"a": 1}, "optional_nested_message": {}}`,
    message: /given twice/,
  },
  // Numbers.
  {
    name: "Int32FieldTooLarge",
    json: `{"optionalInt32": 2147483648}`,
    message: /^optionalInt32: number 2147483648 is out of range for int32$/,
  },
  {
    name: "Int32FieldTooSmall",
    json: `{"optionalInt32": -2147483649}`,
    message: /^optionalInt32: number -2147483649 is out of range for int32$/,
  },
  {
    name: "Uint32FieldTooLarge",
    json: `{"optionalUint32": 4294967296}`,
    message: /^optionalUint32: number 4294967296 is out of range for uint32$/,
  },
  {
    name: "Uint32Negative",
    json: `{"optionalUint32": -1}`,
    message: /^optionalUint32: number -1 is out of range for uint32$/,
  },
  {
    name: "Int64FieldTooLarge",
    json: `{"optionalInt64": "9223372036854775808"}`,
    message: /^optionalInt64: string "9223372036854775808" is out of range for int64$/,
  },
  {
    name: "Int64FieldTooSmall",
    json: `{"optionalInt64": "-9223372036854775809"}`,
    message: /^optionalInt64: string "-9223372036854775809" is out of range for int64$/,
  },
  {
    name: "Uint64FieldTooLarge",
    json: `{"optionalUint64": "18446744073709551616"}`,
    message: /^optionalUint64: string "18446744073709551616" is out of range for uint64$/,
  },
  {
    name: "Int64UnquotedTooLarge",
    json: `{"optionalInt64": 9223372036854775808}`,
    message: /^optionalInt64: number 9223372036854775808 is out of range for int64$/,
  },
  {
    name: "Int32FieldNotInteger",
    json: `{"optionalInt32": 0.5}`,
    message: /^optionalInt32: expected int32, got number 0.5$/,
  },
  {
    name: "Uint32FieldNotInteger",
    json: `{"optionalUint32": 0.5}`,
    message: /^optionalUint32: expected uint32, got number 0.5$/,
  },
  {
    name: "Int64FieldNotInteger",
    json: `{"optionalInt64": "0.5"}`,
    message: /^optionalInt64: expected int64, got string "0.5"$/,
  },
  {
    name: "Uint64FieldNotInteger",
    json: `{"optionalUint64": "0.5"}`,
    message: /^optionalUint64: expected uint64, got string "0.5"$/,
  },
  {
    name: "Int32FieldNotNumber",
    json: `{"optionalInt32": "3x3"}`,
    message: /^optionalInt32: expected int32, got string "3x3"$/,
  },
  {
    name: "Int64FieldNotNumber",
    json: `{"optionalInt64": "3x3"}`,
    message: /^optionalInt64: expected int64, got string "3x3"$/,
  },
  {
    name: "Int32FieldLeadingSpace",
    json: `{"optionalInt32": " 1"}`,
    message: /^optionalInt32: expected int32, got string " 1"$/,
  },
  {
    name: "Int32FieldTrailingSpace",
    json: `{"optionalInt32": "1 "}`,
    message: /^optionalInt32: expected int32, got string "1 "$/,
  },
  {
    name: "Int32FieldBool",
    json: `{"optionalInt32": true}`,
    message: /^optionalInt32: expected int32, got boolean true$/,
  },
  {
    name: "BoolFieldIntegerZero",
    json: `{"optionalBool":0}`,
    message: /^optionalBool: expected bool, got number 0$/,
  },
  {
    name: "BoolFieldDoubleQuotedTrue",
    json: `{"optionalBool":"true"}`,
    message: /^optionalBool: expected bool, got string "true"$/,
  },
  {
    name: "FloatFieldTooSmall",
    json: `{"optionalFloat": -3.502823e+38}`,
    message: /^optionalFloat: number -3.502823e\+38 is out of range for float$/,
  },
  {
    name: "FloatFieldTooLarge",
    json: `{"optionalFloat": 3.502823e+38}`,
    message: /^optionalFloat: number 3.502823e\+38 is out of range for float$/,
  },
  {
    name: "FloatFieldBadString",
    json: `{"optionalFloat": "nan"}`,
    message: /^optionalFloat: expected float, got string "nan"$/,
  },
  {
    name: "DoubleFieldTooSmall",
    json: `{"optionalDouble": -1.89769e+308}`,
    message: /^optionalDouble: number out of range for double$/,
  },
  // Strings, bytes, enums.
  {
    name: "StringFieldUnpairedHighSurrogate",
    json: `{"optionalString": "\\uD800"}`,
    message: /^optionalString: string ".*" holds an unpaired UTF-16 surrogate$/,
  },
  {
    name: "StringFieldUnpairedLowSurrogate",
    json: `{"optionalString": "\\uDC00"}`,
    message: /unpaired UTF-16 surrogate/,
  },
  {
    name: "StringFieldSurrogateInWrongOrder",
    json: `{"optionalString": "\\uDE01\\uD83D"}`,
    message: /unpaired UTF-16 surrogate/,
  },
  {
    name: "StringFieldNotAString",
    json: `{"optionalString": 12345}`,
    message: /^optionalString: expected string, got number 12345$/,
  },
  {
    name: "BytesFieldInvalidCharacters",
    json: `{"optionalBytes": "!!"}`,
    message: /^optionalBytes: invalid base64 "!!"$/,
    lax: true,
  },
  {
    name: "BytesFieldBadLength",
    json: `{"optionalBytes": "A"}`,
    message: /^optionalBytes: invalid base64 "A"$/,
    lax: true,
  },
  {
    name: "BytesFieldBadPadding",
    json: `{"optionalBytes": "AQ="}`,
    message: /^optionalBytes: invalid base64 "AQ="$/,
    lax: true,
  },
  {
    name: "BytesFieldNumber",
    json: `{"optionalBytes": 1}`,
    message: /^optionalBytes: expected base64 string \(bytes\), got number 1$/,
  },
  {
    name: "RejectUnknownEnumStringValueInOptionalField",
    json: `{"optional_nested_enum": "UNKNOWN_ENUM_VALUE"}`,
    message: new RegExp(
      `^optional_nested_enum: unknown value "UNKNOWN_ENUM_VALUE" for enum ${T3}.NestedEnum$`,
    ),
  },
  {
    name: "RejectUnknownEnumStringValueInRepeatedField",
    json: `{"repeated_nested_enum": ["FOO", "UNKNOWN_ENUM_VALUE"]}`,
    message: /^repeated_nested_enum\[1\]: unknown value "UNKNOWN_ENUM_VALUE"/,
  },
  {
    name: "RejectUnknownEnumStringValueInMapValue",
    json: `{"map_string_nested_enum": {"key": "UNKNOWN_ENUM_VALUE"}}`,
    message: /^map_string_nested_enum\["key"\]: unknown value "UNKNOWN_ENUM_VALUE"/,
  },
  {
    name: "EnumNotInteger",
    json: `{"optionalNestedEnum": 1.5}`,
    message: /^optionalNestedEnum: number 1.5 is not a valid enum number/,
  },
  {
    name: "EnumWrongType",
    json: `{"optionalNestedEnum": true}`,
    message: /^optionalNestedEnum: expected .*NestedEnum \(enum name or number\), got boolean true$/,
  },
];

describeRejectCorpus("TestAllTypesProto3 corpus: rejections (syntax, scalars)", testAllTypesProto3(), CASES);
