import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { codecWith, describeRejectCorpus, type RejectCase, rejection } from "./test-oracle.test-helper.js";
import { bookType, testAllTypesProto2, testAllTypesProto3 } from "./test-schemas.test-helper.js";

/** Rejections, continued (see corpus-rejections.test.ts): structure, nesting, well-known types, paths. */

const T3 = "protobuf_test_messages.proto3.TestAllTypesProto3";
const nest = (n: number) => `${'{"recursiveMessage":'.repeat(n)}{}${"}".repeat(n)}`;

const CASES: RejectCase[] = [
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
    // Two messages (Value → ListValue) per JSON level: the message limit, shared with the decoder, comes first.
    message: /^optionalValue(\[0\])+.*: messages nested deeper than 100 levels$/,
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

describeRejectCorpus(
  "TestAllTypesProto3 corpus: rejections (structure, well-known types)",
  testAllTypesProto3(),
  CASES,
);

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
