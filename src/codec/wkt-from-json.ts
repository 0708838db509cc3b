import type * as FromJson from "./from-json.js";
import { halvesFromSafeInteger } from "./int64.js";
import { stringFromJson } from "./json-scalars.js";
import { type MessagePlan, Wkt } from "./plan.js";
import { atField, atIndex, atKey, describe, fail, failAtField, quote, RawNumber } from "./problems.js";
import { parseDuration, parseTimestamp } from "./time.js";

// The generic reader/writer and this module recurse into each other (a well-known type can hold
// messages, a message holds well-known types). Binding the generic functions at load, instead of
// importing them, keeps the import graph acyclic.
let generic: Pick<
  typeof FromJson,
  | "checkDepth"
  | "countMembers"
  | "enterMessage"
  | "isJsonObject"
  | "writeFields"
  | "writeMessage"
  | "writeSingular"
>;

/** Called once by from-json.js when it loads. */
export function bindFromJson(functions: typeof generic): void {
  generic = functions;
}

/**
 * The well-known types' special JSON forms → bytes. Field numbers of the WKTs are fixed by
 * google/protobuf/*.proto, so their tags are written as constants here.
 */

// Tags: (field number << 3) | wire type.
const TAG_1_VARINT = 0x08; // Timestamp/Duration.seconds, Value.null_value
const TAG_2_VARINT = 0x10; // Timestamp/Duration.nanos
const TAG_1_LEN = 0x0a; // FieldMask.paths, Struct.fields, ListValue.values, Any.type_url, map key
const TAG_2_LEN = 0x12; // Any.value, map value
const VALUE_NUMBER = 0x11; // Value.number_value (double)
const VALUE_STRING = 0x1a;
const VALUE_BOOL = 0x20;
const VALUE_STRUCT = 0x2a;
const VALUE_LIST = 0x32;

export function writeWkt(
  plan: MessagePlan,
  value: unknown,
  ctx: FromJson.FromJsonContext,
  depth: number,
): void {
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
      generic.writeSingular(field, value, ctx, field.tag, true);
      return;
    }
    case Wkt.VALUE:
      writeValue(ctx, value, depth);
      return;
    case Wkt.STRUCT:
      if (!generic.isJsonObject(value))
        fail(`expected object for google.protobuf.Struct, got ${describe(value)}`);
      writeStructFields(ctx, value, depth);
      return;
    case Wkt.LIST_VALUE:
      if (!Array.isArray(value)) fail(`expected array for google.protobuf.ListValue, got ${describe(value)}`);
      writeListValues(ctx, value, depth);
      return;
    default:
      writeAny(ctx, value, depth);
  }
}

function writeSecondsNanos(ctx: FromJson.FromJsonContext, seconds: number, nanos: number): void {
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

function writeFieldMask(ctx: FromJson.FromJsonContext, value: unknown): void {
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
function writeValue(ctx: FromJson.FromJsonContext, value: unknown, depth: number): void {
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
    generic.enterMessage(ctx);
    const mark = w.fork();
    writeListValues(ctx, value, depth);
    w.join(mark);
    ctx.messageDepth--;
    return;
  }
  if (generic.isJsonObject(value)) {
    w.tag(VALUE_STRUCT);
    generic.enterMessage(ctx);
    const mark = w.fork();
    writeStructFields(ctx, value, depth);
    w.join(mark);
    ctx.messageDepth--;
    return;
  }
  fail(`expected a JSON value, got ${describe(value)}`);
}

function writeStructFields(ctx: FromJson.FromJsonContext, obj: Record<string, unknown>, depth: number): void {
  generic.checkDepth(ctx, depth);
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
      generic.enterMessage(ctx); // the map entry is not a level of its own, its Value is (as decoded)
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

function writeListValues(ctx: FromJson.FromJsonContext, list: readonly unknown[], depth: number): void {
  generic.checkDepth(ctx, depth);
  const w = ctx.w;
  for (let i = 0; i < list.length; i++) {
    try {
      w.tag(TAG_1_LEN);
      generic.enterMessage(ctx);
      const mark = w.fork();
      writeValue(ctx, list[i], depth + 1);
      w.join(mark);
      ctx.messageDepth--;
    } catch (error) {
      atIndex(error, i);
    }
  }
}

/** `{"@type": url, ...fields}` or, for a well-known type, `{"@type": url, "value": <its JSON>}`. */
function writeAny(ctx: FromJson.FromJsonContext, value: unknown, depth: number): void {
  if (!generic.isJsonObject(value)) fail(`expected object for google.protobuf.Any, got ${describe(value)}`);
  generic.checkDepth(ctx, depth);
  const typeUrl = value["@type"];
  if (typeUrl === undefined) {
    if (Object.keys(value).length === 0) return; // {} is the empty Any
    fail(`google.protobuf.Any needs "@type" (a type URL like "type.googleapis.com/pkg.Message")`);
  }
  if (typeof typeUrl !== "string") failAtField("@type", `expected type URL string, got ${describe(typeUrl)}`);
  const inner = ctx.resolveAny(typeUrl);
  if (inner === undefined) fail(`unknown message type in "@type": ${quote(typeUrl)}`);
  const w = ctx.w;
  w.tag(TAG_1_LEN);
  w.string(typeUrl);
  const tagAt = w.pos;
  w.tag(TAG_2_LEN);
  generic.enterMessage(ctx);
  const mark = w.fork();
  if (inner.wkt === Wkt.NONE) generic.writeFields(inner, value, ctx, depth, "@type");
  else {
    const keys = Object.keys(value);
    ctx.members += keys.length;
    for (const key of keys) {
      if (key === "@type" || key === "value") continue;
      if (!ctx.discardUnknown) {
        fail(`unknown field ${quote(key)} in google.protobuf.Any holding ${inner.typeName}`);
      }
      try {
        ctx.members += generic.countMembers(value[key], ctx, depth + 1);
      } catch (error) {
        atField(error, key);
      }
    }
    // A well-known type inside Any keeps its special form under "value"; absent means the empty message.
    if (Object.hasOwn(value, "value")) {
      try {
        generic.writeMessage(inner, value.value, ctx, depth + 1);
      } catch (error) {
        atField(error, "value");
      }
    }
  }
  ctx.messageDepth--;
  if (w.pos === mark + 1)
    w.pos = tagAt; // an empty payload is the default: leave `value` out
  else w.join(mark);
}
