import { decodeMessage, type Slots } from "./decode.js";
import type { MessagePlan } from "./plan.js";
import { Scalar, Wkt } from "./plan.js";
import { atField, atIndex, atKey, CodecProblem } from "./problems.js";
import { formatDuration, formatTimestamp } from "./time.js";
import type * as ToJson from "./to-json.js";
import { WireReader } from "./wire-reader.js";

// The generic reader/writer and this module recurse into each other (a well-known type can hold
// messages, a message holds well-known types). Binding the generic functions at load, instead of
// importing them, keeps the import graph acyclic.
let generic: Pick<
  typeof ToJson,
  "defineKey" | "messageToJson" | "orderedKeys" | "scalarDefaultJson" | "scalarToJson"
>;

/** Called once by to-json.js when it loads. */
export function bindToJson(functions: typeof generic): void {
  generic = functions;
}

/** The well-known types' special JSON forms, from their decoded slots. */

export function unrepresentable(problem: string): CodecProblem {
  return new CodecProblem(problem, "unrepresentable");
}

/** The slot of a WKT field by number (WKT field numbers are fixed by google/protobuf/*.proto). */
export function wktSlot(plan: MessagePlan, slots: Slots, number: number): unknown {
  const field = plan.byNumber.get(number);
  return field === undefined ? undefined : slots[field.index];
}

export function wktToJson(
  plan: MessagePlan,
  slots: Slots,
  ctx: ToJson.ToJsonContext,
  depth: number,
): unknown {
  switch (plan.wkt) {
    case Wkt.TIMESTAMP: {
      const seconds = Number(wktSlot(plan, slots, 1) ?? 0);
      const nanos = (wktSlot(plan, slots, 2) as number | undefined) ?? 0;
      const text = formatTimestamp(seconds, nanos);
      if (text === undefined)
        throw unrepresentable(`Timestamp (seconds ${seconds}, nanos ${nanos}) is out of range`);
      return text;
    }
    case Wkt.DURATION: {
      const seconds = Number(wktSlot(plan, slots, 1) ?? 0);
      const nanos = (wktSlot(plan, slots, 2) as number | undefined) ?? 0;
      const text = formatDuration(seconds, nanos);
      if (text === undefined)
        throw unrepresentable(`Duration (seconds ${seconds}, nanos ${nanos}) is out of range`);
      return text;
    }
    case Wkt.FIELD_MASK:
      return ((wktSlot(plan, slots, 1) as string[] | undefined) ?? []).map(fieldMaskPathToJson).join(",");
    case Wkt.WRAPPER: {
      const field = plan.fields[0]!;
      const value = slots[field.index];
      return value === undefined
        ? generic.scalarDefaultJson(field.scalar)
        : generic.scalarToJson(field.scalar, value);
    }
    case Wkt.STRUCT:
      return structToJson(plan, slots, ctx, depth);
    case Wkt.LIST_VALUE:
      return listToJson(plan, slots, ctx, depth);
    case Wkt.VALUE:
      return valueToJson(plan, slots, ctx, depth);
    default:
      return anyToJson(plan, slots, ctx, depth);
  }
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

function structToJson(plan: MessagePlan, slots: Slots, ctx: ToJson.ToJsonContext, depth: number): unknown {
  const out: Record<string, unknown> = {};
  const fields = wktSlot(plan, slots, 1) as Map<string, Slots> | undefined;
  if (fields === undefined) return out;
  const valuePlan = plan.byNumber.get(1)!.message!;
  for (const key of generic.orderedKeys(fields, Scalar.STRING)) {
    let json: unknown;
    try {
      json = valueToJson(valuePlan, fields.get(key)!, ctx, depth + 1);
    } catch (error) {
      atKey(error, key);
    }
    if (key === "__proto__") generic.defineKey(out, key, json);
    else out[key] = json;
  }
  return out;
}

function listToJson(plan: MessagePlan, slots: Slots, ctx: ToJson.ToJsonContext, depth: number): unknown[] {
  const values = wktSlot(plan, slots, 1) as Slots[] | undefined;
  if (values === undefined) return [];
  const valuePlan = plan.byNumber.get(1)!.message!;
  return values.map((value, i) => {
    try {
      return valueToJson(valuePlan, value, ctx, depth + 1);
    } catch (error) {
      return atIndex(error, i);
    }
  });
}

function valueToJson(plan: MessagePlan, slots: Slots, ctx: ToJson.ToJsonContext, depth: number): unknown {
  const number = wktSlot(plan, slots, 2);
  if (number !== undefined) {
    if (!Number.isFinite(number))
      throw unrepresentable(`google.protobuf.Value cannot hold ${String(number)} in JSON`);
    return number;
  }
  const string = wktSlot(plan, slots, 3);
  if (string !== undefined) return string;
  const bool = wktSlot(plan, slots, 4);
  if (bool !== undefined) return bool;
  const struct = wktSlot(plan, slots, 5) as Slots | undefined;
  if (struct !== undefined) return structToJson(plan.byNumber.get(5)!.message!, struct, ctx, depth + 1);
  const list = wktSlot(plan, slots, 6) as Slots | undefined;
  if (list !== undefined) return listToJson(plan.byNumber.get(6)!.message!, list, ctx, depth + 1);
  return null; // null_value, or (leniently) a Value with no kind set
}

/**
 * `{"@type": url, ...fields}`, or `{"@type": url, "value": <special form>}` for a well-known type. A type
 * the schema does not know renders as `{"@type": url, "value": "<base64>"}`: the response never fails
 * because of it (CONTRACT.md §3), though such JSON cannot be sent back as a request.
 */
function anyToJson(plan: MessagePlan, slots: Slots, ctx: ToJson.ToJsonContext, depth: number): unknown {
  const typeUrl = (wktSlot(plan, slots, 1) as string | undefined) ?? "";
  const bytes = (wktSlot(plan, slots, 2) as Uint8Array | undefined) ?? new Uint8Array(0);
  if (typeUrl === "" && bytes.length === 0) return {};
  const inner = ctx.resolveAny(typeUrl);
  if (inner === undefined) return { "@type": typeUrl, value: generic.scalarToJson(Scalar.BYTES, bytes) };
  let body: unknown;
  try {
    const reader = new WireReader(bytes);
    body = generic.messageToJson(
      inner,
      decodeMessage(inner, reader, bytes.length, undefined, depth + 1, 0),
      ctx,
      depth + 1,
    );
  } catch (error) {
    atField(error, "value");
  }
  if (inner.wkt !== Wkt.NONE) return { "@type": typeUrl, value: body };
  const out: Record<string, unknown> = { "@type": typeUrl };
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key === "__proto__") generic.defineKey(out, key, value);
    else out[key] = value;
  }
  return out;
}
