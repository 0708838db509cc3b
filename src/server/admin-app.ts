import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { SchemaSync } from "../gateway/schema-sync.js";
import type { Registry } from "../registry/registry.js";

export interface AdminAppOptions {
  schemaSync: SchemaSync;
  registry: Registry;
  logger: Logger;
}

/** The admin listener (CONTRACT.md §8): separate from the public one, loopback by default. */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const { schemaSync, registry } = options;
  const app = Fastify({
    loggerInstance: options.logger.child({ listener: "admin" }),
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const health = registry.health();
    const catalog = schemaSync.hasCatalog();
    const ready = health.loaded && catalog;
    reply.code(ready ? 200 : 503);
    return {
      status: ready ? "ready" : "not ready",
      registry: health,
      catalog: {
        built: catalog,
        generation: schemaSync.current().generation,
        methods: schemaSync.current().methodsByPath.size,
      },
    };
  });

  app.get("/admin/backends", async () => {
    const snapshot = schemaSync.current();
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

  app.get("/admin/routes", async () => {
    const snapshot = schemaSync.current();
    const routes = [...snapshot.methodsByPath.values()].map((method) => ({
      verb: "POST",
      path: method.path,
      method: method.fullName,
      kind: method.kind,
      backend: method.backend,
      instances: method.instances.map((i) => i.address),
    }));
    return { generation: snapshot.generation, routes };
  });
  return app;
}
