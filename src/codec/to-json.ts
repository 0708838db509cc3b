import type { Slots } from "./decode.js";
import { type EnumPlan, type FieldPlan, Kind, type MessagePlan, Scalar, Unset, Wkt } from "./plan.js";
import { atField, atIndex, atKey } from "./problems.js";
import { bindToJson, wktToJson } from "./wkt-to-json.js";

/**
 * Slots → JSON value, in field declaration order, applying the output options. With emitUnpopulated
 * every field is present (see Unset in plan.ts for what unset fields render as); without it, implicit-
 * presence fields holding their default are left out even when the sender wrote them on the wire — the
 * JSON does not depend on which language the backend is written in.
 */

export interface ToJsonContext {
  readonly emitUnpopulated: boolean;
  readonly useProtoNames: boolean;
  readonly enumsAsInts: boolean;
  readonly resolveAny: (typeUrl: string) => MessagePlan | undefined;
}

/** Returned by fieldToJson for an implicit-presence default that is left out. */
const OMIT = Symbol("omit");

export function messageToJson(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): unknown {
  if (plan.wkt !== Wkt.NONE) return wktToJson(plan, slots, ctx, depth);
  const out: Record<string, unknown> = {};
  const fields = plan.fields;
  const protoNames = ctx.useProtoNames;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = slots[i];
    const key = protoNames ? field.protoName : field.jsonName;
    let json: unknown;
    if (value === undefined) {
      if (!ctx.emitUnpopulated || field.unset === Unset.OMIT) continue;
      json = unsetJson(field, ctx);
    } else {
      try {
        json = fieldToJson(field, value, ctx, depth);
      } catch (error) {
        atField(error, key);
      }
      if (json === OMIT) continue;
    }
    if (key === "__proto__") defineKey(out, key, json);
    else out[key] = json;
  }
  return out;
}

function fieldToJson(field: FieldPlan, value: unknown, ctx: ToJsonContext, depth: number): unknown {
  if (field.map) {
    const map = value as Map<string, unknown>;
    if (map.size === 0) return ctx.emitUnpopulated ? {} : OMIT;
    return mapToJson(field, map, ctx, depth);
  }
  if (field.repeated) {
    const list = value as unknown[];
    if (list.length === 0) return ctx.emitUnpopulated ? [] : OMIT;
    const out = new Array<unknown>(list.length);
    for (let i = 0; i < list.length; i++) {
      try {
        out[i] = valueToJson(field, list[i], ctx, depth);
      } catch (error) {
        atIndex(error, i);
      }
    }
    return out;
  }
  if (!field.presence && !ctx.emitUnpopulated && isDefault(field, value)) return OMIT;
  return valueToJson(field, value, ctx, depth);
}

/** One value of a field (singular value, list element or map value). */
function valueToJson(field: FieldPlan, value: unknown, ctx: ToJsonContext, depth: number): unknown {
  switch (field.kind) {
    case Kind.MESSAGE:
      return messageToJson(field.message!, value as Slots, ctx, depth + 1);
    case Kind.ENUM:
      return enumToJson(field.enumPlan!, value as number, ctx);
    default:
      return scalarToJson(field.scalar, value);
  }
}

/** An implicit-presence field holding its default (left out without emitUnpopulated). */
export function isDefault(field: FieldPlan, value: unknown): boolean {
  switch (typeof value) {
    case "number":
      return Object.is(value, 0); // -0 has different bits: it is a value, as for Go and C++
    case "string":
      return value === "" || (value === "0" && field.kind === Kind.SCALAR && field.scalar !== Scalar.STRING);
    case "boolean":
      return !value;
    default:
      return value instanceof Uint8Array && value.length === 0;
  }
}

function unsetJson(field: FieldPlan, ctx: ToJsonContext): unknown {
  switch (field.unset) {
    case Unset.LIST:
      return [];
    case Unset.MAP:
      return {};
    case Unset.NULL:
      return null;
    default:
      if (field.kind === Kind.ENUM) return enumToJson(field.enumPlan!, 0, ctx);
      return scalarDefaultJson(field.scalar);
  }
}

export function scalarDefaultJson(scalar: Scalar): unknown {
  switch (scalar) {
    case Scalar.STRING:
    case Scalar.BYTES:
      return "";
    case Scalar.BOOL:
      return false;
    case Scalar.INT64:
    case Scalar.UINT64:
    case Scalar.SINT64:
    case Scalar.FIXED64:
    case Scalar.SFIXED64:
      return "0";
    default:
      return 0;
  }
}

export function enumToJson(plan: EnumPlan, n: number, ctx: ToJsonContext): unknown {
  if (plan.isNullValue) return null;
  if (ctx.enumsAsInts) return n;
  return plan.nameByNumber.get(n) ?? n; // unknown numbers stay numbers (proto3 open enums)
}

/** A JSON-ready scalar slot → its JSON value (floats and bytes need formatting). */
export function scalarToJson(scalar: Scalar, value: unknown): unknown {
  switch (scalar) {
    case Scalar.DOUBLE:
      return Number.isFinite(value) ? value : String(value); // "NaN", "Infinity", "-Infinity"
    case Scalar.FLOAT:
      return Number.isFinite(value) ? shortestFloat32(value as number) : String(value);
    case Scalar.BYTES: {
      const bytes = value as Uint8Array;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
    }
    default:
      return value;
  }
}

/**
 * The shortest decimal that reads back as the same float32 (0.1f prints as 0.1, not 0.10000000149011612),
 * as protobuf's own serializers print floats.
 */
export function shortestFloat32(v: number): number {
  if (Number.isInteger(v) && Math.abs(v) < 16777216) return v;
  for (let precision = 1; precision < 9; precision++) {
    const candidate = Number(v.toPrecision(precision));
    if (Math.fround(candidate) === v) return candidate;
  }
  return Number(v.toPrecision(9));
}

function mapToJson(field: FieldPlan, map: Map<string, unknown>, ctx: ToJsonContext, depth: number): unknown {
  const out: Record<string, unknown> = {};
  for (const key of orderedKeys(map, field.mapKey)) {
    let json: unknown;
    try {
      json = valueToJson(field, map.get(key), ctx, depth);
    } catch (error) {
      atKey(error, key);
    }
    if (key === "__proto__") defineKey(out, key, json);
    else out[key] = json;
  }
  return out;
}

const ARRAY_INDEX_RE = /^(?:0|[1-9][0-9]{0,9})$/;

function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX_RE.test(key) && Number(key) < 4294967295;
}

/**
 * Map keys in output order. Sorted (numerically for integer keys), because Go and C++ backends send
 * map entries in different orders and the JSON must not differ; then, as JS objects order their keys,
 * array-index-like keys ("0", "7") first — so the text and the value forms print the same order.
 */
export function orderedKeys(map: Map<string, unknown>, keyType: Scalar): string[] {
  const keys = [...map.keys()];
  if (keys.length < 2) return keys;
  keys.sort(keyType === Scalar.STRING || keyType === Scalar.BOOL ? undefined : compareDecimal);
  const indexes = keys.filter(isArrayIndex);
  if (indexes.length === 0 || indexes.length === keys.length) {
    return keyType === Scalar.STRING && indexes.length > 0 ? indexes.sort(compareDecimal) : keys;
  }
  indexes.sort(compareDecimal);
  for (const key of keys) if (!isArrayIndex(key)) indexes.push(key);
  return indexes;
}

function compareDecimal(a: string, b: string): number {
  if (a.length <= 15 && b.length <= 15) return Number(a) - Number(b);
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** `__proto__` as a plain own key (assignment would set the prototype instead). */
export function defineKey(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

bindToJson({ defineKey, messageToJson, orderedKeys, scalarDefaultJson, scalarToJson });
