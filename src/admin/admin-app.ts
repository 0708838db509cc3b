import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Registry as PromRegistry } from "prom-client";
import type { CatalogSnapshot } from "../catalog/catalog.js";
import type { CatalogSync } from "../catalog/catalog-sync.js";
import type { ConfigStore } from "../config-store/config-store.js";
import { methodsByName } from "../docs/rest-routes.js";
import { Code, errorResponse, GatewayError } from "../errors.js";
import type { Registry } from "../registry/registry.js";
import { readGatewayStatus } from "./gateway-status.js";

export interface AdminAppOptions {
  /** The live catalog (its snapshots carry the route table `/admin/routes` lists). */
  catalog: Pick<CatalogSync, "current" | "hasCatalog">;
  registry: Registry;
  logger: Logger;
  /** What `/metrics` serves; without it `/metrics` is 404. */
  metricsRegistry?: PromRegistry;
  /** True once shutdown began: `/readyz` answers 503 so load balancers stop sending new requests. */
  isDraining?: () => boolean;
  /** The live policy configuration: `/admin/config` and `/admin/config/schema` (404 without it). */
  config?: { store: Pick<ConfigStore, "view">; schema: () => Record<string, unknown> };
}

/**
 * The admin listener (CONTRACT.md §8): separate from the public one, loopback by default.
 * `/healthz` says the process is up; `/readyz` that it can serve (registry loaded, a catalog built, not
 * shutting down); `/metrics` is Prometheus text; `/admin/*` are JSON views for operators.
 */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const { catalog, registry } = options;
  const app = Fastify({
    loggerInstance: options.logger.child({ listener: "admin" }),
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  // Unknown admin paths answer like every other Refract error: a google.rpc.Status body.
  app.setNotFoundHandler((request, reply) => {
    const error = errorResponse(
      new GatewayError(Code.NOT_FOUND, `no admin route ${request.method} ${request.url.split("?")[0]}`),
    );
    void reply.code(error.status).headers(error.headers).send(error.body);
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  const isDraining = options.isDraining ?? (() => false);
  const status = () => readGatewayStatus({ registry, catalog, isDraining });

  app.get("/readyz", async (_request, reply) => {
    const now = status();
    reply.code(now.ready ? 200 : 503);
    return {
      status: now.ready ? "ready" : "not ready",
      reasons: now.reasons,
      // Registry health says e.g. "etcd unreachable since …; serving last known set" while still ready.
      registry: now.registry,
      catalog: { built: now.catalog.built, generation: now.catalog.generation, methods: now.catalog.methods },
    };
  });

  const metricsRegistry = options.metricsRegistry;
  if (metricsRegistry) {
    app.get("/metrics", async (_request, reply) => {
      reply.header("content-type", metricsRegistry.contentType);
      return metricsRegistry.metrics();
    });
  }

  app.get("/admin/backends", async () => {
    const now = status();
    return {
      generation: now.catalog.generation,
      registry: now.registry,
      backends: now.backends,
      problems: now.catalog.problems,
    };
  });

  app.get("/admin/routes", async () => routesView(catalog.current()));

  const config = options.config;
  if (config) {
    // Revision, sources and their state, documents in force (consumers: key count only), rejected ones.
    app.get("/admin/config", async () => config.store.view());
    // One JSON Schema document for editors: the envelopes and every policy type's config schema.
    app.get("/admin/config/schema", async (_request, reply) => {
      reply.header("content-type", "application/schema+json; charset=utf-8");
      return JSON.stringify(config.schema(), null, 2);
    });
  }
  return app;
}

/**
 * Every route of a snapshot: the default POST route of each method, then each REST binding, each with the
 * effective policy chain of its method (names in the order they run).
 */
export function routesView(snapshot: CatalogSnapshot) {
  const byName = methodsByName(snapshot);
  const defaults = [...snapshot.methodsByPath.values()].map((method) => ({
    verb: "POST",
    pattern: method.path,
    method: method.fullName,
    kind: method.kind,
    backend: method.backend,
    source: "default" as const,
    active: true,
    conflicts: [],
    instances: method.instances.map((i) => i.address),
    policies: method.policies.map((p) => p.name),
  }));
  const rest = snapshot.routes.routes().map((route) => {
    const method = byName.get(route.selector);
    return {
      verb: route.verb,
      pattern: route.pattern,
      method: route.selector,
      kind: method?.kind ?? null,
      backend: method?.backend ?? null,
      source: route.source,
      body: route.body,
      responseBody: route.responseBody,
      bindingIndex: route.bindingIndex,
      active: route.active && method !== undefined,
      conflicts: route.conflicts,
      instances: method?.instances.map((i) => i.address) ?? [],
      // The effective chain (issue 15): policy names in the order they run.
      policies: method?.policies.map((p) => p.name) ?? [],
    };
  });
  return { generation: snapshot.generation, routes: [...defaults, ...rest] };
}
