/**
 * One query-parameter or path-variable string → the proto3 JSON value of one (singular) field, so the
 * codec can parse the merged request with the rest of the JSON. Follows the proto3 JSON mapping's
 * input forms (https://protobuf.dev/programming-guides/json/) restricted to what a URL can carry, and
 * reports a problem text instead of throwing, so the caller can name the parameter.
 */
import type { FieldInfo } from "./message-info.js";

export type Converted =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: string };

const ok = (value: unknown): Converted => ({ ok: true, value });
const bad = (problem: string): Converted => ({ ok: false, problem });

const INTEGER = /^-?[0-9]+$/;
// JSON number syntax (no leading "+", no hex), which the proto3 JSON mapping accepts for floats.
const FLOAT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const MAX_FLOAT32 = 3.4028234663852886e38;
const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const LONG = new Set(["int64", "sint64", "sfixed64", "uint64", "fixed64"]);
// Standard or URL-safe alphabet, padding optional (the proto3 JSON mapping accepts both on input).
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
// RFC 3339 with the proto3 JSON constraints ("Z" or an offset, 0–9 fractional digits, upper-case T).
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const DURATION = /^-?[0-9]+(?:\.[0-9]{1,9})?s$/;
const FIELD_MASK_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const WRAPPED: Readonly<Record<string, string>> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};

/** Converts `text` for one element of `field` (a repeated field's element, or the singular value). */
export function convertFieldValue(field: FieldInfo, text: string): Converted {
  switch (field.kind) {
    case "scalar":
      return convertScalar(field.scalarType, text);
    case "enum":
      return convertEnum(field, text);
    case "message":
      return field.wellKnown === undefined
        ? bad(
            `${field.messageType?.fullName.slice(1)} is a message; set its fields one by one (${field.protoName}.<field>)`,
          )
        : convertWellKnown(field.wellKnown, text);
    case "map":
      return bad("map fields cannot be set from the URL");
  }
}

export function convertScalar(scalarType: string, text: string): Converted {
  switch (scalarType) {
    case "string":
      return ok(text);
    case "bool":
      // proto3 JSON booleans are `true`/`false` only.
      return text === "true"
        ? ok(true)
        : text === "false"
          ? ok(false)
          : bad(`expected true or false, got "${text}"`);
    case "double":
    case "float":
      return convertFloat(scalarType, text);
    case "bytes":
      return convertBytes(text);
    default: {
      const range = INT_RANGES[scalarType];
      if (range === undefined) return bad(`unsupported scalar type ${scalarType}`);
      if (!INTEGER.test(text)) return bad(`expected an integer (${scalarType}), got "${text}"`);
      const n = BigInt(text);
      if (n < range[0] || n > range[1]) return bad(`${text} is out of range for ${scalarType}`);
      // proto3 JSON: 64-bit integers are strings; the 32-bit ones are numbers.
      return ok(LONG.has(scalarType) ? n.toString() : Number(n));
    }
  }
}

function convertFloat(scalarType: "double" | "float", text: string): Converted {
  // proto3 JSON spells the special values as these strings.
  if (text === "NaN" || text === "Infinity" || text === "-Infinity") return ok(text);
  if (!FLOAT.test(text)) return bad(`expected a number (${scalarType}), got "${text}"`);
  const n = Number(text);
  if (!Number.isFinite(n) || (scalarType === "float" && Math.abs(n) > MAX_FLOAT32))
    return bad(`${text} is out of range for ${scalarType}`);
  return ok(n);
}

function convertBytes(text: string): Converted {
  // A `+` of standard base64 sent unencoded in a query string arrives as a space (form encoding);
  // base64 has no spaces, so restoring it is unambiguous.
  const b64 = text.includes(" ") ? text.replaceAll(" ", "+") : text;
  if (!BASE64.test(b64) || b64.replace(/=+$/, "").length % 4 === 1)
    return bad(`expected base64, got "${text}"`);
  return ok(b64);
}

function convertEnum(field: FieldInfo, text: string): Converted {
  const enumType = field.enumType;
  if (enumType === undefined) return bad("enum type not resolved");
  if (Object.hasOwn(enumType.values, text)) return ok(text);
  // Numbers are accepted on input (CONTRACT.md §2); open enums keep unknown numbers.
  if (INTEGER.test(text)) {
    const n = BigInt(text);
    if (n >= -(2n ** 31n) && n < 2n ** 31n) return ok(Number(n));
  }
  const names = Object.keys(enumType.values);
  const shown = names.length > 8 ? `${names.slice(0, 8).join(", ")}, …` : names.join(", ");
  return bad(`"${text}" is not a value of ${enumType.fullName.slice(1)} (${shown})`);
}

function convertWellKnown(name: string, text: string): Converted {
  const wrapped = WRAPPED[name];
  if (wrapped !== undefined) return convertScalar(wrapped, text);
  switch (name) {
    case "google.protobuf.Timestamp":
      return TIMESTAMP.test(text) && !Number.isNaN(Date.parse(text))
        ? ok(text)
        : bad(`expected an RFC 3339 timestamp like 2024-01-31T12:00:00Z, got "${text}"`);
    case "google.protobuf.Duration":
      return DURATION.test(text) ? ok(text) : bad(`expected a duration like 1.5s, got "${text}"`);
    case "google.protobuf.FieldMask":
      return convertFieldMask(text);
    default:
      return bad(`${name} cannot be set from the URL`);
  }
}

/**
 * FieldMask's JSON form is `"a.b,c"` in lowerCamel. Query strings often use proto names
 * (`update_mask=display_name`, as grpc-gateway accepts), so snake_case paths are camel-cased here.
 */
function convertFieldMask(text: string): Converted {
  if (text === "") return ok("");
  const paths = text.split(",");
  for (const p of paths) if (!FIELD_MASK_PATH.test(p)) return bad(`invalid field mask path "${p}"`);
  return ok(paths.map((p) => p.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join(","));
}
