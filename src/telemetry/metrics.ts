import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CatalogSnapshot } from "../catalog/catalog.js";
import { codeName } from "../errors.js";
import type { CompiledPolicy } from "../policy/policy.js";
import type { PolicyOutcome } from "../policy/run-chain.js";
import type { Registry as BackendRegistry } from "../registry/registry.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import { HotCounter, HotHistogram } from "./hot-metrics.js";

/** What the scrape-time gauges read: the registry and the live catalog. */
export interface PrometheusMetricsOptions {
  registry: BackendRegistry;
  /** The snapshot every request reads (catalog size and generation at scrape time). */
  snapshot: () => CatalogSnapshot;
  /** Also export Node's process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  /** Rate-limit decisions the Redis store could not make, by what was done (`--redis`). Default: none. */
  rateLimitStoreFailures?: () => { readonly open: number; readonly closed: number } | undefined;
}

/** The Prometheus side: the GatewayMetrics to hand to the request path, and the registry `/metrics` serves. */
export interface PrometheusMetrics {
  readonly metrics: GatewayMetrics;
  /** A registry of its own, never prom-client's global one: two gateways in a process do not mix. */
  readonly registry: Registry;
}

// Gateway latency spans sub-millisecond cache hits to multi-second backend calls.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BUILD_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const REFLECTION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics of one gateway (names per the Prometheus naming guide: `refract_` prefix, base
 * units, `_total` counters). Label sets are bounded: service/method come from the catalog (or the fixed
 * `unmatched`), backend from the registry, codes from the gRPC and HTTP tables.
 */
export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new HotCounter({
    name: "refract_http_requests_total",
    help: "HTTP requests on the public listener, by RPC, HTTP status and gRPC code.",
    labelNames: ["service", "method", "status", "grpc_code"] as const,
    registers,
  });
  const requestDuration = new HotHistogram({
    name: "refract_http_request_duration_seconds",
    help: "Time from request received to response written, gateway total.",
    labelNames: ["service", "method"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  // Read at scrape time: the hot path only moves a number.
  let requestsInFlight = 0;
  new Gauge({
    name: "refract_http_requests_in_flight",
    help: "Public requests being served now.",
    registers,
    collect() {
      this.set(requestsInFlight);
    },
  });
  const upstreamCalls = new HotCounter({
    name: "refract_upstream_requests_total",
    help: "Calls to backend instances, by RPC and gRPC code.",
    labelNames: ["service", "method", "grpc_code"] as const,
    registers,
  });
  const upstreamDuration = new HotHistogram({
    name: "refract_upstream_request_duration_seconds",
    help: "Duration of backend calls as seen by the gateway.",
    labelNames: ["service", "method"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const streamMessages = new Counter({
    name: "refract_stream_messages_total",
    help: "Messages on streaming calls: received from clients, sent to clients.",
    labelNames: ["service", "method", "direction"] as const,
    registers,
  });
  const reflectionRefreshes = new Counter({
    name: "refract_reflection_refreshes_total",
    help: "Reflection fetches per backend (successful or not).",
    labelNames: ["backend"] as const,
    registers,
  });
  const reflectionFailures = new Counter({
    name: "refract_reflection_failures_total",
    help: "Reflection fetches that failed, per backend.",
    labelNames: ["backend"] as const,
    registers,
  });
  const reflectionDuration = new Histogram({
    name: "refract_reflection_duration_seconds",
    help: "Duration of one instance's reflection fetch.",
    labelNames: ["backend"] as const,
    buckets: REFLECTION_BUCKETS,
    registers,
  });
  const catalogBuild = new Histogram({
    name: "refract_catalog_build_duration_seconds",
    help: "Time to build a catalog snapshot.",
    buckets: BUILD_BUCKETS,
    registers,
  });
  const catalogFailures = new Counter({
    name: "refract_catalog_build_failures_total",
    help: "Catalog builds that failed (the previous snapshot stayed live).",
    registers,
  });
  // Scrape-time gauges: read the live state instead of mirroring it, so they can never drift.
  new Gauge({
    name: "refract_catalog_methods",
    help: "Routable methods in the live catalog snapshot.",
    registers,
    collect() {
      this.set(options.snapshot().methodsByPath.size);
    },
  });
  new Gauge({
    name: "refract_catalog_generation",
    help: "Generation of the live catalog snapshot (increases with every swap).",
    registers,
    collect() {
      this.set(options.snapshot().generation);
    },
  });
  new Gauge({
    name: "refract_registry_instances",
    help: "Instances the registry lists, per backend.",
    labelNames: ["backend"] as const,
    registers,
    collect() {
      // Reset first: a backend that left the registry must not linger with its last count.
      this.reset();
      for (const [backend, instances] of options.registry.current()) this.set({ backend }, instances.length);
    },
  });
  const storeFailures = options.rateLimitStoreFailures;
  if (storeFailures) {
    new Counter({
      name: "refract_rate_limit_store_failures_total",
      help: "Rate-limit decisions the Redis store could not make (unreachable or slow): let through (open) or refused 503 (closed).",
      labelNames: ["outcome"] as const,
      registers,
      collect() {
        // The connection counts; a scrape copies its totals (monotonic, so this stays a counter).
        const counts = storeFailures();
        this.reset();
        this.inc({ outcome: "open" }, counts?.open ?? 0);
        this.inc({ outcome: "closed" }, counts?.closed ?? 0);
      },
    });
  }
  new Gauge({
    name: "refract_registry_connected",
    help: "1 while the registry source (etcd watch) is connected; always 1 for static backends.",
    registers,
    collect() {
      this.set(options.registry.health().connected ? 1 : 0);
    },
  });

  // Set by the config store on each change (issue 15): the revision in force, rejected documents now.
  const configRevision = new Gauge({
    name: "refract_config_revision",
    help: "Revision of the policy and consumer configuration in force (per process; increases with every change).",
    registers,
    // --workers: each worker counts its own revisions; the cluster shows the highest, not a sum.
    aggregator: "max",
  });
  const configRejected = new Gauge({
    name: "refract_config_rejected_documents",
    help: "Policy and consumer documents rejected now (their last valid version, if any, stays in force).",
    registers,
    aggregator: "max",
  });

  // Issue 15: one series per policy (a bounded set: the config's documents) and outcome. The labelled
  // children are resolved once per compiled policy, so a decision costs one increment.
  const policyDecisions = new Counter({
    name: "refract_policy_decisions_total",
    help: "Decisions of the policy chain, by policy, its type and the outcome (allowed, refused, failed).",
    labelNames: ["policy", "type", "outcome"] as const,
    registers,
  });
  const decisionChildren = new WeakMap<CompiledPolicy, Record<PolicyOutcome, { inc(): void }>>();

  const metrics: GatewayMetrics = {
    requestStarted: () => {
      requestsInFlight++;
    },
    requestFinished: (o) => {
      requestsInFlight--;
      requests.with(o.service, o.method, String(o.httpStatus), codeName(o.grpcCode)).inc();
      requestDuration.with(o.service, o.method).observe(o.durationSeconds);
    },
    upstreamFinished: (o) => {
      upstreamCalls.with(o.service, o.method, codeName(o.grpcCode)).inc();
      upstreamDuration.with(o.service, o.method).observe(o.durationSeconds);
    },
    streamMessage: (service, method, direction) => streamMessages.inc({ service, method, direction }),
    reflectionFinished: (backend, ok, durationSeconds) => {
      reflectionRefreshes.inc({ backend });
      if (!ok) reflectionFailures.inc({ backend });
      reflectionDuration.observe({ backend }, durationSeconds);
    },
    catalogBuilt: (durationSeconds) => catalogBuild.observe(durationSeconds),
    catalogFailed: () => catalogFailures.inc(),
    policyDecision: (policy, outcome) => {
      let children = decisionChildren.get(policy);
      if (children === undefined) {
        const labels = (o: PolicyOutcome) => policyDecisions.labels(policy.name, policy.type, o);
        children = { allowed: labels("allowed"), refused: labels("refused"), failed: labels("failed") };
        decisionChildren.set(policy, children);
      }
      children[outcome].inc();
    },
    configChanged: (revision, rejectedDocuments) => {
      configRevision.set(revision);
      configRejected.set(rejectedDocuments);
    },
  };
  return { metrics, registry };
}
