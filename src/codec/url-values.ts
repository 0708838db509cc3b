import {
  base64Body,
  enumFromJson,
  float32InRange,
  integerInRange,
  parseDecimalText,
  parseIntegerText,
  specialFloat,
  stringFromJson,
} from "./json-scalars.js";
import { type EnumPlan, type FieldPlan, Kind, type MessagePlan, SCALAR_NAMES, Scalar, Wkt } from "./plan.js";
import { CodecProblem, fail, quote } from "./problems.js";
import { parseDuration, parseTimestamp } from "./time.js";

/**
 * Path variables and query parameters (google.api.http "(c) All other fields"): one URL text → the proto3
 * JSON value of one field value, by the same scalar rules as a JSON body (json-scalars.ts, time.ts), so a
 * value means the same wherever the client puts it: `+5`, `1e3` and `1.0` are integers in a query as in
 * a body (protobuf's parsers accept them in JSON strings). What a URL adds: `true`/`false` and numbers
 * arrive as text, enums may be given by number, a base64 `+` that form encoding turned into a space is
 * restored, and FieldMask paths may be snake_case (as grpc-gateway takes `update_mask=display_name`).
 * Problems are CodecProblems worded for a URL; the router adds the parameter's name.
 */

/** Well-known message types with a JSON string form (Timestamp, Duration, FieldMask, wrappers): set from one URL value. */
export function hasUrlForm(plan: MessagePlan): boolean {
  return (
    plan.wkt === Wkt.TIMESTAMP ||
    plan.wkt === Wkt.DURATION ||
    plan.wkt === Wkt.FIELD_MASK ||
    plan.wkt === Wkt.WRAPPER
  );
}

/**
 * `text` as the JSON value of one value of `field` (the singular value, or one element of a repeated
 * field): a scalar, an enum, or a message with hasUrlForm. Throws CodecProblem.
 */
export function fieldValueFromUrl(field: FieldPlan, text: string): unknown {
  switch (field.kind) {
    case Kind.ENUM:
      return enumFromUrl(field.enumPlan!, text);
    case Kind.MESSAGE:
      return wellKnownFromUrl(field.message!, text);
    default:
      return scalarFromUrl(field.scalar, text);
  }
}

function scalarFromUrl(scalar: Scalar, text: string): unknown {
  const name = SCALAR_NAMES[scalar];
  switch (scalar) {
    case Scalar.STRING:
      return stringFromJson(text);
    case Scalar.BOOL:
      // The JSON literals, as text (the form proto3 JSON uses for bool map keys).
      if (text === "true") return true;
      if (text === "false") return false;
      return fail(`expected true or false, got ${quote(text)}`);
    case Scalar.BYTES: {
      // A `+` of standard base64 sent unencoded in a query string arrives as a space (form encoding);
      // base64 has no spaces, so restoring it is unambiguous.
      const b64 = text.includes(" ") ? text.replaceAll(" ", "+") : text;
      if (base64Body(b64) === undefined) fail(`expected base64, got ${quote(text)}`);
      return b64;
    }
    case Scalar.DOUBLE:
    case Scalar.FLOAT: {
      if (specialFloat(text) !== undefined) return text; // "NaN", "Infinity", "-Infinity" stay strings
      const n = parseDecimalText(text);
      if (n === undefined) fail(`expected a number (${name}), got ${quote(text)}`);
      if (!Number.isFinite(n) || (scalar === Scalar.FLOAT && !float32InRange(n)))
        fail(`${text} is out of range for ${name}`);
      return n;
    }
    default: {
      const n = parseIntegerText(text);
      if (n === undefined) fail(`expected an integer (${name}), got ${quote(text)}`);
      if (!integerInRange(scalar, n)) fail(`${text} is out of range for ${name}`);
      // proto3 JSON: 64-bit integers are strings, the 32-bit ones numbers.
      return isLong(scalar) ? n.toString() : Number(n);
    }
  }
}

function isLong(scalar: Scalar): boolean {
  return (
    scalar === Scalar.INT64 ||
    scalar === Scalar.UINT64 ||
    scalar === Scalar.SINT64 ||
    scalar === Scalar.FIXED64 ||
    scalar === Scalar.SFIXED64
  );
}

/** A name (aliases included) or, from a URL (CONTRACT.md §2), a number; open enums keep unknown numbers. */
function enumFromUrl(plan: EnumPlan, text: string): unknown {
  if (plan.byName.has(text)) return text;
  const n = parseIntegerText(text);
  if (n !== undefined && integerInRange(Scalar.INT32, n)) return enumFromJson(plan, Number(n), false);
  const names = [...plan.byName.keys()];
  const shown = names.length > 8 ? `${names.slice(0, 8).join(", ")}, …` : names.join(", ");
  return fail(`${quote(text)} is not a value of ${plan.typeName} (${shown})`);
}

const FIELD_MASK_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function wellKnownFromUrl(plan: MessagePlan, text: string): unknown {
  switch (plan.wkt) {
    case Wkt.WRAPPER:
      return scalarFromUrl(plan.fields[0]!.scalar, text);
    case Wkt.TIMESTAMP:
      if (!accepts(parseTimestamp, text))
        fail(`expected an RFC 3339 timestamp like 2024-01-31T12:00:00Z, got ${quote(text)}`);
      return text;
    case Wkt.DURATION:
      if (!accepts(parseDuration, text)) fail(`expected a duration like 1.5s, got ${quote(text)}`);
      return text;
    case Wkt.FIELD_MASK: {
      // The JSON form is lowerCamel `"a.b,c"`; snake_case paths from a URL are camel-cased first.
      if (text === "") return "";
      const paths = text.split(",");
      for (const p of paths) if (!FIELD_MASK_PATH.test(p)) fail(`invalid field mask path ${quote(p)}`);
      return paths.map((p) => p.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join(",");
    }
    default:
      return fail(`${plan.typeName} cannot be set from the URL`);
  }
}

function accepts(parse: (text: string) => unknown, text: string): boolean {
  try {
    parse(text);
    return true;
  } catch (error) {
    if (error instanceof CodecProblem) return false;
    throw error;
  }
}
