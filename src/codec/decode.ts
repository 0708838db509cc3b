import { int64ToDecimal, uint64ToDecimal, zigZagDecode64 } from "./int64.js";
import { type FieldPlan, Kind, type MessagePlan, Scalar, scalarWireType } from "./plan.js";
import { atField } from "./problems.js";
import { malformed, type WireReader } from "./wire-reader.js";
import { WireType } from "./wire-writer.js";

/**
 * protobuf bytes → slots: one array per message, indexed like the plan's fields, holding values already
 * in their JSON-ready scalar form (64-bit integers as decimal strings). Decoding follows the binary
 * format's merge rules, which is what makes the JSON the same whatever the sender wrote: the last value
 * of a singular field wins, repeated occurrences of a message field merge, packed and unpacked repeated
 * scalars are both read, a oneof keeps its last member, map entries may omit key or value, and unknown
 * fields (or unknown values of closed enums) are skipped.
 */

export type Slots = unknown[];

/** Message nesting limit (protobuf's default recursion limit). */
export const MAX_MESSAGE_DEPTH = 100;

export function decodeMessage(
  plan: MessagePlan,
  r: WireReader,
  end: number,
  into: Slots | undefined,
  depth: number,
  group: number,
): Slots {
  if (depth > MAX_MESSAGE_DEPTH) throw malformed(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
  const slots = into ?? new Array<unknown>(plan.fields.length);
  const byNumber = plan.byNumber;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw malformed(`invalid field number 0 at byte ${tagAt}`);
    if (wt === WireType.EGROUP) {
      if (no === group) return slots;
      throw malformed(`unexpected end of group ${no} at byte ${tagAt}`);
    }
    const field = byNumber.get(no);
    if (field === undefined) {
      r.skip(wt, no, end);
      continue;
    }
    try {
      readField(field, wt, r, end, slots, depth);
    } catch (error) {
      atField(error, field.jsonName);
    }
  }
  if (group !== 0) throw malformed(`group ${group} is not closed`);
  if (r.pos !== end) throw malformed("a value runs past the end of its message");
  return slots;
}

function readField(
  field: FieldPlan,
  wt: number,
  r: WireReader,
  end: number,
  slots: Slots,
  depth: number,
): void {
  const index = field.index;
  if (field.map) {
    if (wt !== WireType.LEN) {
      r.skip(wt, field.number, end);
      return;
    }
    readMapEntry(field, r, end, slots, depth);
    return;
  }
  if (field.kind === Kind.MESSAGE) {
    const plan = field.message!;
    let subEnd: number;
    let group = 0;
    if (wt === WireType.LEN) subEnd = r.lengthEnd(end);
    else if (wt === WireType.SGROUP) {
      subEnd = end;
      group = field.number;
    } else {
      r.skip(wt, field.number, end);
      return;
    }
    if (field.repeated) {
      let list = slots[index] as Slots[] | undefined;
      if (list === undefined) slots[index] = list = [];
      list.push(decodeMessage(plan, r, subEnd, undefined, depth + 1, group));
      return;
    }
    // A message field seen again merges into the value already read (binary format rule).
    slots[index] = decodeMessage(plan, r, subEnd, slots[index] as Slots | undefined, depth + 1, group);
    clearSiblings(field, slots);
    return;
  }
  const expected = field.kind === Kind.ENUM ? WireType.VARINT : scalarWireType(field.scalar);
  if (field.repeated) {
    let list = slots[index] as unknown[] | undefined;
    if (wt === WireType.LEN && expected !== WireType.LEN) {
      const packedEnd = r.lengthEnd(end);
      if (list === undefined) slots[index] = list = [];
      while (r.pos < packedEnd) {
        const v = readValue(field, r, packedEnd);
        if (v !== undefined) list.push(v);
      }
      if (r.pos !== packedEnd) throw malformed("a packed value runs past the end of its field");
      return;
    }
    if (wt !== expected) {
      r.skip(wt, field.number, end);
      return;
    }
    const v = readValue(field, r, end);
    if (v === undefined) return;
    if (list === undefined) slots[index] = list = [];
    list.push(v);
    return;
  }
  if (wt !== expected) {
    r.skip(wt, field.number, end);
    return;
  }
  const v = readValue(field, r, end);
  if (v === undefined) return;
  slots[index] = v;
  clearSiblings(field, slots);
}

/** Setting one member of a oneof clears the others. */
function clearSiblings(field: FieldPlan, slots: Slots): void {
  const siblings = field.oneofSiblings;
  for (let i = 0; i < siblings.length; i++) slots[siblings[i]!] = undefined;
}

/** A scalar or enum value; undefined for an unknown value of a closed enum (kept out of JSON). */
function readValue(field: FieldPlan, r: WireReader, end: number): unknown {
  if (field.kind === Kind.ENUM) {
    const n = r.uint32() | 0;
    return field.enumPlan!.closed && !field.enumPlan!.nameByNumber.has(n) ? undefined : n;
  }
  return readScalar(field.scalar, r, end, field.strictUtf8);
}

export function readScalar(scalar: Scalar, r: WireReader, end: number, strictUtf8: boolean): unknown {
  switch (scalar) {
    case Scalar.INT32:
      return r.uint32() | 0;
    case Scalar.UINT32:
      return r.uint32() >>> 0;
    case Scalar.SINT32: {
      const n = r.uint32();
      return (n >>> 1) ^ -(n & 1);
    }
    case Scalar.BOOL:
      r.varint64();
      return r.lo !== 0 || r.hi !== 0;
    case Scalar.INT64:
      r.varint64();
      return int64ToDecimal(r.lo, r.hi);
    case Scalar.UINT64:
      r.varint64();
      return uint64ToDecimal(r.lo, r.hi);
    case Scalar.SINT64:
      r.varint64();
      zigZagDecode64(r);
      return int64ToDecimal(r.lo, r.hi);
    case Scalar.FIXED32:
      return r.fixed32();
    case Scalar.SFIXED32:
      return r.fixed32() | 0;
    case Scalar.FIXED64:
      r.fixed64();
      return uint64ToDecimal(r.lo, r.hi);
    case Scalar.SFIXED64:
      r.fixed64();
      return int64ToDecimal(r.lo, r.hi);
    case Scalar.FLOAT:
      return r.float();
    case Scalar.DOUBLE:
      return r.double();
    case Scalar.STRING:
      return r.string(end, strictUtf8);
    default:
      return r.bytes(end);
  }
}

/** The JSON-ready default of a scalar (what an absent map key or value means). */
export function scalarDefault(scalar: Scalar): unknown {
  switch (scalar) {
    case Scalar.STRING:
      return "";
    case Scalar.BYTES:
      return new Uint8Array(0);
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

function readMapEntry(field: FieldPlan, r: WireReader, end: number, slots: Slots, depth: number): void {
  const entryEnd = r.lengthEnd(end);
  const keyWt = scalarWireType(field.mapKey);
  const valueWt =
    field.kind === Kind.MESSAGE
      ? WireType.LEN
      : field.kind === Kind.ENUM
        ? WireType.VARINT
        : scalarWireType(field.scalar);
  let key: unknown;
  let value: unknown;
  let drop = false;
  while (r.pos < entryEnd) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw malformed("invalid field number 0 in a map entry");
    if (no === 1 && wt === keyWt) key = readScalar(field.mapKey, r, entryEnd, field.strictUtf8);
    else if (no === 2 && wt === valueWt) {
      if (field.kind === Kind.MESSAGE) {
        const valueEnd = r.lengthEnd(entryEnd);
        value = decodeMessage(field.message!, r, valueEnd, value as Slots | undefined, depth + 1, 0);
      } else {
        value = readValue(field, r, entryEnd);
        drop = value === undefined; // unknown value of a closed enum: the entry is unknown data
      }
    } else if (wt === WireType.EGROUP) throw malformed("unexpected end of group in a map entry");
    else r.skip(wt, no, entryEnd);
  }
  if (r.pos !== entryEnd) throw malformed("a map entry runs past its end");
  if (drop) return;
  if (value === undefined) {
    value =
      field.kind === Kind.MESSAGE
        ? new Array<unknown>(field.message!.fields.length)
        : field.kind === Kind.ENUM
          ? 0
          : scalarDefault(field.scalar);
  }
  let map = slots[field.index] as Map<string, unknown> | undefined;
  if (map === undefined) slots[field.index] = map = new Map();
  map.set(key === undefined ? String(scalarDefault(field.mapKey)) : String(key), value);
}
