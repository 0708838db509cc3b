import { errors } from "../errors.js";

/** Deadline settings: a default when the client sends none, and a cap on what clients may ask. */
export interface DeadlinePolicy {
  /** Applied to unary calls when the request has no Grpc-Timeout. 0 = none (then the maximum applies). */
  defaultTimeoutMs: number;
  /**
   * Applied to streams when the request has no Grpc-Timeout. 0 = none: a watch or a chat lasts as long as
   * the client stays (a browser cannot send Grpc-Timeout on a WebSocket or an EventSource).
   */
  streamDefaultTimeoutMs: number;
  /** Upper bound for any deadline. 0 = no cap. */
  maxTimeoutMs: number;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * Parses a Grpc-Timeout value as PROTOCOL-HTTP2.md defines it: 1 to 8 ASCII digits then a unit
 * (H hours, M minutes, S seconds, m millis, u micros, n nanos). Throws 400 when malformed.
 */
export function parseGrpcTimeout(value: string): number {
  const match = /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (!match)
    throw errors.invalidArgument(
      `Grpc-Timeout: malformed value "${value}" (want 1-8 digits then H, M, S, m, u or n)`,
    );
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** The timeout of one call in ms (undefined = none), from the header and the policy. */
export function effectiveTimeoutMs(
  header: string | undefined,
  policy: DeadlinePolicy,
  streaming = false,
): number | undefined {
  const cap = (ms: number): number => (policy.maxTimeoutMs > 0 ? Math.min(ms, policy.maxTimeoutMs) : ms);
  // A client's own deadline is honoured as given, even 0 (already expired), up to the maximum.
  if (header !== undefined) return cap(parseGrpcTimeout(header.trim()));
  const fallback = streaming ? policy.streamDefaultTimeoutMs : policy.defaultTimeoutMs;
  if (fallback > 0) return cap(fallback);
  // Nothing asked, nothing configured: a unary call still gets the maximum; a stream none.
  return !streaming && policy.maxTimeoutMs > 0 ? policy.maxTimeoutMs : undefined;
}
