import assert from "node:assert/strict";
import { describe, it } from "node:test";
import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { GatewayError } from "../errors.js";
import { DEFAULT_JSON_OPTIONS } from "./codec.js";
import { createMessageCodec } from "./json-codec.js";
import { codecWith, rejection } from "./test-oracle.test-helper.js";
import { bookType, libraryRoot, testAllTypesProto3 } from "./test-schemas.test-helper.js";

describe("createMessageCodec", () => {
  const codec = codecWith(bookType(), { emitUnpopulated: false });

  it("names its type", () => {
    assert.equal(codec.typeName, "acme.library.v1.Book");
  });

  it("an empty or blank body is the empty message", () => {
    assert.equal(codec.jsonToBinary("").length, 0);
    assert.equal(codec.jsonToBinary(" \n\t\r ").length, 0);
    assert.equal(codec.bytesToBinary(new Uint8Array(0)).length, 0);
    assert.equal(codec.valueToBinary(undefined).length, 0);
  });

  it("bytesToBinary takes raw UTF-8 (a BOM is tolerated) and reports invalid UTF-8 with its offset", () => {
    const body = Buffer.from(`{"name": "Łódź"}`);
    assert.deepStrictEqual(codec.bytesToBinary(body), codec.jsonToBinary(`{"name": "Łódź"}`));
    assert.deepStrictEqual(
      codec.bytesToBinary(Buffer.concat([Uint8Array.of(0xef, 0xbb, 0xbf), body])),
      codec.bytesToBinary(body),
    );
    const bad = Buffer.concat([Buffer.from(`{"name": "ab`), Uint8Array.of(0xc3, 0x28), Buffer.from(`"}`)]);
    assert.equal(
      rejection(() => codec.bytesToBinary(bad)),
      "request body is not valid UTF-8 (first bad byte at offset 12)",
    );
    for (const seq of [[0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xff]]) {
      assert.match(
        rejection(() => codec.bytesToBinary(Uint8Array.of(0x22, ...seq, 0x22))),
        /offset 1\)$/,
      );
    }
  });

  it("valueToBinary takes an already-parsed value (path and query bindings merged in)", () => {
    const bytes = codec.valueToBinary({
      name: "shelves/1/books/2",
      pages: "300",
      id: 42,
      genre: 1,
      available: true,
    });
    assert.equal(
      codec.binaryToJson(bytes),
      `{"name":"shelves/1/books/2","id":"42","pages":300,"available":true,"genre":"GENRE_FICTION"}`,
    );
    assert.equal(
      rejection(() => codec.valueToBinary({ pages: "many" })),
      'pages: expected int32, got string "many"',
    );
    assert.equal(
      rejection(() => codec.valueToBinary("x")),
      'expected object for acme.library.v1.Book, got string "x"',
    );
  });

  it("fieldToJson returns a fresh text each time", () => {
    const bytes = codec.jsonToBinary(`{"tags": ["a"], "author": {"displayName": "x"}}`);
    const first = JSON.parse(codec.fieldToJson(bytes, "tags")) as string[];
    first.push("mutated");
    assert.deepStrictEqual(JSON.parse(codec.fieldToJson(bytes, "tags")), ["a"]);
  });

  it("every rejection is a GatewayError (400, INVALID_ARGUMENT) with the cause kept for logs", () => {
    try {
      codec.jsonToBinary(`{"pages": true}`);
      assert.fail("accepted");
    } catch (error) {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.code, 3);
      assert.equal(error.httpStatus, 400);
      assert.ok(error.cause instanceof Error);
      assert.deepStrictEqual(error.toStatusBody(), {
        code: 3,
        message: "pages: expected int32, got boolean true",
        details: [],
      });
    }
  });

  it("keys named __proto__ are data, never a prototype", () => {
    assert.equal(
      rejection(() => codec.jsonToBinary(`{"__proto__": {"name": "x"}}`)),
      'unknown field "__proto__" in acme.library.v1.Book',
    );
    const bytes = codec.jsonToBinary(`{"labels": {"__proto__": "p", "a": "b"}}`);
    const value = JSON.parse(codec.binaryToJson(bytes)) as { labels: Record<string, string> };
    assert.equal(Object.getPrototypeOf(value.labels), Object.prototype);
    assert.deepStrictEqual(Object.keys(value.labels), ["__proto__", "a"]);
    assert.equal(codec.binaryToJson(bytes), `{"labels":{"__proto__":"p","a":"b"}}`);
  });

  it("ignores enumerable properties added to Object.prototype by someone else", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = "x";
    try {
      assert.equal(codec.binaryToJson(codec.jsonToBinary(`{"name": "n"}`)), `{"name":"n"}`);
    } finally {
      delete proto.injected;
    }
  });

  it("stays correct across a large request (the writer grows, then is dropped)", () => {
    const big = { description: "x".repeat(200_000), tags: Array.from({ length: 2000 }, (_, i) => `t${i}`) };
    const out = JSON.parse(codec.binaryToJson(codec.jsonToBinary(JSON.stringify(big))));
    assert.deepStrictEqual(out, big);
    assert.equal(codec.binaryToJson(codec.jsonToBinary(`{"name": "small"}`)), `{"name":"small"}`);
  });

  it("keeps working after a rejection in the middle of a message", () => {
    rejection(() => codec.jsonToBinary(`{"name": "a", "items": [{"sku": "x"}, {"quantity": "lots"}]}`));
    assert.equal(codec.binaryToJson(codec.jsonToBinary(`{"name": "b"}`)), `{"name":"b"}`);
  });

  it("resolves Any types through extras.resolveType when given", () => {
    const type = testAllTypesProto3();
    const calls: string[] = [];
    const custom = createMessageCodec(
      type,
      { ...DEFAULT_JSON_OPTIONS, emitUnpopulated: false },
      {
        resolveType: (name) => {
          calls.push(name);
          return name === "acme.library.v1.Author" ? libraryRoot().lookupType(name) : undefined;
        },
      },
    );
    const json = `{"optionalAny":{"@type":"type.googleapis.com/acme.library.v1.Author","displayName":"U"}}`;
    assert.equal(custom.binaryToJson(custom.jsonToBinary(json)), json);
    assert.ok(calls.includes("acme.library.v1.Author"));
    // Without it, the codec's own root is searched (and knows nothing of acme).
    assert.match(
      rejection(() => codecWith(type).jsonToBinary(json)),
      /^optionalAny: unknown message type in "@type"/,
    );
  });

  it("works on a schema rebuilt from descriptors (as the gateway's reflection builds them)", () => {
    const parsed = protobuf.parse(
      `syntax = "proto3"; package t; message M { int64 big_id = 1 [json_name = "bigID"]; map<int64, bool> seen = 2; optional string note = 3; }`,
      { keepCase: true },
    ).root;
    const root = protobuf.Root.fromDescriptor(parsed.toDescriptor("proto3"));
    root.resolveAll();
    const codec = codecWith(root.lookupType("t.M"), { emitUnpopulated: false });
    assert.equal(
      codecWith(root.lookupType("t.M")).binaryToJson(new Uint8Array(0)),
      `{"bigID":"0","seen":{}}`,
    );
    const json = `{"bigID":"-9223372036854775808","seen":{"-1":true,"9007199254740993":false}}`;
    assert.equal(codec.binaryToJson(codec.jsonToBinary(json)), json);
    assert.equal(codec.binaryToJson(codec.jsonToBinary(`{"big_id": "1"}`)), `{"bigID":"1"}`);
  });
});
