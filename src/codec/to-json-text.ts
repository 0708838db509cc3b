import { decodeMessage, type Slots } from "./decode.js";
import { type FieldPlan, Kind, type MessagePlan, Scalar, Unset, Wkt } from "./plan.js";
import { atField, atIndex, atKey } from "./problems.js";
import { formatDuration, formatTimestamp } from "./time.js";
import {
  fieldMaskPathToJson,
  isDefault,
  orderedKeys,
  shortestFloat32,
  type ToJsonContext,
  unrepresentable,
  wktSlot,
} from "./to-json-forms.js";
import { WireReader } from "./wire-reader.js";

/**
 * Slots → JSON text directly, the one JSON writer (whole responses, `response_body` fields, error
 * details): no intermediate objects, no JSON.stringify pass, keys pre-quoted in the plan. Fields print in
 * declaration order, applying the output options; with emitUnpopulated every field is present (see Unset
 * in plan.ts for what unset fields render as). A double or float -0 prints as -0.
 */

export function messageToText(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): string {
  if (plan.wkt !== Wkt.NONE) return wktToText(plan, slots, ctx, depth);
  const fields = plan.fields;
  const protoNames = ctx.useProtoNames;
  const emit = ctx.emitUnpopulated;
  let out = "{";
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = slots[i];
    let text: string | undefined;
    if (value === undefined) {
      if (!emit || field.unset === Unset.OMIT) continue;
      text = unsetText(field, ctx);
    } else {
      try {
        text = fieldToText(field, value, ctx, depth);
      } catch (error) {
        atField(error, protoNames ? field.protoName : field.jsonName);
      }
      if (text === undefined) continue;
    }
    if (out.length > 1) out += ",";
    out += protoNames ? field.protoKeyText : field.jsonKeyText;
    out += text;
  }
  return `${out}}`;
}

/**
 * One field of a decoded message as JSON text (`response_body`): what messageToText prints under the
 * field's key, or `null` where it prints nothing (an omitted field, or `field` undefined: no such field).
 */
export function fieldOfMessageToText(field: FieldPlan | undefined, slots: Slots, ctx: ToJsonContext): string {
  if (field === undefined) return "null";
  const value = slots[field.index];
  if (value === undefined) {
    return !ctx.emitUnpopulated || field.unset === Unset.OMIT ? "null" : unsetText(field, ctx);
  }
  try {
    return fieldToText(field, value, ctx, 0) ?? "null";
  } catch (error) {
    atField(error, ctx.useProtoNames ? field.protoName : field.jsonName);
  }
}

/** undefined: an implicit-presence default that is left out. */
function fieldToText(
  field: FieldPlan,
  value: unknown,
  ctx: ToJsonContext,
  depth: number,
): string | undefined {
  if (field.map) {
    const map = value as Map<string, unknown>;
    if (map.size === 0) return ctx.emitUnpopulated ? "{}" : undefined;
    let out = "{";
    for (const key of orderedKeys(map, field.mapKey)) {
      let text: string;
      try {
        text = valueToText(field, map.get(key), ctx, depth);
      } catch (error) {
        atKey(error, key);
      }
      if (out.length > 1) out += ",";
      out += `${quoteString(key)}:${text}`;
    }
    return `${out}}`;
  }
  if (field.repeated) {
    const list = value as unknown[];
    if (list.length === 0) return ctx.emitUnpopulated ? "[]" : undefined;
    let out = "[";
    for (let i = 0; i < list.length; i++) {
      if (i > 0) out += ",";
      try {
        out += valueToText(field, list[i], ctx, depth);
      } catch (error) {
        atIndex(error, i);
      }
    }
    return `${out}]`;
  }
  if (!field.presence && !ctx.emitUnpopulated && isDefault(field, value)) return undefined;
  return valueToText(field, value, ctx, depth);
}

function valueToText(field: FieldPlan, value: unknown, ctx: ToJsonContext, depth: number): string {
  switch (field.kind) {
    case Kind.MESSAGE:
      return messageToText(field.message!, value as Slots, ctx, depth + 1);
    case Kind.ENUM: {
      const plan = field.enumPlan!;
      if (plan.isNullValue) return "null";
      if (ctx.enumsAsInts) return String(value);
      return plan.quotedNameByNumber.get(value as number) ?? String(value);
    }
    default:
      return scalarToText(field.scalar, value);
  }
}

// Characters JSON text must escape (decoded UTF-8 holds no lone surrogates, so none to escape there).
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly U+0000 to U+001F.
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** A string as JSON text: quoted directly when nothing needs escaping (most strings), else JSON.stringify. */
export function quoteString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

export function scalarToText(scalar: Scalar, value: unknown): string {
  switch (scalar) {
    case Scalar.STRING:
      return quoteString(value as string);
    case Scalar.BYTES: {
      const bytes = value as Uint8Array;
      return `"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}"`;
    }
    case Scalar.INT64:
    case Scalar.UINT64:
    case Scalar.SINT64:
    case Scalar.FIXED64:
    case Scalar.SFIXED64:
      return `"${value as string}"`;
    case Scalar.DOUBLE:
    case Scalar.FLOAT: {
      const n = value as number;
      if (!Number.isFinite(n)) return `"${String(n)}"`;
      if (Object.is(n, -0)) return "-0";
      return String(scalar === Scalar.FLOAT ? shortestFloat32(n) : n);
    }
    default:
      return String(value); // int32 family, bool
  }
}

function unsetText(field: FieldPlan, ctx: ToJsonContext): string {
  switch (field.unset) {
    case Unset.LIST:
      return "[]";
    case Unset.MAP:
      return "{}";
    case Unset.NULL:
      return "null";
    default:
      if (field.kind === Kind.ENUM) return valueToText(field, 0, ctx, 0);
      return scalarDefaultText(field.scalar);
  }
}

function scalarDefaultText(scalar: Scalar): string {
  switch (scalar) {
    case Scalar.STRING:
    case Scalar.BYTES:
      return '""';
    case Scalar.BOOL:
      return "false";
    case Scalar.INT64:
    case Scalar.UINT64:
    case Scalar.SINT64:
    case Scalar.FIXED64:
    case Scalar.SFIXED64:
      return '"0"';
    default:
      return "0";
  }
}

function wktToText(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): string {
  switch (plan.wkt) {
    case Wkt.TIMESTAMP: {
      const seconds = Number(wktSlot(plan, slots, 1) ?? 0);
      const nanos = (wktSlot(plan, slots, 2) as number | undefined) ?? 0;
      const text = formatTimestamp(seconds, nanos);
      if (text === undefined)
        throw unrepresentable(`Timestamp (seconds ${seconds}, nanos ${nanos}) is out of range`);
      return `"${text}"`;
    }
    case Wkt.DURATION: {
      const seconds = Number(wktSlot(plan, slots, 1) ?? 0);
      const nanos = (wktSlot(plan, slots, 2) as number | undefined) ?? 0;
      const text = formatDuration(seconds, nanos);
      if (text === undefined)
        throw unrepresentable(`Duration (seconds ${seconds}, nanos ${nanos}) is out of range`);
      return `"${text}"`;
    }
    case Wkt.FIELD_MASK:
      return JSON.stringify(
        ((wktSlot(plan, slots, 1) as string[] | undefined) ?? []).map(fieldMaskPathToJson).join(","),
      );
    case Wkt.WRAPPER: {
      const field = plan.fields[0]!;
      const value = slots[field.index];
      return value === undefined ? scalarDefaultText(field.scalar) : scalarToText(field.scalar, value);
    }
    case Wkt.STRUCT:
      return structToText(plan, slots, ctx, depth);
    case Wkt.LIST_VALUE:
      return listToText(plan, slots, ctx, depth);
    case Wkt.VALUE:
      return jsonValueToText(plan, slots, ctx, depth);
    default:
      return anyToText(plan, slots, ctx, depth);
  }
}

function structToText(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): string {
  const fields = wktSlot(plan, slots, 1) as Map<string, Slots> | undefined;
  if (fields === undefined || fields.size === 0) return "{}";
  const valuePlan = plan.byNumber.get(1)!.message!;
  let out = "{";
  for (const key of orderedKeys(fields, Scalar.STRING)) {
    let text: string;
    try {
      text = jsonValueToText(valuePlan, fields.get(key)!, ctx, depth + 1);
    } catch (error) {
      atKey(error, key);
    }
    if (out.length > 1) out += ",";
    out += `${quoteString(key)}:${text}`;
  }
  return `${out}}`;
}

function listToText(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): string {
  const values = wktSlot(plan, slots, 1) as Slots[] | undefined;
  if (values === undefined) return "[]";
  const valuePlan = plan.byNumber.get(1)!.message!;
  let out = "[";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    try {
      out += jsonValueToText(valuePlan, values[i]!, ctx, depth + 1);
    } catch (error) {
      atIndex(error, i);
    }
  }
  return `${out}]`;
}

/** google.protobuf.Value. */
function jsonValueToText(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): string {
  const number = wktSlot(plan, slots, 2) as number | undefined;
  if (number !== undefined) {
    if (!Number.isFinite(number))
      throw unrepresentable(`google.protobuf.Value cannot hold ${String(number)} in JSON`);
    return Object.is(number, -0) ? "-0" : String(number);
  }
  const string = wktSlot(plan, slots, 3);
  if (string !== undefined) return quoteString(string as string);
  const bool = wktSlot(plan, slots, 4);
  if (bool !== undefined) return bool ? "true" : "false";
  const struct = wktSlot(plan, slots, 5) as Slots | undefined;
  if (struct !== undefined) return structToText(plan.byNumber.get(5)!.message!, struct, ctx, depth + 1);
  const list = wktSlot(plan, slots, 6) as Slots | undefined;
  if (list !== undefined) return listToText(plan.byNumber.get(6)!.message!, list, ctx, depth + 1);
  return "null";
}

/**
 * `{"@type": url, ...fields}`, or `{"@type": url, "value": <special form>}` for a well-known type. A type
 * the schema does not know renders as `{"@type": url, "value": "<base64>"}`: the response never fails
 * because of it (CONTRACT.md §3), though such JSON cannot be sent back as a request.
 */
function anyToText(plan: MessagePlan, slots: Slots, ctx: ToJsonContext, depth: number): string {
  const typeUrl = (wktSlot(plan, slots, 1) as string | undefined) ?? "";
  const bytes = (wktSlot(plan, slots, 2) as Uint8Array | undefined) ?? new Uint8Array(0);
  if (typeUrl === "" && bytes.length === 0) return "{}";
  const head = `{"@type":${JSON.stringify(typeUrl)}`;
  const inner = ctx.resolveAny(typeUrl);
  if (inner === undefined) return `${head},"value":${scalarToText(Scalar.BYTES, bytes)}}`;
  let body: string;
  try {
    const decoded = decodeMessage(inner, new WireReader(bytes), bytes.length, undefined, depth + 1, 0);
    body = messageToText(inner, decoded, ctx, depth + 1);
  } catch (error) {
    atField(error, "value");
  }
  if (inner.wkt !== Wkt.NONE) return `${head},"value":${body}}`;
  return body === "{}" ? `${head}}` : `${head},${body.slice(1)}`;
}
