import * as grpc from "@grpc/grpc-js";

/**
 * HTTP headers ⇄ gRPC metadata, as CONTRACT.md §4 says. Incoming: an explicit allow-list (never "all
 * headers"): Authorization, `Grpc-Metadata-*` (prefix removed), W3C trace context, X-Request-Id, the
 * configured `forwardHeaders` as they are, and X-Forwarded-For/-Host added. Keys ending in `-bin` carry
 * base64 on the HTTP side and bytes on the gRPC side. Outgoing: header metadata as `Grpc-Metadata-*`,
 * trailers as `Grpc-Trailer-*`.
 */

export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface MetadataContext {
  requestId: string;
  /** The client's address, appended to X-Forwarded-For. */
  remoteAddress: string | undefined;
  /** Headers named by the `forwardHeaders` option, lower case. */
  forwardHeaders: ReadonlySet<string>;
  /** Told about each dropped key or value (logged by the caller). */
  onDropped(key: string, reason: string): void;
  /** What the request's policy chain decided (issue 15); absent when the method has no chain. */
  policy?: PolicyMetadata | undefined;
}

/** The metadata side of a policy chain's decisions. */
export interface PolicyMetadata {
  /** Request headers (lower case) dropped before metadata is built from them. */
  readonly removeHeaders: ReadonlySet<string>;
  /** Metadata keys removed from what the client sent. */
  readonly removeMetadata: ReadonlySet<string>;
  /** Every key a policy of the chain may set: the client's own values are always removed. */
  readonly setsMetadata: ReadonlySet<string>;
  /** Keys set by the chain for this request (after the removals). */
  readonly setMetadata: ReadonlyMap<string, string>;
}

const PASS_THROUGH = new Set(["authorization", "traceparent", "tracestate", "baggage"]);
const METADATA_PREFIX = "grpc-metadata-";

// RFC 9110 §7.6.1 hop-by-hop fields, HTTP/2 connection-specific ones, and keys gRPC reserves for itself.
const NEVER_FORWARDED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "content-type",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
]);

// gRPC metadata keys: lower-case ASCII letters, digits, `-`, `_`, `.` (PROTOCOL-HTTP2.md, Custom-Metadata).
const KEY_RE = /^[0-9a-z_.-]+$/;
// ASCII values: printable characters and space, no leading/trailing control characters.
const VALUE_RE = /^[\x20-\x7e]*$/;

function add(metadata: grpc.Metadata, key: string, value: string, context: MetadataContext): void {
  if (!KEY_RE.test(key) || key.startsWith(":") || NEVER_FORWARDED.has(key)) {
    context.onDropped(key, "not a forwardable gRPC metadata key");
    return;
  }
  if (key.endsWith("-bin")) {
    const text = value.trim();
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) {
      context.onDropped(key, "value is not base64");
      return;
    }
    metadata.add(key, Buffer.from(text, "base64"));
    return;
  }
  if (!VALUE_RE.test(value)) {
    context.onDropped(key, "value has non-ASCII or control characters");
    return;
  }
  metadata.add(key, value);
}

function valuesOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Builds the metadata sent to the backend for one request. */
export function metadataFromHeaders(headers: HttpHeaders, context: MetadataContext): grpc.Metadata {
  const metadata = new grpc.Metadata();
  const { policy } = context;
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const key = name.toLowerCase();
    if (policy?.removeHeaders.has(key)) continue;
    let target: string | undefined;
    if (key.startsWith(METADATA_PREFIX)) target = key.slice(METADATA_PREFIX.length);
    else if (PASS_THROUGH.has(key) || context.forwardHeaders.has(key)) target = key;
    if (target === undefined || target === "x-request-id" || target === "x-forwarded-for") continue;
    // A key a policy sets can never come from the client, whether or not this request sets it.
    if (policy && (policy.setsMetadata.has(target) || policy.removeMetadata.has(target))) continue;
    for (const value of valuesOf(raw)) add(metadata, target, value, context);
  }
  if (policy) {
    for (const [key, value] of policy.setMetadata) {
      if (VALUE_RE.test(value)) metadata.set(key, value);
      else context.onDropped(key, "value set by a policy has non-ASCII or control characters");
    }
  }
  metadata.set("x-request-id", context.requestId);
  const forwardedFor = valuesOf(headers["x-forwarded-for"]).join(", ");
  const chain = [forwardedFor, context.remoteAddress].filter((s) => s).join(", ");
  if (chain) metadata.set("x-forwarded-for", chain);
  const host = headers["x-forwarded-host"] ?? headers.host ?? headers[":authority"];
  if (typeof host === "string" && VALUE_RE.test(host)) metadata.set("x-forwarded-host", host);
  return metadata;
}

// Metadata the transport itself produces; not something the backend "said".
const NOT_EXPOSED = new Set([
  "content-type",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-encoding",
  "grpc-accept-encoding",
]);

/** Response headers for backend header metadata (`Grpc-Metadata-*`) and trailers (`Grpc-Trailer-*`). */
export function headersFromMetadata(
  headers: grpc.Metadata | undefined,
  trailers: grpc.Metadata | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const copy = (metadata: grpc.Metadata | undefined, prefix: string): void => {
    if (!metadata) return;
    for (const [key, values] of Object.entries(metadata.toJSON())) {
      if (NOT_EXPOSED.has(key) || key.startsWith(":")) continue;
      out[`${prefix}${key}`] = values.map((v) => (Buffer.isBuffer(v) ? v.toString("base64") : String(v)));
    }
  };
  copy(headers, "grpc-metadata-");
  copy(trailers, "grpc-trailer-");
  return out;
}
