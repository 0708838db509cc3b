import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { DEFAULT_JSON_OPTIONS, type JsonOptions, type MessageCodec } from "./codec.js";
import { createMessageCodec } from "./json-codec.js";

/**
 * Test helpers comparing the codec with protobufjs's ext/protojson, the conformance-passing reference:
 * two byte strings hold the same message when the reference renders them to the same JSON value
 * (order of fields and map entries, and explicitly written defaults, do not matter).
 */

/** protobuf bytes as the reference parses them from a JSON value. */
export function oracleBytes(type: protobuf.Type, json: unknown, ignoreUnknownFields = false): Uint8Array {
  return type.encode(protojson.fromJson(type, json, { ignoreUnknownFields })).finish();
}

/** The reference's JSON view of some bytes (canonical: implicit defaults omitted). */
export function oracleView(type: protobuf.Type, bytes: Uint8Array): unknown {
  return protojson.toJson(type, type.decode(bytes));
}

export function assertSameMessage(
  type: protobuf.Type,
  actual: Uint8Array,
  expected: Uint8Array,
  note = "",
): void {
  assert.deepStrictEqual(oracleView(type, actual), oracleView(type, expected), note);
}

/** A codec with the default options overridden. */
export function codecWith(type: protobuf.Type, options: Partial<JsonOptions> = {}): MessageCodec {
  return createMessageCodec(type, { ...DEFAULT_JSON_OPTIONS, ...options });
}

/** Every combination of the output options. */
export function outputOptionMatrix(): Partial<JsonOptions>[] {
  const out: Partial<JsonOptions>[] = [];
  for (const emitUnpopulated of [true, false]) {
    for (const useProtoNames of [true, false]) {
      for (const enumsAsInts of [true, false]) out.push({ emitUnpopulated, useProtoNames, enumsAsInts });
    }
  }
  return out;
}

/** Runs `fn`, expecting a GatewayError with `code`; returns its message. */
export function rejection(fn: () => unknown, code = 3): string {
  try {
    fn();
  } catch (error) {
    const e = error as { name?: string; code?: number; message: string };
    assert.equal(e.name, "GatewayError", `expected a GatewayError, got ${String(error)}`);
    assert.equal(e.code, code, `expected code ${code}, got ${e.code}: ${e.message}`);
    return e.message;
  }
  assert.fail("expected a rejection, but the conversion succeeded");
}

/** A valid JSON input of a corpus, with its expected output (emitUnpopulated off) when given. */
export interface ValidCase {
  readonly name: string;
  readonly json: string;
  readonly out?: unknown;
  /** The reference cannot parse this input the same way (a documented improvement). */
  readonly noOracle?: boolean;
}

/**
 * Each case: JSON → bytes is the message ext/protojson reads; bytes → JSON reads back (by the
 * reference) as the same message; the output matches `out` when given; and the emitUnpopulated
 * output means the same message too.
 */
export function describeValidCorpus(title: string, type: protobuf.Type, cases: readonly ValidCase[]): void {
  describe(title, () => {
    const codec = codecWith(type, { emitUnpopulated: false });
    const emitting = codecWith(type, { emitUnpopulated: true });
    for (const c of cases) {
      it(c.name, () => {
        const bytes = codec.jsonToBinary(c.json);
        if (!c.noOracle)
          assertSameMessage(type, bytes, oracleBytes(type, JSON.parse(c.json)), "JSON → bytes");
        const out = codec.binaryToJson(bytes);
        if (c.out !== undefined) assert.deepStrictEqual(JSON.parse(out), c.out);
        if (!c.noOracle)
          assertSameMessage(type, oracleBytes(type, JSON.parse(out)), bytes, "bytes → JSON → bytes");
        assert.deepStrictEqual(
          codec.jsonToBinary(out),
          codec.jsonToBinary(codec.binaryToJson(codec.jsonToBinary(out))),
        );
        assertSameMessage(
          type,
          codec.jsonToBinary(emitting.binaryToJson(bytes)),
          bytes,
          "emitUnpopulated output → bytes",
        );
      });
    }
  });
}

/** An input that must be rejected with a message matching `message` (path first). */
export interface RejectCase {
  readonly name: string;
  readonly json: string;
  readonly message: RegExp;
  /** ext/protojson accepts this input (Refract is stricter, deliberately). */
  readonly lax?: boolean;
}

export function describeRejectCorpus(title: string, type: protobuf.Type, cases: readonly RejectCase[]): void {
  describe(title, () => {
    const codec = codecWith(type);
    for (const c of cases) {
      it(c.name, () => {
        assert.match(
          rejection(() => codec.jsonToBinary(c.json)),
          c.message,
        );
        assert.match(
          rejection(() => codec.bytesToBinary(Buffer.from(c.json))),
          c.message,
        );
        if (c.lax !== true)
          assert.throws(() => protojson.fromJsonString(type, c.json), Error, "the reference rejects it too");
      });
    }
  });
}
