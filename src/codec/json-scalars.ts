import { halvesFromBigInt, halvesFromSafeInteger, type Int64Halves } from "./int64.js";
import { type EnumPlan, SCALAR_NAMES, Scalar } from "./plan.js";
import { describe, fail, quote, RawNumber } from "./problems.js";

/**
 * JSON values → protobuf scalars, with the proto3 JSON mapping's acceptance rules (numbers or numeric
 * strings for integers and floats, "NaN"/"Infinity" for floats, standard or URL-safe base64 for bytes)
 * and a precise message for everything else.
 */

const MAX_FLOAT32 = 3.4028234663852886e38;
const INTEGER_RE = /^[+-]?[0-9]+$/;
// A number in a JSON string: decimal only, no surrounding space, no hex, no "Infinity" spelled otherwise.
const NUMERIC_RE = /^[+-]?(?:[0-9]*\.[0-9]+|[0-9]+\.?)(?:[eE][+-]?[0-9]+)?$/;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function expected(scalar: Scalar, value: unknown): never {
  fail(`expected ${SCALAR_NAMES[scalar]}, got ${describe(value)}`);
}

function outOfRange(scalar: Scalar, value: unknown): never {
  fail(`${describe(value)} is out of range for ${SCALAR_NAMES[scalar]}`);
}

/**
 * The integer syntax of text (a JSON string, or a path or query value): a signed decimal integer or (as
 * protobuf's own parsers accept) a number with an integral value, like "1e5" or "1.0". undefined: none.
 */
export function parseIntegerText(text: string): bigint | undefined {
  if (INTEGER_RE.test(text)) return BigInt(text);
  if (NUMERIC_RE.test(text)) {
    const n = Number(text);
    if (Number.isInteger(n)) return BigInt(n);
  }
  return undefined;
}

/** Whether an integer fits the 32- or 64-bit, signed or unsigned scalar. */
export function integerInRange(scalar: Scalar, n: bigint): boolean {
  switch (scalar) {
    case Scalar.UINT32:
    case Scalar.FIXED32:
      return n >= 0n && n <= 0xffffffffn;
    case Scalar.UINT64:
    case Scalar.FIXED64:
      return n >= 0n && n <= UINT64_MAX;
    case Scalar.INT64:
    case Scalar.SINT64:
    case Scalar.SFIXED64:
      return n >= INT64_MIN && n <= INT64_MAX;
    default:
      return n >= -0x80000000n && n <= 0x7fffffffn;
  }
}

/** An integer given as a JSON string, a RawNumber or a non-safe number, as a BigInt. */
function integerFromText(scalar: Scalar, value: unknown): bigint {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) expected(scalar, value);
    return BigInt(value);
  }
  const n = parseIntegerText(value instanceof RawNumber ? value.text : (value as string));
  return n ?? expected(scalar, value);
}

/** int32, sint32, sfixed32, uint32 and fixed32 values. */
export function int32FromJson(scalar: Scalar, value: unknown): number {
  const unsigned = scalar === Scalar.UINT32 || scalar === Scalar.FIXED32;
  if (typeof value === "number" && Number.isInteger(value)) {
    if (unsigned ? value >= 0 && value <= 0xffffffff : value >= -0x80000000 && value <= 0x7fffffff) {
      return value === 0 ? 0 : value; // -0 → 0
    }
    outOfRange(scalar, value);
  }
  if (typeof value !== "string" && !(value instanceof RawNumber) && typeof value !== "number") {
    expected(scalar, value);
  }
  const n = integerFromText(scalar, value);
  if (!integerInRange(scalar, n)) outOfRange(scalar, value);
  return Number(n);
}

/** int64, sint64, sfixed64, uint64 and fixed64 values, into two's-complement halves. */
export function int64FromJson(scalar: Scalar, value: unknown, out: Int64Halves): void {
  const unsigned = scalar === Scalar.UINT64 || scalar === Scalar.FIXED64;
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    if (unsigned && value < 0) outOfRange(scalar, value);
    halvesFromSafeInteger(value, out);
    return;
  }
  if (typeof value === "string" && value.length <= 16 && INTEGER_RE.test(value) && value[0] !== "+") {
    const n = Number(value);
    if (Number.isSafeInteger(n)) {
      if (unsigned && n < 0) outOfRange(scalar, value);
      halvesFromSafeInteger(n, out);
      return;
    }
  }
  if (typeof value !== "string" && !(value instanceof RawNumber) && typeof value !== "number") {
    expected(scalar, value);
  }
  const n = integerFromText(scalar, value);
  if (!integerInRange(scalar, n)) outOfRange(scalar, value);
  halvesFromBigInt(n, out);
}

/** "NaN", "Infinity", "-Infinity" (the proto3 JSON spellings of the non-finite floats) → the number. */
export function specialFloat(text: string): number | undefined {
  if (text === "NaN") return Number.NaN;
  if (text === "Infinity") return Number.POSITIVE_INFINITY;
  if (text === "-Infinity") return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** A decimal number in text (no hex, no spaces, no other spelling of Infinity) → the number, or undefined. */
export function parseDecimalText(text: string): number | undefined {
  return NUMERIC_RE.test(text) ? Number(text) : undefined;
}

/**
 * A finite double fits a float when it rounds to a finite float32: "3.4028235e+38", the shortest text
 * of FLT_MAX (what Go and C++ print), is a hair above FLT_MAX as a double and must be accepted.
 */
export function float32InRange(n: number): boolean {
  return !(Math.abs(n) > MAX_FLOAT32 && !Number.isFinite(Math.fround(n)));
}

/** float and double values: JSON numbers, numeric strings, "NaN", "Infinity", "-Infinity". */
export function floatFromJson(scalar: Scalar, value: unknown): number {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const special = specialFloat(value);
    if (special !== undefined) return special;
    n = parseDecimalText(value) ?? expected(scalar, value);
  } else if (value instanceof RawNumber) n = value.value;
  else return expected(scalar, value);
  // JSON.parse turns 1e400 into Infinity: a finite literal out of range, rejected as such.
  if (!Number.isFinite(n)) fail(`number out of range for ${SCALAR_NAMES[scalar]}`);
  if (scalar === Scalar.FLOAT && !float32InRange(n)) outOfRange(scalar, value);
  return n;
}

export function boolFromJson(value: unknown): boolean {
  if (typeof value !== "boolean") expected(Scalar.BOOL, value);
  return value;
}

export function stringFromJson(value: unknown): string {
  if (typeof value !== "string") expected(Scalar.STRING, value);
  if (!value.isWellFormed()) fail(`string ${quote(value)} holds an unpaired UTF-16 surrogate`);
  return value;
}

// Standard or URL-safe alphabet, with or without padding (proto3 JSON: both are accepted on input).
const BASE64_RE = /^[A-Za-z0-9+/_-]*$/;

/** Base64 text without its padding (Buffer decodes both alphabets), or undefined when it is not base64. */
export function base64Body(text: string): string | undefined {
  let body = text;
  if (body.endsWith("=")) {
    body = body.endsWith("==") ? body.slice(0, -2) : body.slice(0, -1);
    if (text.length % 4 !== 0) return undefined;
  }
  return body.length % 4 === 1 || !BASE64_RE.test(body) ? undefined : body;
}

/** Checks base64 text and returns it without padding. */
export function base64FromJson(value: unknown): string {
  if (typeof value !== "string") fail(`expected base64 string (bytes), got ${describe(value)}`);
  return base64Body(value) ?? fail(`invalid base64 ${quote(value)}`);
}

/**
 * An enum value: its name (any alias) or its number. Returns undefined for an unknown name when unknown
 * values are discarded (the field is then left unset, as protobuf's parsers do).
 */
export function enumFromJson(plan: EnumPlan, value: unknown, discardUnknown: boolean): number | undefined {
  if (typeof value === "string") {
    const n = plan.byName.get(value);
    if (n !== undefined) return n;
    if (discardUnknown) return undefined;
    fail(`unknown value ${quote(value)} for enum ${plan.typeName}`);
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      fail(`${describe(value)} is not a valid enum number (int32) for ${plan.typeName}`);
    }
    if (plan.closed && !plan.nameByNumber.has(value)) {
      if (discardUnknown) return undefined;
      fail(`unknown number ${value} for closed enum ${plan.typeName}`);
    }
    return value;
  }
  if (value === null && plan.isNullValue) return 0;
  return fail(`expected ${plan.typeName} (enum name or number), got ${describe(value)}`);
}

/** Canonical decimal map keys only: "01", "+1" and "-0" would alias other keys of the same map. */
const SIGNED_KEY_RE = /^(?:0|-?[1-9][0-9]*)$/;
const UNSIGNED_KEY_RE = /^(?:0|[1-9][0-9]*)$/;

/** Checks an integer map key's syntax (the value range is checked by the scalar conversion). */
export function checkIntegerKey(scalar: Scalar, key: string): void {
  const unsigned =
    scalar === Scalar.UINT32 ||
    scalar === Scalar.FIXED32 ||
    scalar === Scalar.UINT64 ||
    scalar === Scalar.FIXED64;
  if (!(unsigned ? UNSIGNED_KEY_RE : SIGNED_KEY_RE).test(key)) {
    fail(`invalid ${SCALAR_NAMES[scalar]} map key ${quote(key)}`);
  }
}
