/**
 * How Refract builds its etcd3 clients, and the small retry helpers the registry and the registration
 * helper share (the backoff itself is src/backoff.ts, shared with reflection). The etcd3 defaults are
 * tuned for "keep retrying one call"; we retry whole resyncs ourselves, so the client is set up to fail
 * fast and reconnect quickly instead.
 */
import { Etcd3, type IOptions } from "etcd3";
import { GatewayConfigError } from "../errors.js";

/** Extra etcd3 settings (TLS `credentials`, `auth`, `grpcOptions`); hosts come from `endpoints`. */
export type EtcdClientOptions = Omit<IOptions, "hosts">;

export interface CreateEtcdClientOptions {
  /** `http(s)://host:port` of each cluster member. */
  endpoints: readonly string[];
  /** Deadline of each unary call (range, put, lease grant/revoke). etcd3 ignores its own `dialTimeout`. */
  callTimeoutMs: number;
  etcdOptions?: EtcdClientOptions;
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;

/**
 * A policy that just runs the call. etcd3's default per-host policy is a circuit breaker that, after three
 * failures, rejects every call for 5 s — so after etcd comes back we would stay "down" for up to 5 s more,
 * and our own backoff already spaces the retries. Failover across endpoints still happens: etcd3's global
 * retry policy (kept) picks another host on each attempt.
 */
function passThroughPolicy(): HostPolicy {
  const noEvent = () => ({ dispose() {} });
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    execute: async <T>(
      fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
      signal?: AbortSignal,
    ): Promise<T> => fn({ signal: signal ?? new AbortController().signal }),
  };
  return policy as unknown as HostPolicy;
}

/** Validates endpoint URLs; returns one problem per bad entry (empty when all are fine). */
export function endpointProblems(endpoints: readonly string[]): string[] {
  if (endpoints.length === 0) return ["no etcd endpoint given"];
  const problems: string[] = [];
  for (const endpoint of endpoints) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (
      !url ||
      (url.protocol !== "http:" && url.protocol !== "https:") ||
      url.port === "" ||
      (url.pathname !== "/" && url.pathname !== "")
    ) {
      problems.push(`"${endpoint}" is not an etcd endpoint (want http://host:port or https://host:port)`);
    }
  }
  return problems;
}

/** Builds an etcd3 client; throws GatewayConfigError("etcd", …) on malformed endpoints. */
export function createEtcdClient(options: CreateEtcdClientOptions): Etcd3 {
  const problems = endpointProblems(options.endpoints);
  if (problems.length > 0) throw new GatewayConfigError("etcd", problems.join("; "));
  const { etcdOptions = {} } = options;
  const callTimeoutMs = options.callTimeoutMs;
  return new Etcd3({
    ...etcdOptions,
    hosts: [...options.endpoints],
    // Streams (watch, lease keepalive) live for long; every unary call gets a deadline so that a
    // black-holed endpoint cannot stall a resync or close() forever.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      // Detect a dead connection (no RST, e.g. a partition) on an idle watch stream. etcd's default
      // --grpc-keepalive-min-time is 5 s; pinging more often than that gets the connection closed.
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      // grpc-js fails calls at once while a subchannel sits in its reconnect backoff (up to 120 s by
      // default); keep that backoff short so a restarted etcd is used within about a second (issue 13).
      // A connection attempt to a dead endpoint is a refused SYN: cheap for both sides.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 1_000,
      ...etcdOptions.grpcOptions,
    },
    faultHandling: { host: () => passThroughPolicy(), ...etcdOptions.faultHandling },
  });
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** `promise`, or `fallback` after `ms` (the promise's later rejection is swallowed). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  promise.catch(() => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A message for logs and health from anything thrown by etcd3 or grpc-js. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // grpc-js appends an empty "Resolution note: " to connection errors; it only adds noise to health.
  return text.replace(/\.?\s*Resolution note:\s*$/, "");
}
