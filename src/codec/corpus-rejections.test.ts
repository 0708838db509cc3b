import assert from "node:assert/strict";
import { describe, it } from "node:test";
import protojson from "protobufjs/ext/protojson.js";
import { codecWith, rejection } from "./test-oracle.js";
import { bookType, testAllTypesProto2, testAllTypesProto3 } from "./test-schemas.js";

/**
 * Rejections: every one is a GatewayError INVALID_ARGUMENT whose message starts with the JSON path and
 * says what is wrong. Cases after the conformance suite's ExpectParseFailureForJson tests, and more.
 * `lax`: ext/protojson accepts this input (Refract is stricter, deliberately).
 */

interface RejectCase {
  readonly name: string;
  readonly json: string;
  readonly message: RegExp;
  readonly lax?: boolean;
}

const T3 = "protobuf_test_messages.proto3.TestAllTypesProto3";
const nest = (n: number) => `${'{"recursiveMessage":'.repeat(n)}{}${"}".repeat(n)}`;

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
  // Structure.
  { name: "RejectTopLevelNull", json: "null", message: new RegExp(`^expected object for ${T3}, got null$`) },
  { name: "RejectTopLevelArray", json: "[]", message: new RegExp(`^expected object for ${T3}, got array$`) },
  { name: "UnknownField", json: `{"foo": 1}`, message: new RegExp(`^unknown field "foo" in ${T3}$`) },
  {
    name: "UnknownFieldNested",
    json: `{"repeatedNestedMessage": [{"a": 1}, {"b": 2}]}`,
    message: new RegExp(`^repeatedNestedMessage\\[1\\]: unknown field "b" in ${T3}.NestedMessage$`),
  },
  {
    name: "OneofFieldDuplicate",
    json: `{"oneofUint32": 1, "oneofString": "test"}`,
    message: /^oneof "oneof_field" has two members set: "oneofUint32" and "oneofString"$/,
  },
  {
    name: "OneofFieldNullValueCounts",
    json: `{"oneofNullValue": null, "oneofString": "x"}`,
    message: /^oneof "oneof_field" has two members set/,
  },
  {
    name: "MessageFieldWrongType",
    json: `{"optionalNestedMessage": 5}`,
    message: new RegExp(`^optionalNestedMessage: expected object for ${T3}.NestedMessage, got number 5$`),
  },
  {
    name: "RepeatedFieldNotArray",
    json: `{"repeatedInt32": 1}`,
    message: /^repeatedInt32: expected array, got number 1$/,
  },
  {
    name: "MapFieldNotObject",
    json: `{"mapInt32Int32": [1]}`,
    message: /^mapInt32Int32: expected object \(map\), got array$/,
  },
  {
    name: "RepeatedFieldWrongElementTypeExpectingIntegersGotBool",
    json: `{"repeatedInt32": [1, false, 3, 4]}`,
    message: /^repeatedInt32\[1\]: expected int32, got boolean false$/,
  },
  {
    name: "RepeatedFieldWrongElementTypeExpectingIntegersGotString",
    json: `{"repeatedInt32": [1, 2, "name", 4]}`,
    message: /^repeatedInt32\[2\]: expected int32, got string "name"$/,
  },
  {
    name: "RepeatedFieldWrongElementTypeExpectingIntegersGotMessage",
    json: `{"repeatedInt32": [1, 2, 3, {"a": 4}]}`,
    message: /^repeatedInt32\[3\]: expected int32, got object$/,
  },
  {
    name: "RepeatedFieldWrongElementTypeExpectingStringsGotInt",
    json: `{"repeatedString": ["1", 2, "3", "4"]}`,
    message: /^repeatedString\[1\]: expected string, got number 2$/,
  },
  {
    name: "RepeatedFieldWrongElementTypeExpectingMessagesGotInt",
    json: `{"repeatedNestedMessage": [{"a": 1}, 2]}`,
    message: /^repeatedNestedMessage\[1\]: expected object for .*NestedMessage, got number 2$/,
  },
  {
    name: "RepeatedFieldPrimitiveElementIsNull",
    json: `{"repeatedInt32": [1, null, 2]}`,
    message: /^repeatedInt32\[1\]: expected int32, got null$/,
  },
  {
    name: "RepeatedFieldMessageElementIsNull",
    json: `{"repeatedNestedMessage": [{"a":1}, null, {"a":2}]}`,
    message: /^repeatedNestedMessage\[1\]: expected object for .*, got null$/,
  },
  {
    name: "MapFieldValueIsNull",
    json: `{"mapInt32Int32": {"0": null}}`,
    message: /^mapInt32Int32\["0"\]: expected int32, got null$/,
  },
  {
    name: "MapKeyNotInteger",
    json: `{"mapInt32Int32": {"a": 1}}`,
    message: /^mapInt32Int32\["a"\]: invalid int32 map key "a"$/,
    lax: false,
  },
  {
    name: "MapKeyLeadingZero",
    json: `{"mapInt64Int64": {"01": 1}}`,
    message: /^mapInt64Int64\["01"\]: invalid int64 map key "01"$/,
    lax: true,
  },
  {
    name: "MapKeyOutOfRange",
    json: `{"mapInt32Int32": {"2147483648": 1}}`,
    message: /^mapInt32Int32\["2147483648"\]: string "2147483648" is out of range for int32$/,
  },
  {
    name: "MapKeyNegativeUnsigned",
    json: `{"mapUint64Uint64": {"-1": 1}}`,
    message: /^mapUint64Uint64\["-1"\]: invalid uint64 map key "-1"$/,
  },
  {
    name: "MapKeyBool",
    json: `{"mapBoolBool": {"yes": true}}`,
    message: /^mapBoolBool\["yes"\]: invalid bool map key "yes"/,
  },
  {
    name: "NestingTooDeep",
    json: nest(64),
    message: /^recursiveMessage\.recursiveMessage.*\(\d+ more\).*: JSON nesting deeper than 64 levels$/,
    lax: true,
  },
  {
    name: "ValueNestingTooDeep",
    json: `{"optionalValue": ${"[".repeat(70)}${"]".repeat(70)}}`,
    message: /^optionalValue(\[0\])+.*: JSON nesting deeper than 64 levels$/,
    lax: true,
  },
  // Well-known types.
  {
    name: "DurationMissingS",
    json: `{"optionalDuration": "1"}`,
    message: /^optionalDuration: invalid duration "1"/,
  },
  {
    name: "DurationJsonInputTooSmall",
    json: `{"optionalDuration": "-315576000001.000000000s"}`,
    message: /^optionalDuration: duration "-315576000001.000000000s" is out of range$/,
  },
  {
    name: "DurationJsonInputTooLarge",
    json: `{"optionalDuration": "315576000001.000000000s"}`,
    message: /^optionalDuration: duration .* is out of range$/,
  },
  {
    name: "DurationNotString",
    json: `{"optionalDuration": 1}`,
    message: /^optionalDuration: expected duration string .*, got number 1$/,
  },
  {
    name: "TimestampJsonInputTooSmall",
    json: `{"optionalTimestamp": "0000-01-01T00:00:00Z"}`,
    message: /^optionalTimestamp: timestamp "0000-01-01T00:00:00Z" is out of range/,
  },
  {
    name: "TimestampJsonInputTooLarge",
    json: `{"optionalTimestamp": "10000-01-01T00:00:00Z"}`,
    message: /^optionalTimestamp: invalid timestamp "10000-01-01T00:00:00Z"/,
  },
  {
    name: "TimestampJsonInputMissingZ",
    json: `{"optionalTimestamp": "0001-01-01T00:00:00"}`,
    message: /^optionalTimestamp: invalid timestamp/,
  },
  {
    name: "TimestampJsonInputMissingT",
    json: `{"optionalTimestamp": "0001-01-01 00:00:00Z"}`,
    message: /^optionalTimestamp: invalid timestamp/,
  },
  {
    name: "TimestampJsonInputLowercaseZ",
    json: `{"optionalTimestamp": "0001-01-01T00:00:00z"}`,
    message: /^optionalTimestamp: invalid timestamp/,
  },
  {
    name: "TimestampJsonInputLowercaseT",
    json: `{"optionalTimestamp": "0001-01-01t00:00:00Z"}`,
    message: /^optionalTimestamp: invalid timestamp/,
  },
  {
    name: "TimestampBadMonth",
    json: `{"repeatedTimestamp": ["2024-01-01T00:00:00Z", "2024-13-01T00:00:00Z"]}`,
    message: /^repeatedTimestamp\[1\]: invalid timestamp "2024-13-01T00:00:00Z"/,
  },
  {
    name: "TimestampBadDay",
    json: `{"optionalTimestamp": "2023-02-29T00:00:00Z"}`,
    message: /^optionalTimestamp: invalid timestamp/,
  },
  {
    name: "TimestampTooManyDigits",
    json: `{"optionalTimestamp": "2023-02-01T00:00:00.1234567890Z"}`,
    message: /^optionalTimestamp: invalid timestamp/,
  },
  {
    name: "FieldMaskInvalidCharacter",
    json: `{"optionalFieldMask": "foo,bar_bar"}`,
    message: /^optionalFieldMask: invalid field mask path "bar_bar" \(JSON uses lowerCamelCase\)$/,
  },
  {
    name: "StructNotObject",
    json: `{"optionalStruct": [1]}`,
    message: /^optionalStruct: expected object for google.protobuf.Struct, got array$/,
  },
  {
    name: "ValueNumberOverflow",
    json: `{"optionalValue": {"a": [1e400]}}`,
    message: /^optionalValue\["a"\]\[0\]: number out of range for google.protobuf.Value$/,
  },
  {
    name: "ListValueNotArray",
    json: `{"repeatedListValue": [{}]}`,
    message: /^repeatedListValue\[0\]: expected array for google.protobuf.ListValue, got object$/,
  },
  {
    name: "WrapperWrongType",
    json: `{"optionalInt32Wrapper": "x"}`,
    message: /^optionalInt32Wrapper: expected int32, got string "x"$/,
  },
  {
    name: "AnyUnknownType",
    json: `{"optionalAny": {"@type": "type.googleapis.com/foo.Bar"}}`,
    message: /^optionalAny: unknown message type in "@type": "type.googleapis.com\/foo.Bar"$/,
  },
  {
    name: "AnyMissingType",
    json: `{"optionalAny": {"optionalInt32": 1}}`,
    message: /^optionalAny: google.protobuf.Any needs "@type"/,
    lax: true,
  },
  {
    name: "AnyTypeNotString",
    json: `{"optionalAny": {"@type": 1}}`,
    message: /^optionalAny\.@type: expected type URL string, got number 1$/,
  },
  {
    name: "AnyInnerError",
    json: `{"optionalAny": {"@type": "type.googleapis.com/${T3}", "optionalInt32": "x"}}`,
    message: /^optionalAny\.optionalInt32: expected int32, got string "x"$/,
  },
  {
    name: "AnyInnerUnknownField",
    json: `{"optionalAny": {"@type": "type.googleapis.com/${T3}", "nope": 1}}`,
    message: new RegExp(`^optionalAny: unknown field "nope" in ${T3}$`),
  },
  {
    name: "AnyWktExtraField",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s", "x": 1}}`,
    message: /^optionalAny: unknown field "x" in google.protobuf.Any holding google.protobuf.Duration$/,
    lax: true,
  },
  {
    name: "AnyWktBadValue",
    json: `{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1"}}`,
    message: /^optionalAny\.value: invalid duration "1"/,
  },
];

describe("TestAllTypesProto3 corpus: rejections", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type);
  for (const c of CASES) {
    it(c.name, () => {
      assert.match(
        rejection(() => codec.jsonToBinary(c.json)),
        c.message,
      );
      assert.match(
        rejection(() => codec.bytesToBinary(Buffer.from(c.json))),
        c.message,
      );
      if (c.lax !== true) {
        assert.throws(() => protojson.fromJsonString(type, c.json), Error, "the reference rejects it too");
      }
    });
  }
});

describe("rejections on the library schema (paths as clients see them)", () => {
  const codec = codecWith(bookType());
  const items = (fourth: object) => JSON.stringify({ items: [{}, {}, {}, fourth] });
  it("names the element and field of a bad timestamp", () => {
    assert.equal(
      rejection(() => codec.jsonToBinary(items({ createdAt: "2024-13-01" }))),
      'items[3].createdAt: invalid timestamp "2024-13-01" (expected RFC 3339 like "2024-01-31T12:00:00Z")',
    );
  });
  it("names a nested field with a wrong type", () => {
    assert.equal(
      rejection(() => codec.jsonToBinary(`{"author": {"birthYear": "abc"}}`)),
      'author.birthYear: expected int32, got string "abc"',
    );
  });
  it("names a map entry", () => {
    assert.equal(
      rejection(() => codec.jsonToBinary(`{"labels": {"x": 1}}`)),
      'labels["x"]: expected string, got number 1',
    );
  });
  it("names the message of an unknown field", () => {
    assert.equal(
      rejection(() => codec.jsonToBinary(`{"name": "n", "foo": true}`)),
      'unknown field "foo" in acme.library.v1.Book',
    );
    assert.equal(
      rejection(() => codec.jsonToBinary(items({ sku: "a", colour: "red" }))),
      'items[3]: unknown field "colour" in acme.library.v1.Item',
    );
  });
  it("keeps the path the client used (proto names too)", () => {
    assert.equal(
      rejection(() => codec.jsonToBinary(`{"created_at": "yesterday"}`)),
      'created_at: invalid timestamp "yesterday" (expected RFC 3339 like "2024-01-31T12:00:00Z")',
    );
  });
  it("rejects a value given for a closed (proto2) enum that it does not define", () => {
    const proto2 = codecWith(testAllTypesProto2());
    assert.match(
      rejection(() => proto2.jsonToBinary(`{"optionalNestedEnum": 99}`)),
      /^optionalNestedEnum: unknown number 99 for closed enum/,
    );
  });
  it("shortens long values quoted in messages", () => {
    const message = rejection(() => codec.jsonToBinary(JSON.stringify({ pages: "x".repeat(500) })));
    assert.ok(message.length < 120, message);
  });
});
