import type { Slots } from "./decode.js";
import { type FieldPlan, Kind, type MessagePlan, Scalar } from "./plan.js";
import { CodecProblem } from "./problems.js";

/**
 * The leaf forms of the JSON output — defaults, map key order, float32 and FieldMask text, well-known
 * type slots — apart from the writer's recursion (to-json-text.ts), so nothing needs binding at load.
 */

/** The output options and the Any resolver, fixed per codec. */
export interface ToJsonContext {
  readonly emitUnpopulated: boolean;
  readonly useProtoNames: boolean;
  readonly enumsAsInts: boolean;
  readonly resolveAny: (typeUrl: string) => MessagePlan | undefined;
}

/**
 * An implicit-presence field holding its default (left out without emitUnpopulated, even when the sender
 * wrote it on the wire: the JSON does not depend on which language the backend is written in).
 */
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

const ARRAY_INDEX_RE = /^(?:0|[1-9][0-9]{0,9})$/;

function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX_RE.test(key) && Number(key) < 4294967295;
}

/**
 * Map keys in output order. Sorted (numerically for integer keys), because Go and C++ backends send
 * map entries in different orders and the JSON must not differ; then, as JS objects order their keys,
 * array-index-like keys ("0", "7") first — so JSON.parse of the text keeps the printed order.
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

/** Valid protobuf bytes with no JSON form (a response error: INTERNAL, not DATA_LOSS). */
export function unrepresentable(problem: string): CodecProblem {
  return new CodecProblem(problem, "unrepresentable");
}

/** The slot of a WKT field by number (WKT field numbers are fixed by google/protobuf/*.proto). */
export function wktSlot(plan: MessagePlan, slots: Slots, number: number): unknown {
  const field = plan.byNumber.get(number);
  return field === undefined ? undefined : slots[field.index];
}

/** snake_case → lowerCamelCase; paths that would not come back the same are refused (spec). */
export function fieldMaskPathToJson(path: string): string {
  const camel = path.replace(/_([a-z]?)/g, (_, c: string) => {
    if (c === "") throw unrepresentable(`FieldMask path ${JSON.stringify(path)} has no lowerCamelCase form`);
    return c.toUpperCase();
  });
  if (camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) !== path) {
    throw unrepresentable(`FieldMask path ${JSON.stringify(path)} has no lowerCamelCase form`);
  }
  return camel;
}
