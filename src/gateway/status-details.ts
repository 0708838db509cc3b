import protobuf from "protobufjs";
import type { MessageCodec } from "../codec/codec.js";
import type { AnyJson } from "../errors.js";

/**
 * `grpc-status-details-bin` → `google.rpc.Status.details` as proto3 JSON (CONTRACT.md §3). The Status is
 * decoded by the method's prebuilt Status codec (`CatalogMethod.statusCodec`, src/catalog/status-codec.ts),
 * whose Any rendering resolves each detail's type in the backend's own schema first, then in the bundled
 * google/rpc/*.proto (BadRequest, ErrorInfo, RetryInfo, …), and renders a type it cannot resolve as
 * `{"@type", "value": "<base64>"}`. Bytes the codec cannot decode at all fall back to that raw form for
 * every detail: the response never fails because of its details.
 */

export interface DecodedStatusDetails {
  details: AnyJson[];
  /** From a google.rpc.RetryInfo detail: seconds for a Retry-After header. */
  retryAfterSeconds: number | undefined;
}

export function decodeStatusDetails(bytes: Uint8Array, statusCodec: MessageCodec): DecodedStatusDetails {
  let details: AnyJson[];
  try {
    // The one JSON writer prints the details (google.protobuf.Any rendering, unknown types as base64);
    // parsed back here because the error body and Retry-After need them as values. Errors only.
    details = (JSON.parse(statusCodec.fieldToJson(bytes, "details")) as AnyJson[] | null) ?? [];
  } catch {
    details = rawDetails(bytes);
  }
  const retryInfo = details.find((d) => d["@type"].endsWith("/google.rpc.RetryInfo"));
  return { details, retryAfterSeconds: retryInfo ? retrySeconds(retryInfo) : undefined };
}

// The wire shape of google.rpc.Status with its details left as raw Anys, for the fallback.
const rawStatusType = protobuf
  .parse(
    `syntax = "proto3";
     message Status { int32 code = 1; string message = 2; repeated RawAny details = 3; }
     message RawAny { string type_url = 1; bytes value = 2; }`,
    { keepCase: true },
  )
  .root.lookupType("Status");

function rawDetails(bytes: Uint8Array): AnyJson[] {
  try {
    const status = rawStatusType.toObject(rawStatusType.decode(bytes), { defaults: true }) as {
      details: Array<{ type_url: string; value: Uint8Array }>;
    };
    return status.details.map((d) => ({
      "@type": d.type_url,
      value: Buffer.from(d.value).toString("base64"),
    }));
  } catch {
    return [];
  }
}

/** RetryInfo.retry_delay in its JSON form ("1.5s") → whole seconds, rounded up (Retry-After takes integers). */
function retrySeconds(detail: AnyJson): number | undefined {
  const delay = detail.retryDelay ?? detail.retry_delay;
  if (typeof delay !== "string") return undefined;
  const seconds = Number(delay.replace(/s$/, ""));
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}
