import protobuf from "protobufjs";
import type { JsonOptions } from "../codec/codec.js";
import { codecFor } from "../codec/codec-cache.js";
import type { AnyJson } from "../errors.js";
import { bundleRoot } from "../reflection/schema-root.js";

/**
 * `grpc-status-details-bin` → `google.rpc.Status.details` as proto3 JSON (CONTRACT.md §3). Each detail
 * is an Any; its type is resolved in the backend's own schema root (which also holds the bundled
 * google/rpc/*.proto types: BadRequest, ErrorInfo, RetryInfo, …). A detail whose type cannot be
 * resolved or decoded is rendered as `{"@type", "value": "<base64>"}`: the response never fails
 * because of a detail.
 */

// The wire shape of google.rpc.Status with its details kept as raw Anys: decoding them is per detail.
const statusType = protobuf
  .parse(
    `
syntax = "proto3";
message Status { int32 code = 1; string message = 2; repeated RawAny details = 3; }
message RawAny { string type_url = 1; bytes value = 2; }
`,
    { keepCase: true },
  )
  .root.lookupType("Status");

interface RawStatus {
  code: number;
  message: string;
  details: Array<{ type_url: string; value: Uint8Array }>;
}

export interface DecodedStatusDetails {
  details: AnyJson[];
  /** From a google.rpc.RetryInfo detail: seconds for a Retry-After header. */
  retryAfterSeconds: number | undefined;
}

// WKTs whose JSON form is not an object are wrapped as {"@type", "value": <json>} inside an Any.
const WRAPPED_IN_ANY = new Set([
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Any",
]);

export function decodeStatusDetails(
  bytes: Uint8Array,
  root: protobuf.Root,
  options: JsonOptions,
): DecodedStatusDetails {
  let status: RawStatus;
  try {
    status = statusType.toObject(statusType.decode(bytes), { defaults: true }) as unknown as RawStatus;
  } catch {
    return { details: [], retryAfterSeconds: undefined };
  }
  let retryAfterSeconds: number | undefined;
  const details = status.details.map((detail): AnyJson => {
    const typeUrl = detail.type_url ?? "";
    const typeName = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    const raw = (): AnyJson => ({
      "@type": detail.type_url,
      value: Buffer.from(detail.value).toString("base64"),
    });
    // The backend's own types first, then the bundled google/rpc ones it may not link itself.
    const type = resolveType(root, typeName) ?? resolveType(bundleRoot(), typeName);
    if (!type) return raw();
    try {
      const json = codecFor(type, options).binaryToValue(detail.value);
      if (typeName === "google.rpc.RetryInfo") retryAfterSeconds = retrySeconds(json);
      if (WRAPPED_IN_ANY.has(typeName)) return { "@type": detail.type_url, value: json };
      return { "@type": detail.type_url, ...(json as Record<string, unknown>) };
    } catch {
      return raw();
    }
  });
  return { details, retryAfterSeconds };
}

function resolveType(root: protobuf.Root, name: string): protobuf.Type | undefined {
  try {
    const type = root.lookupType(name);
    type.resolveAll();
    return type;
  } catch {
    return undefined;
  }
}

/** RetryInfo.retry_delay in its JSON form ("1.5s") → whole seconds, rounded up (Retry-After takes integers). */
function retrySeconds(json: unknown): number | undefined {
  const delay =
    (json as { retryDelay?: unknown; retry_delay?: unknown }).retryDelay ??
    (json as { retry_delay?: unknown }).retry_delay;
  if (typeof delay !== "string") return undefined;
  const seconds = Number(delay.replace(/s$/, ""));
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}
