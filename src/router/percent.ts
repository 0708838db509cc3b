/**
 * Percent-decoding rules of google.api.http (google/api/http.proto, "Path template syntax") and of
 * RFC 3986. Malformed escapes (`%zz`, a lone `%`, bytes that are not UTF-8) are the client's mistake:
 * GatewayError INVALID_ARGUMENT naming what was being decoded.
 */
import { errors } from "../errors.js";

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const PERCENT_TRIPLET = /%([0-9A-Fa-f]{2})/g;
// The spec keeps "%2F" and "%2f" of multi-segment variables as they are; the capture group keeps them
// in the split output so they can be put back unchanged.
const ENCODED_SLASH = /(%2[Ff])/;

function decodeOrThrow(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (cause) {
    throw errors.invalidArgument(`malformed percent-encoding in ${what}: "${raw}"`, cause);
  }
}

/**
 * A single-segment variable (`{var}`, `{var=*}`): "The server side does the reverse decoding" of
 * "all characters except [-_.~0-9a-zA-Z] are percent-encoded", so everything is decoded, `%2F` too.
 */
export function decodeSingleSegment(raw: string, what: string): string {
  return raw.includes("%") ? decodeOrThrow(raw, what) : raw;
}

/**
 * A multi-segment variable (`{var=foo/*}`, `{var=**}`): "The server side does the reverse decoding,
 * except "%2F" and "%2f" are left unchanged", so a slash inside one segment stays distinguishable
 * from the segment separator.
 */
export function decodeMultiSegment(raw: string, what: string): string {
  if (!raw.includes("%")) return raw;
  const parts = raw.split(ENCODED_SLASH);
  for (let i = 0; i < parts.length; i += 2) parts[i] = decodeOrThrow(parts[i] as string, what);
  return parts.join("");
}

/**
 * RFC 3986 §6.2.2 normalization for comparing literal segments: escapes of unreserved characters are
 * decoded (`%61` is `a`) and the hex digits of the others are upper-cased (`%2f` is `%2F`). The spec
 * asks that reserved characters of a LITERAL be percent-encoded "before the matching", so both the
 * template literal and the request segment go through this function. Malformed escapes are kept.
 */
export function normalizeSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  return segment.replace(PERCENT_TRIPLET, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * One key or value of an `application/x-www-form-urlencoded` query string (the WHATWG URL standard,
 * which grpc-gateway's url.ParseQuery follows too): `+` is a space, then percent-decoding.
 */
export function decodeQueryComponent(raw: string): string {
  const spaced = raw.includes("+") ? raw.replaceAll("+", " ") : raw;
  return spaced.includes("%") ? decodeOrThrow(spaced, "query string") : spaced;
}
