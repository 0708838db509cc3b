import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_JSON_OPTIONS } from "./codec.js";
import { MAX_MESSAGE_DEPTH } from "./decode.js";
import { createMessageCodec } from "./json-codec.js";
import { testAllTypesProto3 } from "./test-schemas.test-helper.js";

// Issue 13: `{"optionalValue": [[[…]]]}` of 51–63 levels passed the JSON depth limit, was sent, and the
// backend's echo of those same bytes failed to decode (500, blamed on the backend). One rule both ways:
// whatever a request may carry, a response may carry too.

const ANY_VALUE = "type.googleapis.com/google.protobuf.Value";
const ANY_STRUCT = "type.googleapis.com/google.protobuf.Struct";

/** JSON documents of TestAllTypesProto3 nesting `n` times in each of the ways messages can nest. */
const SHAPES: Record<string, (n: number) => string> = {
  "Value lists": (n) => `{"optionalValue": ${"[".repeat(n)}${"]".repeat(n)}}`,
  "Value lists around a number": (n) => `{"optionalValue": ${"[".repeat(n)}1${"]".repeat(n)}}`,
  "Value structs": (n) => `{"optionalValue": ${'{"a":'.repeat(n)}{}${"}".repeat(n)}}`,
  "Struct field": (n) => `{"optionalStruct": ${'{"a":'.repeat(n)}true${"}".repeat(n)}}`,
  "ListValue in Struct": (n) => `{"optionalStruct": {"a": ${"[".repeat(n)}"x"${"]".repeat(n)}}}`,
  "recursive messages": (n) => `{${'"recursiveMessage":{'.repeat(n)}"optionalInt32":1${"}".repeat(n)}}`,
  "Any of Value": (n) =>
    `{"optionalAny": {"@type": "${ANY_VALUE}", "value": ${"[".repeat(n)}${"]".repeat(n)}}}`,
  "Any of Struct": (n) =>
    `{"optionalAny": {"@type": "${ANY_STRUCT}", "value": ${'{"a":'.repeat(n)}1${"}".repeat(n)}}}`,
  "repeated Values": (n) => `{"repeatedValue": [${"[".repeat(n)}${"]".repeat(n)}]}`,
  "maps of messages": (n) =>
    `{${'"mapStringNestedMessage":{"k":{"corecursive":{'.repeat(n)}${"}}}".repeat(n)}}`,
};

describe("one nesting rule for requests and responses", () => {
  const codec = createMessageCodec(testAllTypesProto3(), { ...DEFAULT_JSON_OPTIONS, maxDepth: 1000 });

  for (const [shape, make] of Object.entries(SHAPES)) {
    it(`${shape}: every accepted request decodes again, up to the first rejected depth`, () => {
      let accepted = 0;
      let rejected = 0;
      for (let n = 1; n <= 2 * MAX_MESSAGE_DEPTH + 5; n++) {
        let bytes: Uint8Array;
        try {
          bytes = codec.jsonToBinary(make(n));
        } catch (error) {
          assert.match(
            (error as Error).message,
            new RegExp(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels$`),
            `${shape} at ${n}`,
          );
          rejected++;
          continue;
        }
        assert.equal(rejected, 0, `${shape}: depth ${n} accepted after a smaller depth was rejected`);
        // The backend echoes the request: decoding it must work, and give back what was sent.
        assert.doesNotThrow(() => codec.binaryToJson(bytes), `${shape} at ${n}`);
        assert.deepEqual(codec.jsonToBinary(codec.binaryToJson(bytes)), bytes, `${shape} at ${n}`);
        accepted++;
      }
      assert.ok(accepted > 0 && rejected > 0, `${shape}: both sides of the limit were reached`);
    });
  }

  it("a list Value of 50 levels is accepted and 51 is a 400 naming the limit at the request", () => {
    const defaults = createMessageCodec(testAllTypesProto3(), DEFAULT_JSON_OPTIONS);
    const bytes = defaults.jsonToBinary(SHAPES["Value lists"]!(50));
    assert.doesNotThrow(() => defaults.binaryToJson(bytes));
    assert.throws(
      () => defaults.jsonToBinary(SHAPES["Value lists"]!(51)),
      (error: Error & { code?: number }) =>
        error.code === 3 &&
        /^optionalValue\[0\].*: messages nested deeper than 100 levels$/.test(error.message),
    );
  });
});
