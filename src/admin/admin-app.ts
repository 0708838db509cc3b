import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Registry as PromRegistry } from "prom-client";
import type { CatalogSnapshot } from "../catalog/catalog.js";
import type { CatalogSync } from "../catalog/catalog-sync.js";
import { methodsByName } from "../docs/rest-routes.js";
import type { Registry } from "../registry/registry.js";

export interface AdminAppOptions {
  /** The live catalog (its snapshots carry the route table `/admin/routes` lists). */
  catalog: Pick<CatalogSync, "current" | "hasCatalog">;
  registry: Registry;
  logger: Logger;
  /** What `/metrics` serves; without it `/metrics` is 404. */
  metricsRegistry?: PromRegistry;
  /** True once shutdown began: `/readyz` answers 503 so load balancers stop sending new requests. */
  isDraining?: () => boolean;
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

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const health = registry.health();
    const built = catalog.hasCatalog();
    const draining = options.isDraining?.() ?? false;
    const ready = health.loaded && built && !draining;
    const reasons = [
      ...(health.loaded ? [] : ["registry not loaded yet"]),
      ...(built ? [] : ["no catalog built yet"]),
      ...(draining ? ["shutting down"] : []),
    ];
    const snapshot = catalog.current();
    reply.code(ready ? 200 : 503);
    return {
      status: ready ? "ready" : "not ready",
      reasons,
      // Registry health says e.g. "etcd unreachable since …; serving last known set" while still ready.
      registry: health,
      catalog: { built, generation: snapshot.generation, methods: snapshot.methodsByPath.size },
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
    const snapshot = catalog.current();
    const backends = [...registry.current()].map(([name, instances]) => {
      const statuses = snapshot.instances.get(name) ?? [];
      return {
        name,
        instances: instances.map((instance) => {
          const status = statuses.find(
            (s) => s.instance.id === instance.id && s.instance.address === instance.address,
          );
          return {
            id: instance.id,
            address: instance.address,
            metadata: instance.metadata,
            reflectionVersion: status?.reflectionVersion ?? null,
            descriptorHash: status?.descriptorHash ?? null,
            services: status?.services ?? [],
            lastRefreshAt: status?.lastRefreshAt ? new Date(status.lastRefreshAt).toISOString() : null,
            lastError: status?.lastError ?? null,
          };
        }),
      };
    });
    return {
      generation: snapshot.generation,
      registry: registry.health(),
      backends,
      problems: snapshot.problems,
    };
  });

  app.get("/admin/routes", async () => routesView(catalog.current()));
  return app;
}

/** Every route of a snapshot: the default POST route of each method, then each REST binding. */
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
    };
  });
  return { generation: snapshot.generation, routes: [...defaults, ...rest] };
}
