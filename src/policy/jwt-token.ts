/**
 * Reading the bearer token of a request from the `jwt` policy's token sources, in order: a header
 * (`authorization` with the Bearer scheme, RFC 6750 §2.1; another header carries the token, an optional
 * `Bearer ` prefix removed), a cookie (RFC 6265 §4.2) or a query parameter (RFC 6750 §2.3) — the last two
 * for EventSource and WebSocket clients, which cannot set headers. Compiled once per policy.
 */
import type { TokenSource } from "./jwt-config.js";
import type { PolicyContext } from "./policy.js";

/**
 * The token a request carries: undefined when no source has one; "" when a source names a token and
 * holds nothing usable (`Authorization: Bearer` alone), which is a bad token, not an absent one.
 */
export type TokenReader = (context: Pick<PolicyContext, "headers" | "query">) => string | undefined;

export function compileTokenReader(sources: readonly TokenSource[]): TokenReader {
  const readers = sources.map(readerOf);
  if (readers.length === 1) return readers[0]!;
  return (context) => {
    for (const read of readers) {
      const token = read(context);
      if (token !== undefined) return token;
    }
    return undefined;
  };
}

function readerOf(source: TokenSource): TokenReader {
  if ("header" in source) {
    const name = source.header.toLowerCase();
    return name === "authorization"
      ? readAuthorization
      : (context) => headerToken(first(context.headers[name]));
  }
  if ("cookie" in source) return cookieReader(source.cookie);
  return queryReader(source.query);
}

const first = (value: string | string[] | undefined): string | undefined =>
  typeof value === "string" ? value : value?.[0];

// RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: "Bearer" 1*SP b64token.
function readAuthorization(context: Pick<PolicyContext, "headers">): string | undefined {
  const value = first(context.headers.authorization);
  if (value === undefined || value.length < 6 || value.slice(0, 6).toLowerCase() !== "bearer")
    return undefined;
  if (value.length === 6) return "";
  if (value.charCodeAt(6) !== 32) return undefined; // another scheme that starts with "bearer"
  return value.slice(7).trim();
}

function headerToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const token = value.slice(0, 7).toLowerCase() === "bearer " ? value.slice(7).trim() : value.trim();
  return token === "" ? undefined : token;
}

function cookieReader(name: string): TokenReader {
  const prefix = `${name}=`;
  return (context) => {
    const header = context.headers.cookie;
    if (header === undefined) return undefined;
    // HTTP/2 may split cookies over several header fields (RFC 9113 §8.2.3).
    const text = typeof header === "string" ? header : header.join("; ");
    for (const pair of text.split(";")) {
      const trimmed = pair.trim();
      if (!trimmed.startsWith(prefix)) continue;
      let value = trimmed.slice(prefix.length);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value === "" ? undefined : value;
    }
    return undefined;
  };
}

function queryReader(name: string): TokenReader {
  const prefix = `${name}=`;
  return (context) => {
    const query = context.query;
    if (query === "" || !query.includes(prefix)) return undefined;
    for (const pair of query.split("&")) {
      if (!pair.startsWith(prefix)) continue;
      const raw = pair.slice(prefix.length);
      if (raw === "") return undefined;
      try {
        return decodeURIComponent(raw.replace(/\+/g, " "));
      } catch {
        return raw; // not valid percent-encoding: left as is, it fails as a malformed token
      }
    }
    return undefined;
  };
}
