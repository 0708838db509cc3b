import { MAX_MESSAGE_DEPTH } from "./decode.js";
import {
  base64FromJson,
  boolFromJson,
  checkIntegerKey,
  enumFromJson,
  floatFromJson,
  int32FromJson,
  int64FromJson,
  stringFromJson,
} from "./json-scalars.js";
import { type FieldPlan, Kind, type MessagePlan, Scalar, Wkt } from "./plan.js";
import { atField, atIndex, atKey, describe, fail, quote, RawNumber } from "./problems.js";
import type { WireWriter } from "./wire-writer.js";
import { bindFromJson, writeWkt } from "./wkt-from-json.js";

/**
 * JSON value → protobuf bytes, written straight into a WireWriter (no intermediate message objects).
 * Fields are written in the order the JSON gives them; implicit-presence scalars holding their default
 * are not written (proto3: they are indistinguishable from unset).
 */

export interface FromJsonContext {
  w: WireWriter;
  readonly discardUnknown: boolean;
  readonly maxDepth: number;
  /** Object members converted or skipped, compared with the text's count to find duplicate keys. */
  members: number;
  /**
   * Messages open around the one being written (0 at the top), counted as the decoder counts them, so
   * a request that is accepted can always be decoded again (a backend echoing it must not fail).
   */
  messageDepth: number;
  /** Message type named by an Any's `@type`, or undefined. */
  readonly resolveAny: (typeUrl: string) => MessagePlan | undefined;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof RawNumber)
  );
}

export function checkDepth(ctx: FromJsonContext, depth: number): void {
  if (depth > ctx.maxDepth) fail(`JSON nesting deeper than ${ctx.maxDepth} levels`);
}

/**
 * Opens a nested message. JSON depth and message depth differ: a google.protobuf.Value list nests two
 * messages (Value → ListValue) per JSON level, so `[[[…]]]` within the JSON limit could exceed the
 * decoder's message limit; checking both here keeps one rule for requests and responses (issue 13).
 * The caller closes it with `ctx.messageDepth--`; after a failure `encode` starts again from 0.
 */
export function enterMessage(ctx: FromJsonContext): void {
  if (++ctx.messageDepth > MAX_MESSAGE_DEPTH) fail(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
}

/** Writes the fields of one message; `value` is its JSON (an object, or a well-known type's form). */
export function writeMessage(plan: MessagePlan, value: unknown, ctx: FromJsonContext, depth: number): void {
  if (plan.wkt !== Wkt.NONE) {
    writeWkt(plan, value, ctx, depth);
    return;
  }
  if (!isJsonObject(value)) fail(`expected object for ${plan.typeName}, got ${describe(value)}`);
  checkDepth(ctx, depth);
  writeFields(plan, value, ctx, depth, undefined);
}

/** Writes the members of `obj` as fields of `plan`, skipping `skipKey` (an Any's "@type"). */
export function writeFields(
  plan: MessagePlan,
  obj: Record<string, unknown>,
  ctx: FromJsonContext,
  depth: number,
  skipKey: string | undefined,
): void {
  let oneofsSet = 0;
  // for-in (not Object.keys): V8 reads obj[key] through the object's enum cache, much faster here.
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue; // a polluted Object.prototype must not inject fields
    ctx.members++;
    if (key === skipKey) continue;
    const field = plan.byKey.get(key);
    const value = obj[key];
    if (field === undefined) {
      if (!ctx.discardUnknown) fail(`unknown field ${quote(key)} in ${plan.typeName}`);
      try {
        ctx.members += countMembers(value, ctx, depth + 1);
      } catch (error) {
        atField(error, key);
      }
      continue;
    }
    if (key !== field.jsonName && Object.hasOwn(obj, field.jsonName)) {
      fail(`field ${field.protoName} is given twice (as ${quote(field.jsonName)} and ${quote(key)})`);
    }
    if (value === null && !field.nullIsValue) continue; // null is "unset" (proto3 JSON)
    if (field.oneof >= 0) {
      const bit = 2 ** field.oneof;
      if (Math.floor(oneofsSet / bit) % 2 === 1) oneofConflict(plan, obj, field, key);
      oneofsSet += bit;
    }
    try {
      if (field.map) writeMap(field, value, ctx, depth + 1);
      else if (field.repeated) writeList(field, value, ctx, depth + 1);
      else if (field.kind === Kind.MESSAGE) writeMessageValue(field, field.tag, value, ctx, depth + 1);
      else writeSingular(field, value, ctx, field.tag, !field.presence);
    } catch (error) {
      atField(error, key);
    }
  }
}

function oneofConflict(
  plan: MessagePlan,
  obj: Record<string, unknown>,
  field: FieldPlan,
  key: string,
): never {
  const first = Object.keys(obj).find((k) => {
    const other = plan.byKey.get(k);
    return k !== key && other?.oneof === field.oneof && (obj[k] !== null || other.nullIsValue);
  });
  const oneof = plan.oneofNames[field.oneof] ?? "?";
  fail(`oneof ${quote(oneof)} has two members set: ${quote(first ?? "?")} and ${quote(key)}`);
}

/** A message-typed value (field, element or map value) with its tag, length-prefixed or as a group. */
function writeMessageValue(
  field: FieldPlan,
  tag: number,
  value: unknown,
  ctx: FromJsonContext,
  depth: number,
): void {
  const w = ctx.w;
  w.tag(tag);
  enterMessage(ctx);
  if (field.delimited && tag === field.tag) {
    writeMessage(field.message!, value, ctx, depth);
    w.tag(field.endTag);
  } else {
    const mark = w.fork();
    writeMessage(field.message!, value, ctx, depth);
    w.join(mark);
  }
  ctx.messageDepth--;
}

/** A scalar or enum value with its tag; implicit-presence defaults are skipped when `skipDefault`. */
export function writeSingular(
  field: FieldPlan,
  value: unknown,
  ctx: FromJsonContext,
  tag: number,
  skipDefault: boolean,
): void {
  const w = ctx.w;
  if (field.kind === Kind.ENUM) {
    const n = enumFromJson(field.enumPlan!, value, ctx.discardUnknown);
    if (n === undefined || (skipDefault && n === 0)) return;
    if (tag >= 0) w.tag(tag);
    w.int32(n);
    return;
  }
  switch (field.scalar) {
    case Scalar.STRING: {
      const s = stringFromJson(value);
      if (skipDefault && s.length === 0) return;
      if (tag >= 0) w.tag(tag);
      w.string(s);
      return;
    }
    case Scalar.BYTES: {
      const text = base64FromJson(value);
      if (skipDefault && text.length === 0) return;
      if (tag >= 0) w.tag(tag);
      w.base64(text);
      return;
    }
    case Scalar.BOOL: {
      const b = boolFromJson(value);
      if (skipDefault && !b) return;
      if (tag >= 0) w.tag(tag);
      w.bool(b);
      return;
    }
    case Scalar.DOUBLE:
    case Scalar.FLOAT: {
      const n = floatFromJson(field.scalar, value);
      if (skipDefault && Object.is(n, 0)) return; // -0 is not the default (its bits differ)
      if (tag >= 0) w.tag(tag);
      if (field.scalar === Scalar.DOUBLE) w.double(n);
      else w.float(n);
      return;
    }
    case Scalar.INT64:
    case Scalar.UINT64:
    case Scalar.SINT64:
    case Scalar.FIXED64:
    case Scalar.SFIXED64: {
      int64FromJson(field.scalar, value, w);
      if (skipDefault && w.lo === 0 && w.hi === 0) return;
      if (tag >= 0) w.tag(tag);
      writeInt64(w, field.scalar);
      return;
    }
    default: {
      const n = int32FromJson(field.scalar, value);
      if (skipDefault && n === 0) return;
      if (tag >= 0) w.tag(tag);
      writeInt32(w, field.scalar, n);
    }
  }
}

function writeInt32(w: WireWriter, scalar: Scalar, n: number): void {
  switch (scalar) {
    case Scalar.SINT32:
      w.sint32(n);
      return;
    case Scalar.FIXED32:
    case Scalar.SFIXED32:
      w.fixed32(n);
      return;
    case Scalar.UINT32:
      w.uint32(n);
      return;
    default:
      w.int32(n);
  }
}

/** Writes the 64-bit value held in the writer's scratch halves. */
function writeInt64(w: WireWriter, scalar: Scalar): void {
  if (scalar === Scalar.FIXED64 || scalar === Scalar.SFIXED64) {
    w.fixed64(w.lo, w.hi);
    return;
  }
  if (scalar === Scalar.SINT64) {
    const sign = w.hi >> 31;
    const hi = (((w.hi << 1) | (w.lo >>> 31)) ^ sign) >>> 0;
    const lo = ((w.lo << 1) ^ sign) >>> 0;
    w.varint64(lo, hi);
    return;
  }
  w.varint64(w.lo, w.hi);
}

function writeList(field: FieldPlan, value: unknown, ctx: FromJsonContext, depth: number): void {
  if (!Array.isArray(value)) fail(`expected array, got ${describe(value)}`);
  checkDepth(ctx, depth);
  if (value.length === 0) return;
  const w = ctx.w;
  if (field.kind === Kind.MESSAGE) {
    for (let i = 0; i < value.length; i++) {
      try {
        writeMessageValue(field, field.tag, value[i], ctx, depth + 1);
      } catch (error) {
        atIndex(error, i);
      }
    }
    return;
  }
  if (!field.packed) {
    for (let i = 0; i < value.length; i++) {
      try {
        writeSingular(field, value[i], ctx, field.tag, false);
      } catch (error) {
        atIndex(error, i);
      }
    }
    return;
  }
  w.tag(field.lenTag);
  const mark = w.fork();
  for (let i = 0; i < value.length; i++) {
    try {
      writeSingular(field, value[i], ctx, -1, false);
    } catch (error) {
      atIndex(error, i);
    }
  }
  w.join(mark);
}

function writeMap(field: FieldPlan, value: unknown, ctx: FromJsonContext, depth: number): void {
  if (!isJsonObject(value)) fail(`expected object (map), got ${describe(value)}`);
  checkDepth(ctx, depth);
  const keys = Object.keys(value);
  ctx.members += keys.length;
  const w = ctx.w;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    try {
      const entry = value[key];
      if (
        field.kind === Kind.ENUM &&
        enumFromJson(field.enumPlan!, entry, ctx.discardUnknown) === undefined
      ) {
        continue; // unknown enum name, discarded: drop the entry (as protobuf's parsers do)
      }
      w.tag(field.lenTag);
      const mark = w.fork();
      writeMapKey(field, key, w);
      if (field.kind === Kind.MESSAGE) writeMessageValue(field, field.mapValueTag, entry, ctx, depth + 1);
      else writeSingular(field, entry, ctx, field.mapValueTag, false);
      w.join(mark);
    } catch (error) {
      atKey(error, key);
    }
  }
}

function writeMapKey(field: FieldPlan, key: string, w: WireWriter): void {
  const scalar = field.mapKey;
  w.tag(field.mapKeyTag);
  switch (scalar) {
    case Scalar.STRING:
      w.string(stringFromJson(key));
      return;
    case Scalar.BOOL:
      if (key !== "true" && key !== "false")
        fail(`invalid bool map key ${quote(key)} (use "true" or "false")`);
      w.bool(key === "true");
      return;
    case Scalar.INT64:
    case Scalar.UINT64:
    case Scalar.SINT64:
    case Scalar.FIXED64:
    case Scalar.SFIXED64:
      checkIntegerKey(scalar, key);
      int64FromJson(scalar, key, w);
      writeInt64(w, scalar);
      return;
    default:
      checkIntegerKey(scalar, key);
      writeInt32(w, scalar, int32FromJson(scalar, key));
  }
}

/** Members of all objects inside a skipped JSON value (an unknown field), checking its depth too. */
export function countMembers(value: unknown, ctx: FromJsonContext, depth: number): number {
  if (typeof value !== "object" || value === null || value instanceof RawNumber) return 0;
  checkDepth(ctx, depth);
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      try {
        n += countMembers(value[i], ctx, depth + 1);
      } catch (error) {
        atIndex(error, i);
      }
    }
    return n;
  }
  for (const key of Object.keys(value)) {
    try {
      n += 1 + countMembers((value as Record<string, unknown>)[key], ctx, depth + 1);
    } catch (error) {
      atField(error, key);
    }
  }
  return n;
}

bindFromJson({
  checkDepth,
  countMembers,
  enterMessage,
  isJsonObject,
  writeFields,
  writeMessage,
  writeSingular,
});
