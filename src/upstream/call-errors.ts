import type http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { type Code, GatewayError } from "../errors.js";
import type { BackendInstance } from "../registry/registry.js";
import { H2Error } from "./h2-connection.js";

/**
 * The one classification of failed backend calls, for both transports (the own HTTP/2 client of
 * h2-unary.ts and grpc-js): a gRPC status and trailers become a `CallFailure` that knows whether the
 * request can have reached the backend (reachability.ts decides the retry from that), and a failure the
 * client sees becomes an `UpstreamError`. PROTOCOL-HTTP2.md (grpc/grpc) is the reference.
 */

/** A failed call attempt on one instance, shaped like grpc-js's ServiceError. */
export interface CallFailure extends grpc.ServiceError {
  /** No byte of the request can have reached the backend: the call may be sent to another instance. */
  notDelivered: boolean;
}

/** A failed backend call: the gRPC status as a GatewayError, with the trailers the backend sent. */
export class UpstreamError extends GatewayError {
  readonly trailers: grpc.Metadata;
  readonly instance: BackendInstance | undefined;
  constructor(error: grpc.ServiceError, instance: BackendInstance | undefined) {
    super(error.code as Code, error.details || grpc.status[error.code] || "backend error", { cause: error });
    this.trailers = error.metadata ?? new grpc.Metadata();
    this.instance = instance;
  }
}

export function callFailure(
  code: grpc.status,
  details: string,
  metadata: grpc.Metadata | undefined,
  notDelivered: boolean,
): CallFailure {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: metadata ?? new grpc.Metadata(),
    notDelivered,
  });
}

/**
 * A grpc-js call's error as a CallFailure. `answered`: response headers arrived, so the backend saw the
 * call. grpc-js reports a call that never got a transport as UNAVAILABLE "No connection established"
 * (the channel is in TRANSIENT_FAILURE) or with the connect error itself; a dropped connection says
 * otherwise.
 */
export function failureFromGrpcJs(error: grpc.ServiceError, answered: boolean): CallFailure {
  const notDelivered =
    !answered &&
    error.code === grpc.status.UNAVAILABLE &&
    /No connection established|ECONNREFUSED|connect E|Name resolution failed|getaddrinfo/i.test(
      error.details ?? "",
    );
  return Object.assign(error, { notDelivered });
}

/**
 * The gRPC status of a response read off the wire (own HTTP/2 client): the trailers, or the headers of a
 * trailers-only answer; without grpc-status the HTTP status maps to a code. Returns the failure, or the
 * trailers as metadata when the status is OK.
 */
export function statusOfResponse(
  headers: http2.IncomingHttpHeaders,
  trailers: http2.IncomingHttpHeaders | undefined,
): CallFailure | grpc.Metadata {
  const httpStatus = Number(headers[":status"]);
  // A trailers-only answer carries grpc-status in the headers.
  const statusSource = trailers ?? (headers["grpc-status"] !== undefined ? headers : undefined);
  if (statusSource === undefined) {
    if (httpStatus !== 200) {
      return callFailure(codeFromHttpStatus(httpStatus), `HTTP status ${httpStatus}`, undefined, false);
    }
    return callFailure(grpc.status.INTERNAL, "Stream closed without a gRPC status", undefined, false);
  }
  const metadata = grpc.Metadata.fromHttp2Headers(statusSource);
  const code = Number(statusSource["grpc-status"]);
  if (!Number.isInteger(code)) {
    return callFailure(
      httpStatus === 200 ? grpc.status.UNKNOWN : codeFromHttpStatus(httpStatus),
      "Missing grpc-status",
      metadata,
      false,
    );
  }
  if (code !== grpc.status.OK) {
    return callFailure(code, decodeMessage(statusSource["grpc-message"]), metadata, false);
  }
  return metadata;
}

/** PROTOCOL-HTTP2.md, "Errors": RST_STREAM codes of a stream that had started its answer. */
export function codeFromResetCode(code: number): grpc.status {
  if (code === H2Error.RefusedStream) return grpc.status.UNAVAILABLE;
  if (code === H2Error.Cancel) return grpc.status.CANCELLED;
  return grpc.status.INTERNAL;
}

// PROTOCOL-HTTP2.md: a response without grpc-status maps its HTTP status to a gRPC code.
function codeFromHttpStatus(status: number): grpc.status {
  switch (status) {
    case 400:
      return grpc.status.INTERNAL;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.UNKNOWN;
  }
}

/** grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md, "Status-Message"). */
function decodeMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
