import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_JSON_OPTIONS } from "./codec.js";
import { createMessageCodec } from "./json-codec.js";
import { resolveJsonOptions } from "./options.js";
import { codecWith, rejection } from "./test-oracle.test-helper.js";
import { bookType, testAllTypesProto3 } from "./test-schemas.test-helper.js";

describe("resolveJsonOptions", () => {
  it("fills the documented defaults", () => {
    assert.deepStrictEqual(resolveJsonOptions(), {
      emitUnpopulated: true,
      useProtoNames: false,
      enumsAsInts: false,
      discardUnknownFields: false,
      maxDepth: 64,
    });
    assert.deepStrictEqual(resolveJsonOptions({ useProtoNames: true, maxDepth: undefined }), {
      ...DEFAULT_JSON_OPTIONS,
      useProtoNames: true,
    });
  });

  it("names every bad option", () => {
    assert.throws(
      () => resolveJsonOptions({ emitUnpopulated: "yes" as unknown as boolean, maxDepth: 0 }),
      /invalid JSON options: emitUnpopulated must be a boolean; maxDepth must be an integer from 1 to 1000, got 0/,
    );
    assert.throws(
      () => createMessageCodec(bookType(), { ...DEFAULT_JSON_OPTIONS, maxDepth: 1.5 }),
      /maxDepth/,
    );
  });
});

// An empty Book, every option combination. Unset singular messages render as null (grpc-gateway's
// choice: every key present, and null reads back as unset); proto3 `optional` (subtitle) and oneof
// members (ebookUrl, printRun) appear only when set.
const EMPTY_BOOK = {
  name: "",
  id: "0",
  pages: 0,
  available: false,
  price: 0,
  genre: "GENRE_UNSPECIFIED",
  tags: [],
  author: null,
  labels: {},
  cover: "",
  createdAt: null,
  description: "",
  items: [],
  editions: {},
  flags: {},
  isbn: "0",
  rating: 0,
};

const PROTO_NAMES: Record<string, string> = { createdAt: "created_at" };

describe("output options on acme.library.v1.Book", () => {
  const type = bookType();
  const empty = new Uint8Array(0);

  it("emitUnpopulated (default): every field with its default, in declaration order", () => {
    const json = codecWith(type).binaryToJson(empty);
    assert.equal(json, JSON.stringify(EMPTY_BOOK));
  });

  it("useProtoNames and enumsAsInts", () => {
    const expected = Object.fromEntries(
      Object.entries(EMPTY_BOOK).map(([k, v]) => [PROTO_NAMES[k] ?? k, k === "genre" ? 0 : v]),
    );
    assert.equal(
      codecWith(type, { useProtoNames: true, enumsAsInts: true }).binaryToJson(empty),
      JSON.stringify(expected),
    );
  });

  it("emitUnpopulated=false leaves out everything unset", () => {
    assert.equal(codecWith(type, { emitUnpopulated: false }).binaryToJson(empty), "{}");
  });

  it("set fields render the same with or without emitUnpopulated", () => {
    const input = {
      name: "n",
      subtitle: "",
      printRun: 0,
      author: {},
      items: [{ sku: "s", createdAt: "2024-01-01T00:00:00Z" }],
      labels: { a: "" },
      genre: "GENRE_SCIENCE",
    };
    const bytes = codecWith(type).jsonToBinary(JSON.stringify(input));
    const sparse = JSON.parse(codecWith(type, { emitUnpopulated: false }).binaryToJson(bytes));
    assert.deepStrictEqual(sparse, {
      ...input,
      author: {},
      items: [{ sku: "s", createdAt: "2024-01-01T00:00:00Z" }],
    });
    const full = JSON.parse(codecWith(type).binaryToJson(bytes));
    assert.deepStrictEqual(full.author, { displayName: "", email: "", birthYear: 0 });
    assert.equal(full.subtitle, "");
    assert.equal(full.printRun, 0);
    assert.equal("ebookUrl" in full, false);
    assert.equal(full.items[0].genre, "GENRE_UNSPECIFIED");
    assert.deepStrictEqual(full.items[0].notes, []);
    assert.equal(full.items[0].quantity, "0");
  });

  it("an unset google.protobuf.Value is omitted (null would read back as a set Value)", () => {
    const json = JSON.parse(codecWith(testAllTypesProto3()).binaryToJson(new Uint8Array(0)));
    assert.equal("optionalValue" in json, false);
    assert.equal(json.optionalStruct, null);
    assert.equal(json.optionalTimestamp, null);
    assert.equal(json.optionalInt32Wrapper, null);
    assert.equal(json.optionalNullValue, null);
    assert.deepStrictEqual(json.repeatedValue, []);
    assert.equal("oneofUint32" in json, false);
  });
});

describe("input options", () => {
  const type = bookType();
  it("accepts json_name and proto names whatever useProtoNames says", () => {
    for (const useProtoNames of [true, false]) {
      const codec = codecWith(type, { useProtoNames, emitUnpopulated: false });
      const a = codec.jsonToBinary(`{"createdAt": "2024-01-01T00:00:00Z", "author": {"display_name": "x"}}`);
      const b = codec.jsonToBinary(`{"created_at": "2024-01-01T00:00:00Z", "author": {"displayName": "x"}}`);
      assert.deepStrictEqual(a, b);
    }
  });

  it("accepts enum names and numbers whatever enumsAsInts says", () => {
    const codec = codecWith(type, { enumsAsInts: true, emitUnpopulated: false });
    assert.deepStrictEqual(
      codec.jsonToBinary(`{"genre": "GENRE_SCIENCE"}`),
      codec.jsonToBinary(`{"genre": 2}`),
    );
    assert.equal(codec.binaryToJson(codec.jsonToBinary(`{"genre": "GENRE_SCIENCE"}`)), `{"genre":2}`);
  });

  it("rejects unknown fields by default and drops them with discardUnknownFields", () => {
    const body = `{"name": "n", "shelf": {"row": 3}}`;
    assert.equal(
      rejection(() => codecWith(type).jsonToBinary(body)),
      'unknown field "shelf" in acme.library.v1.Book',
    );
    const lenient = codecWith(type, { discardUnknownFields: true, emitUnpopulated: false });
    assert.equal(lenient.binaryToJson(lenient.jsonToBinary(body)), `{"name":"n"}`);
  });

  it("maxDepth counts every JSON object and array level", () => {
    const codec = codecWith(type, { maxDepth: 3 });
    codec.jsonToBinary(`{"items": [{"sku": "a"}]}`); // object, array, object: 3 levels
    assert.equal(
      rejection(() => codec.jsonToBinary(`{"items": [{"notes": []}]}`)),
      "items[0].notes: JSON nesting deeper than 3 levels",
    );
    assert.match(
      rejection(() => codec.valueToBinary({ items: [{ notes: [] }] })),
      /JSON nesting deeper than 3 levels$/,
    );
    assert.match(
      rejection(() =>
        codecWith(type, { maxDepth: 2, discardUnknownFields: true }).jsonToBinary(`{"x": {"y": {}}}`),
      ),
      /^x\.y: JSON nesting deeper than 2 levels$/,
    );
  });
});
