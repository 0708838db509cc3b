import type { FromJsonContext } from "./from-json-context.js";
import {
  base64FromJson,
  boolFromJson,
  enumFromJson,
  floatFromJson,
  int32FromJson,
  int64FromJson,
  stringFromJson,
} from "./json-scalars.js";
import { type FieldPlan, Kind, Scalar } from "./plan.js";
import type { WireWriter } from "./wire-writer.js";

/** One scalar or enum JSON value → its protobuf encoding (fields, list elements, map values, wrappers). */

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

export function writeInt32(w: WireWriter, scalar: Scalar, n: number): void {
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
export function writeInt64(w: WireWriter, scalar: Scalar): void {
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
