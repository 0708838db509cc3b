/**
 * The one error type of the request path and the one gRPC code ⇄ HTTP status table (CONTRACT.md §3).
 * Every failure — from a backend or made by the gateway — becomes a GatewayError; only this module
 * turns it into an HTTP status and a google.rpc.Status JSON body. `cause` is for logs, never sent.
 */

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const CODE_NAMES: readonly string[] = Object.keys(Code);

/** The canonical upper-case name of a gRPC code (`NOT_FOUND`), or `CODE_<n>` for unknown numbers. */
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? `CODE_${code}`;
}

// CONTRACT.md §3 (the same table as grpc-gateway's HTTPStatusFromCode, CANCELLED as nginx's 499).
const HTTP_STATUS_BY_CODE: readonly number[] = [
  200, // OK
  499, // CANCELLED
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401, // UNAUTHENTICATED
];

/** HTTP status for a gRPC code; codes outside the table are 500 (as UNKNOWN). */
export function httpStatusFromCode(code: number): number {
  return HTTP_STATUS_BY_CODE[code] ?? 500;
}

/** A `google.protobuf.Any` already rendered as proto3 JSON (it carries `@type`). */
export interface AnyJson {
  "@type": string;
  [field: string]: unknown;
}

/** The JSON body of every error response: google.rpc.Status in its proto3 JSON form. */
export interface StatusBody {
  code: number;
  message: string;
  details: AnyJson[];
}

export interface GatewayErrorOptions {
  /** Already-rendered `google.rpc.Status.details`. */
  details?: AnyJson[];
  /** Extra HTTP response headers this error implies (`Allow` for 405, `Retry-After`, …). */
  headers?: Record<string, string | string[]>;
  /** Overrides the table for gateway-made statuses that share a code (405 and 415 are UNIMPLEMENTED / INVALID_ARGUMENT). */
  httpStatus?: number;
  /** The underlying failure: logged, never sent to the client. */
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: Code;
  readonly details: AnyJson[];
  readonly headers: Record<string, string | string[]>;
  readonly httpStatus: number;

  constructor(code: Code, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
    this.httpStatus = options.httpStatus ?? httpStatusFromCode(code);
  }

  toStatusBody(): StatusBody {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** The media type of every error body (and of unary JSON responses). */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** An error response as an adapter writes it: it adds only what its transport needs (length, framing). */
export interface ErrorResponse {
  readonly status: number;
  /** The error's own headers (`Allow`, `Retry-After`, …), `WWW-Authenticate` on 401, then `content-type`. */
  readonly headers: Record<string, string | string[]>;
  /** google.rpc.Status as JSON text. */
  readonly body: string;
}

/**
 * The google.rpc.Status JSON text of an error: the body of an error response, the Status of an NDJSON
 * `{"error": …}` line and the data of an SSE `event: error`.
 */
export function statusJson(error: GatewayError): string {
  return JSON.stringify(error.toStatusBody());
}

/**
 * The one error-body writer (CONTRACT.md §3): every place that answers with an error — Fastify's error
 * handler, the listener's refusals before routing, answers written straight to a socket — writes what
 * this returns. A 401 always says how to authenticate (RFC 9110 §11.6.1; `Bearer` unless the error
 * names a scheme); `Retry-After` travels in the error's headers where it applies (a saturated front,
 * a backend's RetryInfo).
 */
export function errorResponse(error: GatewayError): ErrorResponse {
  const headers: Record<string, string | string[]> = { ...error.headers };
  if (error.httpStatus === 401) headers["www-authenticate"] ??= "Bearer";
  headers["content-type"] = JSON_CONTENT_TYPE;
  return { status: error.httpStatus, headers, body: statusJson(error) };
}

/** Coerces anything thrown on the request path into a GatewayError without leaking its text. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError(Code.INTERNAL, "internal gateway error", { cause: error });
}

// Gateway-made errors used in several layers; named so their wording stays the same everywhere.
export const errors = {
  routeNotFound: (method: string, path: string) =>
    new GatewayError(Code.NOT_FOUND, `no route for ${method} ${path}`),
  methodNotAllowed: (method: string, path: string, allow: readonly string[]) =>
    new GatewayError(
      Code.UNIMPLEMENTED,
      `method ${method} is not allowed on ${path}; allowed: ${allow.join(", ")}`,
      {
        httpStatus: 405,
        headers: { allow: allow.join(", ") },
      },
    ),
  invalidArgument: (message: string, cause?: unknown) =>
    new GatewayError(Code.INVALID_ARGUMENT, message, cause === undefined ? {} : { cause }),
  unsupportedMediaType: (contentType: string, accepted: readonly string[]) =>
    new GatewayError(
      Code.INVALID_ARGUMENT,
      `unsupported content type "${contentType}"; send ${accepted.join(" or ")}`,
      { httpStatus: 415 },
    ),
  bodyTooLarge: (limitBytes: number) =>
    new GatewayError(Code.RESOURCE_EXHAUSTED, `request body exceeds the limit of ${limitBytes} bytes`, {
      httpStatus: 413,
    }),
  noInstance: (service: string, reason: string) =>
    new GatewayError(Code.UNAVAILABLE, `no reachable backend instance for ${service}: ${reason}`),
} as const;

/** One invalid configuration value: the option (flag or key) and what is wrong with it. */
export interface ConfigProblem {
  option: string;
  problem: string;
}

/**
 * An invalid configuration: one or more problems, each naming its option. The message has one line per
 * problem (`option: problem`); the CLI prints each and exits non-zero.
 */
export class GatewayConfigError extends Error {
  /** The option of the first problem. */
  readonly option: string;
  /** Every problem, the first included. */
  readonly optionProblems: readonly ConfigProblem[];
  constructor(option: string, problem: string, ...more: ConfigProblem[]) {
    const all = [{ option, problem }, ...more];
    super(all.map((p) => `${p.option}: ${p.problem}`).join("\n"));
    this.name = "GatewayConfigError";
    this.option = option;
    this.optionProblems = all;
  }
}
