import type { CatalogSyncMetrics } from "../catalog/catalog-sync.js";
import type { ConfigStoreMetrics } from "../config-store/config-store.js";
import type { PolicyDecisionObserver } from "../policy/run-chain.js";

/**
 * What the request path and the schema sync report to metrics, as plain typed calls: no prom-client
 * types leak into the gateway, and tests or embedders can pass their own implementation.
 * The Prometheus implementation is in metrics.ts; NOOP_METRICS is the default.
 *
 * Label values are bounded by the catalog: `service`/`method` are those of a routed RPC, or the fixed
 * UNMATCHED for paths that matched nothing, so unknown paths never create series.
 */

/** Label value for requests that matched no route (unknown path, bad verb before routing). */
export const UNMATCHED = "unmatched";

/** One finished HTTP request on the public listener. */
export interface RequestObservation {
  /** Fully-qualified service, or UNMATCHED. */
  service: string;
  /** Method name, or UNMATCHED. */
  method: string;
  httpStatus: number;
  /** gRPC status code number (0 = OK). */
  grpcCode: number;
  /** From the first byte received to the last byte handed to the socket. */
  durationSeconds: number;
}

/** One finished call to a backend instance. */
export interface UpstreamObservation {
  service: string;
  method: string;
  grpcCode: number;
  durationSeconds: number;
}

export interface GatewayMetrics extends CatalogSyncMetrics, ConfigStoreMetrics, PolicyDecisionObserver {
  /** A public request began (in-flight gauge). Always paired with requestFinished. */
  requestStarted(): void;
  requestFinished(observation: RequestObservation): void;
  upstreamFinished(observation: UpstreamObservation): void;
  /** A message crossed a streaming call: `received` from the client, `sent` to the client. */
  streamMessage(service: string, method: string, direction: "sent" | "received"): void;
}

/** Metrics that record nothing (the default when no admin listener asks for them). */
export const NOOP_METRICS: GatewayMetrics = Object.freeze({
  requestStarted() {},
  requestFinished() {},
  upstreamFinished() {},
  streamMessage() {},
  reflectionFinished() {},
  catalogBuilt() {},
  catalogFailed() {},
  configChanged() {},
  policyDecision() {},
});
