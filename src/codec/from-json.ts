import {
  checkDepth,
  countMembers,
  enterMessage,
  type FromJsonContext,
  isJsonObject,
} from "./from-json-context.js";
import {
  checkIntegerKey,
  enumFromJson,
  int32FromJson,
  int64FromJson,
  stringFromJson,
} from "./json-scalars.js";
import { type FieldPlan, Kind, type MessagePlan, Scalar, Wkt } from "./plan.js";
import { atField, atIndex, atKey, describe, fail, failAtField, quote } from "./problems.js";
import type { WireWriter } from "./wire-writer.js";
import { writeWkt } from "./wkt-from-json.js";
import { writeInt32, writeInt64, writeSingular } from "./write-scalar.js";

/**
 * JSON value → protobuf bytes, written straight into a WireWriter (no intermediate message objects).
 * Fields are written in the order the JSON gives them; implicit-presence scalars holding their default
 * are not written (proto3: they are indistinguishable from unset).
 */

/** Writes the fields of one message; `value` is its JSON (an object, or a well-known type's form). */
export function writeMessage(plan: MessagePlan, value: unknown, ctx: FromJsonContext, depth: number): void {
  if (plan.wkt !== Wkt.NONE) {
    if (plan.wkt === Wkt.ANY) writeAny(ctx, value, depth);
    else writeWkt(plan, value, ctx, depth);
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

// google.protobuf.Any: type_url (1) and value (2), both length-delimited.
const ANY_TYPE_URL = 0x0a;
const ANY_VALUE = 0x12;

/**
 * `{"@type": url, ...fields}` or, for a well-known type, `{"@type": url, "value": <its JSON>}`. Written
 * here, not with the other well-known types, because it recurses into the generic writer.
 */
function writeAny(ctx: FromJsonContext, value: unknown, depth: number): void {
  if (!isJsonObject(value)) fail(`expected object for google.protobuf.Any, got ${describe(value)}`);
  checkDepth(ctx, depth);
  const typeUrl = value["@type"];
  if (typeUrl === undefined) {
    if (Object.keys(value).length === 0) return; // {} is the empty Any
    fail(`google.protobuf.Any needs "@type" (a type URL like "type.googleapis.com/pkg.Message")`);
  }
  if (typeof typeUrl !== "string") failAtField("@type", `expected type URL string, got ${describe(typeUrl)}`);
  const inner = ctx.resolveAny(typeUrl);
  if (inner === undefined) fail(`unknown message type in "@type": ${quote(typeUrl)}`);
  const w = ctx.w;
  w.tag(ANY_TYPE_URL);
  w.string(typeUrl);
  const tagAt = w.pos;
  w.tag(ANY_VALUE);
  enterMessage(ctx);
  const mark = w.fork();
  if (inner.wkt === Wkt.NONE) writeFields(inner, value, ctx, depth, "@type");
  else {
    const keys = Object.keys(value);
    ctx.members += keys.length;
    for (const key of keys) {
      if (key === "@type" || key === "value") continue;
      if (!ctx.discardUnknown) {
        fail(`unknown field ${quote(key)} in google.protobuf.Any holding ${inner.typeName}`);
      }
      try {
        ctx.members += countMembers(value[key], ctx, depth + 1);
      } catch (error) {
        atField(error, key);
      }
    }
    // A well-known type inside Any keeps its special form under "value"; absent means the empty message.
    if (Object.hasOwn(value, "value")) {
      try {
        writeMessage(inner, value.value, ctx, depth + 1);
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
