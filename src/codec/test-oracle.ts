import assert from "node:assert/strict";
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
