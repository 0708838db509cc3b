import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry as PromRegistry } from "prom-client";
import { buildAdminApp } from "../admin/admin-app.js";
import { type GatewayStatus, readGatewayStatus } from "../admin/gateway-status.js";
import type { CatalogMethod } from "../catalog/catalog.js";
import { CatalogSync } from "../catalog/catalog-sync.js";
import type { JsonOptions } from "../codec/codec.js";
import type { GatewayConfig, GatewayOptions } from "../config/config.js";
import { validateGatewayOptions } from "../config/validate-options.js";
import { createConfigStore } from "../config-store/create-config-store.js";
import { configDocumentsJsonSchema, createDocumentValidator } from "../config-store/validate-documents.js";
import { createOpenApiSource } from "../docs/openapi-source.js";
import { GatewayConfigError } from "../errors.js";
import { Gateway } from "../gateway/gateway.js";
import { type CidrSet, createCidrSet } from "../policy/cidr.js";
import type { ConsumerDocument, PolicyConfig, PolicyDocument } from "../policy/policy.js";
import { policyTypeSchemas } from "../policy/policy-types.js";
import { createRedisConnection } from "../policy/redis-connection.js";
import { INFRASTRUCTURE_SERVICES } from "../reflection/reflection-client.js";
import type { Registry } from "../registry/registry.js";
import { createStaticRegistry } from "../registry/static-registry.js";
import { type RouteTable, readHttpRulesFile } from "../router/index.js";
import { createLogger, routeGrpcLogs } from "../telemetry/logger.js";
import { createUpstreamTelemetry } from "../telemetry/measured-upstream.js";
import { createPrometheusMetrics } from "../telemetry/metrics.js";
import { backendChannelOptions } from "../upstream/backend-tls.js";
import { ChannelPool } from "../upstream/channel-pool.js";
import { Upstream } from "../upstream/upstream.js";
import { buildPublicApp } from "./build-app.js";
import { frontOptionsFromConfig } from "./front-options.js";

export interface CreateGatewayOptions extends GatewayOptions {
  /** A logger to use (default: pino at `logLevel` on stdout). */
  logger?: Logger;
  /** A registry to use instead of the one the config describes (tests, embedding). */
  registry?: Registry;
  /**
   * Listen on the admin port. Default true; false in `--workers` mode, where the supervising process
   * serves the admin port for all workers and asks them through `adminApp.inject()`.
   */
  listenAdmin?: boolean;
}

/** A gateway as `createGateway()` hands it out: the two apps, its lifecycle and a read-only status. */
export interface RunningGateway {
  /** The public Fastify app (use `inject()` in tests). */
  readonly app: FastifyInstance;
  /** The admin Fastify app (health, metrics, admin views). */
  readonly adminApp: FastifyInstance;
  /**
   * Loads the registry, starts the schema fetches and listens on both ports without waiting for them
   * (each backend is routable once its own schema is in; calls wait for a pending one), then waits a
   * bounded time for the first fetches, so that the fast backends are in when it resolves.
   */
  start(): Promise<{ publicUrl: string; adminUrl: string }>;
  /** Stops listening, lets in-flight requests finish, closes channels, watches and the registry. */
  close(): Promise<void>;
  /** Readiness, registry health, backends, instances and their schemas, route count: a frozen copy. */
  status(): GatewayStatus;
}

/**
 * The parts a gateway is made of, for this package's own CLI (`--workers` needs the metrics registry),
 * tests and benchmarks. Not exported from src/index.ts: embedders get the narrow RunningGateway.
 */
export interface GatewayInternals extends RunningGateway {
  readonly config: GatewayConfig;
  /** The prom-client registry `/metrics` serves (its own, never the global one). */
  readonly metricsRegistry: PromRegistry;
  readonly gateway: Gateway;
  readonly schemaSync: CatalogSync;
  readonly logger: Logger;
}

/**
 * Assembles a gateway from options (validated by validateGatewayOptions(): a bad value rejects with a
 * GatewayConfigError naming it, before anything is opened): registry → catalog → gateway → HTTP apps.
 */
export async function createGateway(options: CreateGatewayOptions = {}): Promise<RunningGateway> {
  const internals = await createGatewayInternals(options);
  return Object.freeze({
    app: internals.app,
    adminApp: internals.adminApp,
    start: () => internals.start(),
    close: () => internals.close(),
    status: () => internals.status(),
  });
}

/** createGateway() with its parts exposed (see GatewayInternals). */
export async function createGatewayInternals(options: CreateGatewayOptions = {}): Promise<GatewayInternals> {
  const { logger: givenLogger, registry: givenRegistry, listenAdmin = true, ...partial } = options;
  const config = validateGatewayOptions(partial);
  // Read (TLS files) and checked before anything is opened: a bad option fails start-up cleanly.
  const front = frontOptionsFromConfig(config);
  const channelOptions = backendChannelOptions(config);
  const trustedProxies = trustedProxySet(config.trustedProxies);
  const logger = givenLogger ?? createLogger({ level: config.logLevel });
  routeGrpcLogs(logger);
  // Live policies and consumers (--config file lists, etcd under --config-prefix). Made before anything is
  // opened (it throws on overlapping prefixes); reports to the metrics made below, only once started.
  const configStore = createConfigStore(config, {
    types: policyTypeSchemas(),
    logger,
    metrics: { configChanged: (revision, rejected) => prometheus.metrics.configChanged(revision, rejected) },
  });
  const registry = givenRegistry ?? (await registryFor(config, logger));
  // Scrape-time gauges read the live snapshot; `schemaSync` is assigned below, before any scrape.
  const prometheus = createPrometheusMetrics({
    registry,
    snapshot: () => schemaSync.current(),
    // `redis` is assigned below, before any scrape.
    ...(config.redis === undefined ? {} : { rateLimitStoreFailures: () => redis?.failures() }),
  });
  const pool = new ChannelPool(channelOptions);
  // Upstream channels of instances that left the registry close (reflection closes its own).
  registry.onChange((backends) => pool.retain(backends));
  const deny = new Set(config.denyServices);
  const allow = new Set(config.allowServices);
  const jsonByBackend = new Map<string, JsonOptions>();
  const fileRules = config.httpRulesFile ? await readHttpRulesFile(config.httpRulesFile) : [];
  // The one Redis connection of this process (--redis): every rate-limit policy with store "redis" uses it.
  const redis = config.redis === undefined ? undefined : createRedisConnection(config.redis, logger);
  const schemaSync = new CatalogSync({
    registry,
    reflectionChannels: { ...channelOptions, maxReflectionBytes: config.maxReflectionBytes },
    logger,
    refreshIntervalMs: config.refreshIntervalMs,
    reflectionTimeoutMs: config.reflectionTimeoutMs,
    fileRules,
    jsonOptionsFor: (backend) => {
      let json = jsonByBackend.get(backend);
      if (!json) {
        json = Object.freeze({ ...config.json, ...config.backendJson[backend] });
        jsonByBackend.set(backend, json);
      }
      return json;
    },
    isServiceAllowed: (service) =>
      !deny.has(service) && (!INFRASTRUCTURE_SERVICES.has(service) || allow.has(service)),
    metrics: prometheus.metrics,
    policyEnvironment: { redis },
  });
  // Every revision is compiled and resolved into the chains by the catalog; subscribed before the store
  // starts, so its first revision is in the first snapshot.
  // Static documents (createGateway({ policies, consumers })) are the base every revision builds on: revision
  // 1 alone, and under each of the store's revisions (the store's document of the same name wins).
  const staticConfig = staticPolicyConfig(config);
  if (staticConfig) schemaSync.setPolicyConfig(staticConfig);
  configStore.onChange((policyConfig) =>
    schemaSync.setPolicyConfig(staticConfig ? overStatic(staticConfig, policyConfig) : policyConfig),
  );
  const upstream = new Upstream({ pool, interceptors: [createUpstreamTelemetry(prometheus.metrics)] });
  const gateway = new Gateway({
    catalog: schemaSync,
    upstream,
    deadlines: {
      defaultTimeoutMs: config.defaultTimeoutMs,
      streamDefaultTimeoutMs: config.streamDefaultTimeoutMs,
      maxTimeoutMs: config.maxTimeoutMs,
    },
    forwardHeaders: new Set(config.forwardHeaders.map((h) => h.toLowerCase())),
    pendingSchemaWaitMs: config.pendingSchemaWaitMs,
    ...(trustedProxies ? { trustedProxies } : {}),
    policyObserver: prometheus.metrics,
  });
  const document = createOpenApiSource({
    snapshot: () => schemaSync.current(),
    schemas: () => schemaSync.schemas(),
  });
  const app = buildPublicApp({
    gateway,
    logger,
    maxRequestBytes: config.maxRequestBytes,
    front,
    telemetry: {
      metrics: prometheus.metrics,
      // Both run once per request, only when the reply did not already say (errors before the backend call,
      // REST routes' templates for the log line): a trie lookup, no template parsing.
      methodFor: (verb, path) => {
        const snapshot = schemaSync.current();
        return snapshot.methodsByPath.get(path) ?? matchRoute(snapshot.routes, verb, path)?.target;
      },
      routeOf: (verb, path) => matchRoute(schemaSync.current().routes, verb, path)?.binding.pattern,
    },
    ...(config.docs ? { docs: { document } } : {}),
  });
  // Before routing (the body parser needs the method): a call that a pending schema fetch will make
  // routable waits for it. Synchronous `done` unless something is pending, so the usual request pays no promise.
  app.addHook("onRequest", (request, _reply, done) => {
    const waiting = gateway.whenRoutable(request.method, request.url);
    if (waiting === undefined) done();
    else waiting.then(() => done(), done);
  });
  let draining = false;
  const adminApp = buildAdminApp({
    catalog: schemaSync,
    registry,
    logger,
    metricsRegistry: prometheus.registry,
    isDraining: () => draining,
    config: { store: configStore, schema: () => configDocumentsJsonSchema(policyTypeSchemas()) },
  });

  let closing: Promise<void> | undefined;
  return {
    config,
    app,
    adminApp,
    metricsRegistry: prometheus.registry,
    gateway,
    schemaSync,
    logger,
    status: () => readGatewayStatus({ registry, catalog: schemaSync, isDraining: () => draining }),
    async start() {
      // Policies first: no request is served by a snapshot built without them.
      await configStore.start();
      await schemaSync.start();
      const publicUrl = await app.listen({ port: config.port, host: config.host });
      const adminUrl = listenAdmin
        ? await adminApp.listen({ port: config.adminPort, host: config.adminHost })
        : "";
      // In --workers mode the supervisor announces the gateway (with the admin URL) once all workers listen.
      if (listenAdmin) logger.info({ publicUrl, adminUrl }, "refract listening");
      else logger.info({ publicUrl }, "worker listening");
      // Issue 13, point 1: a hung reflection must not hold the port; the wait is as long as a call's.
      await schemaSync.firstFetches(config.pendingSchemaWaitMs);
      return { publicUrl, adminUrl };
    },
    close() {
      closing ??= (async () => {
        draining = true;
        await drain(app, config.shutdownGraceMs, logger);
        await configStore.close();
        schemaSync.close();
        await redis?.close();
        pool.close();
        await registry.close();
        // Last, so /readyz answers "shutting down" for as long as the public port drains.
        await adminApp.close();
      })();
      return closing;
    },
  };
}

/** `--trusted-proxy` ranges, checked before anything is opened. */
function trustedProxySet(ranges: readonly string[]): CidrSet | undefined {
  if (ranges.length === 0) return undefined;
  try {
    return createCidrSet(ranges);
  } catch (error) {
    throw new GatewayConfigError("trustedProxies", (error as Error).message);
  }
}

/** The static `policies`/`consumers` options as revision 1, validated like any document; undefined when none. */
function staticPolicyConfig(config: GatewayConfig): PolicyConfig | undefined {
  if (config.policies.length === 0 && config.consumers.length === 0) return undefined;
  const validator = createDocumentValidator(policyTypeSchemas());
  const problems: Array<{ option: string; problem: string }> = [];
  const policies: PolicyDocument[] = [];
  const consumers: ConsumerDocument[] = [];
  config.policies.forEach((value, i) => {
    const checked = validator.policy(value);
    if (checked.ok) policies.push(checked.document);
    else
      for (const p of checked.problems)
        problems.push({ option: `policies[${i}]${p.path}`, problem: p.problem });
  });
  config.consumers.forEach((value, i) => {
    const checked = validator.consumer(value);
    if (checked.ok) consumers.push(checked.document);
    else
      for (const p of checked.problems)
        problems.push({ option: `consumers[${i}]${p.path}`, problem: p.problem });
  });
  const [first, ...more] = problems;
  if (first) throw new GatewayConfigError(first.option, first.problem, ...more);
  return Object.freeze({ revision: 1, policies, consumers });
}

/** A store revision over the static documents: the store's document of the same name wins. */
function overStatic(base: PolicyConfig, live: PolicyConfig): PolicyConfig {
  const merge = <T extends { name: string }>(a: readonly T[], b: readonly T[]): T[] => {
    const names = new Set(b.map((d) => d.name));
    return [...a.filter((d) => !names.has(d.name)), ...b];
  };
  return {
    revision: live.revision + 1,
    policies: merge(base.policies, live.policies),
    consumers: merge(base.consumers, live.consumers),
  };
}

function matchRoute(routes: RouteTable<CatalogMethod>, verb: string, path: string) {
  try {
    const match = routes.match(verb, path);
    return match.kind === "match" ? match : undefined;
  } catch {
    return undefined; // malformed percent-encoding: the request already failed with 400
  }
}

/**
 * Stops accepting (the listening socket closes at once, so new connections are refused; requests on
 * kept-alive connections get 503) and waits for in-flight requests and streams to finish. Whatever is
 * still running after `graceMs` is cut by closing its connection, which cancels its backend call.
 */
async function drain(app: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const closed = app.close();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
  });
  const cut = await Promise.race([closed.then(() => false), expired]);
  clearTimeout(timer);
  if (cut) {
    logger.warn({ graceMs }, "shutdown grace period over; closing the remaining connections");
    app.server.closeAllConnections();
    await closed;
  }
}

async function registryFor(config: GatewayConfig, logger: Logger): Promise<Registry> {
  if (config.etcd.length > 0) {
    const { createEtcdRegistry } = await import("../registry/etcd-registry.js");
    return createEtcdRegistry({
      endpoints: config.etcd,
      prefix: config.etcdPrefix,
      logger,
      dialTimeoutMs: config.etcdDialTimeoutMs,
      startTimeoutMs: config.etcdStartTimeoutMs,
      retryInitialMs: config.etcdRetryInitialMs,
      retryMaxMs: config.etcdRetryMaxMs,
      unreachableRetryMaxMs: config.etcdUnreachableRetryMaxMs,
    });
  }
  return createStaticRegistry(config.backends);
}
