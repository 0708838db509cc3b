import { checkDepth, enterMessage, type FromJsonContext, isJsonObject } from "./from-json-context.js";
import { halvesFromSafeInteger } from "./int64.js";
import { stringFromJson } from "./json-scalars.js";
import { type MessagePlan, Wkt } from "./plan.js";
import { atIndex, atKey, describe, fail, quote, RawNumber } from "./problems.js";
import { parseDuration, parseTimestamp } from "./time.js";
import { writeSingular } from "./write-scalar.js";

/**
 * The well-known types' special JSON forms → bytes, all but Any: Any holds any message, so from-json.ts
 * writes it with the generic writer (this module needs nothing of that writer, hence no import cycle).
 * Field numbers of the WKTs are fixed by google/protobuf/*.proto, so their tags are written as constants.
 */

// Tags: (field number << 3) | wire type.
const TAG_1_VARINT = 0x08; // Timestamp/Duration.seconds, Value.null_value
const TAG_2_VARINT = 0x10; // Timestamp/Duration.nanos
const TAG_1_LEN = 0x0a; // FieldMask.paths, Struct.fields, ListValue.values, map key
const TAG_2_LEN = 0x12; // map value
const VALUE_NUMBER = 0x11; // Value.number_value (double)
const VALUE_STRING = 0x1a;
const VALUE_BOOL = 0x20;
const VALUE_STRUCT = 0x2a;
const VALUE_LIST = 0x32;

/** A well-known type's JSON form; `plan.wkt` is neither NONE nor ANY. */
export function writeWkt(plan: MessagePlan, value: unknown, ctx: FromJsonContext, depth: number): void {
  switch (plan.wkt) {
    case Wkt.TIMESTAMP: {
      const { seconds, nanos } = parseTimestamp(value);
      writeSecondsNanos(ctx, seconds, nanos);
      return;
    }
    case Wkt.DURATION: {
      const { seconds, nanos } = parseDuration(value);
      writeSecondsNanos(ctx, seconds, nanos);
      return;
    }
    case Wkt.FIELD_MASK:
      writeFieldMask(ctx, value);
      return;
    case Wkt.WRAPPER: {
      // The wrapped value's own field has implicit presence: a default value writes an empty wrapper.
      const field = plan.fields[0]!;
      writeSingular(field, value, ctx, field.tag, true);
      return;
    }
    case Wkt.VALUE:
      writeValue(ctx, value, depth);
      return;
    case Wkt.STRUCT:
      if (!isJsonObject(value)) fail(`expected object for google.protobuf.Struct, got ${describe(value)}`);
      writeStructFields(ctx, value, depth);
      return;
    default: // Wkt.LIST_VALUE
      if (!Array.isArray(value)) fail(`expected array for google.protobuf.ListValue, got ${describe(value)}`);
      writeListValues(ctx, value, depth);
  }
}

function writeSecondsNanos(ctx: FromJsonContext, seconds: number, nanos: number): void {
  const w = ctx.w;
  if (seconds !== 0) {
    w.tag(TAG_1_VARINT);
    halvesFromSafeInteger(seconds, w);
    w.varint64(w.lo, w.hi);
  }
  if (nanos !== 0) {
    w.tag(TAG_2_VARINT);
    w.int32(nanos);
  }
}

function writeFieldMask(ctx: FromJsonContext, value: unknown): void {
  if (typeof value !== "string") fail(`expected field mask string (like "a.b,c"), got ${describe(value)}`);
  if (value === "") return;
  for (const path of value.split(",")) {
    // proto3 JSON: paths are lowerCamelCase; snake_case would not round-trip (conformance FieldMaskInvalidCharacter).
    if (path.includes("_")) fail(`invalid field mask path ${quote(path)} (JSON uses lowerCamelCase)`);
    ctx.w.tag(TAG_1_LEN);
    ctx.w.string(stringFromJson(path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)));
  }
}

/** The body of a google.protobuf.Value: any JSON value. */
function writeValue(ctx: FromJsonContext, value: unknown, depth: number): void {
  const w = ctx.w;
  if (value === null) {
    w.tag(TAG_1_VARINT);
    w.uint32(0);
    return;
  }
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) fail("number out of range for google.protobuf.Value");
      w.tag(VALUE_NUMBER);
      w.double(value);
      return;
    case "string":
      w.tag(VALUE_STRING);
      w.string(stringFromJson(value));
      return;
    case "boolean":
      w.tag(VALUE_BOOL);
      w.bool(value);
      return;
  }
  if (value instanceof RawNumber) {
    writeValue(ctx, value.value, depth);
    return;
  }
  if (Array.isArray(value)) {
    w.tag(VALUE_LIST);
    enterMessage(ctx);
    const mark = w.fork();
    writeListValues(ctx, value, depth);
    w.join(mark);
    ctx.messageDepth--;
    return;
  }
  if (isJsonObject(value)) {
    w.tag(VALUE_STRUCT);
    enterMessage(ctx);
    const mark = w.fork();
    writeStructFields(ctx, value, depth);
    w.join(mark);
    ctx.messageDepth--;
    return;
  }
  fail(`expected a JSON value, got ${describe(value)}`);
}

function writeStructFields(ctx: FromJsonContext, obj: Record<string, unknown>, depth: number): void {
  checkDepth(ctx, depth);
  const w = ctx.w;
  const keys = Object.keys(obj);
  ctx.members += keys.length;
  for (const key of keys) {
    try {
      w.tag(TAG_1_LEN);
      const entry = w.fork();
      w.tag(TAG_1_LEN);
      w.string(stringFromJson(key));
      w.tag(TAG_2_LEN);
      enterMessage(ctx); // the map entry is not a level of its own, its Value is (as decoded)
      const mark = w.fork();
      writeValue(ctx, obj[key], depth + 1);
      w.join(mark);
      ctx.messageDepth--;
      w.join(entry);
    } catch (error) {
      atKey(error, key);
    }
  }
}

function writeListValues(ctx: FromJsonContext, list: readonly unknown[], depth: number): void {
  checkDepth(ctx, depth);
  const w = ctx.w;
  for (let i = 0; i < list.length; i++) {
    try {
      w.tag(TAG_1_LEN);
      enterMessage(ctx);
      const mark = w.fork();
      writeValue(ctx, list[i], depth + 1);
      w.join(mark);
      ctx.messageDepth--;
    } catch (error) {
      atIndex(error, i);
    }
  }
}
