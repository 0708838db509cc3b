/**
 * Rate-limit keys: which bucket a request counts against. A key is built from the parts a policy lists
 * (`consumer`, `ip`, `claim:<name>`, `header:<name>`, `method`), compiled once into one function per part.
 * A part with no value (an anonymous caller, a missing header) is the fixed "-" so that such requests still
 * share one limit instead of escaping it. Key values may be secrets (a header can carry a token), so keys
 * never reach a log line or an error, and long ones are replaced by their SHA-256.
 */
import { createHash } from "node:crypto";
import type { PolicyContext } from "./policy.js";

/** The key parts a rate-limit config may list. */
export const KEY_PART_PATTERN = "^(consumer|ip|method|claim:.+|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+)$";

/** What a part with no value counts as. Never produced by a present value (those are length-prefixed). */
export const MISSING_PART = "-";

/** Keys longer than this are hashed, bounding the memory a local store holds per key. */
const MAX_PLAIN_KEY_LENGTH = 128;

type PartReader = (context: PolicyContext) => string | undefined;

function claimText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function partReader(part: string): PartReader {
  if (part === "ip") return (context) => context.clientIp;
  if (part === "consumer") return (context) => context.identity?.consumer?.name;
  if (part === "method") return (context) => context.method.selector;
  if (part.startsWith("claim:")) {
    const claim = part.slice("claim:".length);
    return (context) => claimText(context.identity?.claims?.[claim]);
  }
  if (part.startsWith("header:")) {
    const header = part.slice("header:".length).toLowerCase();
    return (context) => {
      const value = context.headers[header];
      return Array.isArray(value) ? value.join(", ") : value;
    };
  }
  throw new Error(`unknown rate-limit key part "${part}"`);
}

/** One part as it appears in the key: `<length>:<value>`, or "-" when absent (unambiguous when joined). */
function encode(value: string | undefined): string {
  return value === undefined ? MISSING_PART : `${value.length}:${value}`;
}

/** SHA-256 of a key, base64url: what long local keys and every Redis key use instead of the values. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("base64url");
}

/**
 * Compiles `parts` (already validated against KEY_PART_PATTERN) into a function giving a request's key.
 * The result holds the values themselves (hashed when long): callers must not log it.
 */
export function compileKey(parts: readonly string[]): (context: PolicyContext) => string {
  const readers = parts.map(partReader);
  const finish = (key: string) => (key.length > MAX_PLAIN_KEY_LENGTH ? `#${hashKey(key)}` : key);
  if (readers.length === 1) {
    const read = readers[0] as PartReader;
    return (context) => finish(encode(read(context)));
  }
  return (context) => {
    let key = "";
    for (const read of readers) key += `${encode(read(context))}|`;
    return finish(key);
  };
}
