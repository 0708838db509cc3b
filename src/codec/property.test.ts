import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import protojson from "protobufjs/ext/protojson.js";
import { GatewayError } from "../errors.js";
import { messagePlan } from "./plan.js";
import { messageBytesArbitrary } from "./test-arbitraries.test-helper.js";
import { assertSameMessage, codecWith, outputOptionMatrix, rejection } from "./test-oracle.test-helper.js";
import { bookType, testAllTypesProto2, testAllTypesProto3 } from "./test-schemas.test-helper.js";

/**
 * Property tests over random messages of the corpus types (encoded by protobufjs, not by the codec):
 * bytes → JSON → bytes keeps the message, for every option combination; and the JSON the codec prints
 * is read back by ext/protojson (the reference) as the same message.
 */

const RUNS = Number(process.env.CODEC_PROPERTY_RUNS ?? 100);
const TYPES = [
  ["TestAllTypesProto3", testAllTypesProto3()],
  ["TestAllTypesProto2", testAllTypesProto2()],
  ["acme.library.v1.Book", bookType()],
] as const;

describe("random messages survive bytes → JSON → bytes", () => {
  for (const [name, type] of TYPES) {
    it(name, () => {
      const codecs = outputOptionMatrix().map((options) => codecWith(type, options));
      fc.assert(
        fc.property(
          messageBytesArbitrary(type),
          fc.integer({ min: 0, max: codecs.length - 1 }),
          (bytes, pick) => {
            const codec = codecs[pick]!;
            const json = codec.binaryToJson(bytes);
            assertSameMessage(type, codec.jsonToBinary(json), bytes, json);
            assertSameMessage(type, codec.valueToBinary(JSON.parse(json)), bytes, "value form");
          },
        ),
        { numRuns: RUNS },
      );
    });
  }
});

describe("every option combination prints JSON that ext/protojson reads as the same message", () => {
  for (const [name, type] of TYPES) {
    it(name, () => {
      const codecs = outputOptionMatrix().map((options) => codecWith(type, options));
      fc.assert(
        fc.property(messageBytesArbitrary(type, { referenceSafeFloats: true }), (bytes) => {
          for (const codec of codecs) {
            const json = codec.binaryToJson(bytes);
            const reread = type.encode(protojson.fromJson(type, JSON.parse(json))).finish();
            assertSameMessage(type, reread, bytes, json);
          }
        }),
        { numRuns: Math.ceil(RUNS / 4) },
      );
    });
  }
});

describe("the whole message and the field selector (response_body) agree", () => {
  for (const [name, type] of TYPES) {
    it(name, () => {
      const matrix = outputOptionMatrix();
      const codecs = matrix.map((options) => codecWith(type, options));
      fc.assert(
        fc.property(messageBytesArbitrary(type, { referenceSafeFloats: true }), (bytes) => {
          codecs.forEach((codec, i) => {
            const whole = JSON.parse(codec.binaryToJson(bytes)) as Record<string, unknown>;
            for (const field of messagePlan(type).fields) {
              const key = matrix[i]!.useProtoNames ? field.protoName : field.jsonName;
              const selected = JSON.parse(codec.fieldToJson(bytes, field.protoName));
              assert.deepStrictEqual(selected, Object.hasOwn(whole, key) ? whole[key] : null, key);
            }
          });
        }),
        { numRuns: Math.ceil(RUNS / 4) },
      );
    });
  }
});

describe("any JSON object is a valid google.protobuf.Struct", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type, { emitUnpopulated: false });
  const object = fc.dictionary(fc.string({ unit: "binary", maxLength: 6 }), fc.jsonValue({ maxDepth: 4 }), {
    maxKeys: 5,
  });

  it("is accepted (escapes and all) and comes back equal", () => {
    fc.assert(
      fc.property(object, (struct) => {
        const text = JSON.stringify({ optionalStruct: struct });
        const back = JSON.parse(codec.binaryToJson(codec.jsonToBinary(text)));
        assert.deepStrictEqual(back, JSON.parse(text));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("with one key repeated, is rejected as a duplicate, at its path", () => {
    fc.assert(
      fc.property(object, fc.string({ unit: "binary", maxLength: 6 }), (struct, key) => {
        const inner = JSON.stringify(struct).slice(1, -1);
        const member = `${JSON.stringify(key)}:1`;
        const text = `{"optionalStruct":{${member},${inner.length > 0 ? `${inner},` : ""}${member}}}`;
        assert.match(
          rejection(() => codec.jsonToBinary(text)),
          /^optionalStruct: duplicate key /,
        );
      }),
      { numRuns: RUNS },
    );
  });
});

describe("garbage never crashes the codec", () => {
  const type = testAllTypesProto3();
  const codec = codecWith(type);
  const lenient = codecWith(type, { discardUnknownFields: true, maxDepth: 8 });
  const fieldNames = type.fieldsArray
    .map((f) => f.name)
    .concat(type.fieldsArray.map((f) => f.jsonName ?? f.name));

  it("random JSON values in random fields: accepted, or a 400 with a path", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...fieldNames), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        (body) => {
          for (const c of [codec, lenient]) {
            try {
              const bytes = c.jsonToBinary(JSON.stringify(body));
              assert.equal(typeof c.binaryToJson(bytes), "string");
            } catch (error) {
              assert.ok(error instanceof GatewayError, String(error));
              assert.equal(error.code, 3, error.message);
            }
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("random text and bytes as a request body: a 400, never anything else", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json()), fc.uint8Array(), (text, raw) => {
        for (const attempt of [() => codec.jsonToBinary(text), () => codec.bytesToBinary(raw)]) {
          try {
            attempt();
          } catch (error) {
            assert.ok(error instanceof GatewayError, String(error));
            assert.equal(error.code, 3);
          }
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("random bytes as a response: JSON, or DATA_LOSS / INTERNAL", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        try {
          JSON.parse(codec.binaryToJson(raw));
        } catch (error) {
          assert.ok(error instanceof GatewayError, String(error));
          assert.ok(error.code === 15 || error.code === 13, `${error.code}: ${error.message}`);
        }
      }),
      { numRuns: RUNS * 4 },
    );
  });
});
