import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { buildAdminApp } from "../admin/admin-app.js";
import { CatalogBuilder } from "../catalog/build-catalog.js";
import type { JsonOptions } from "../codec/codec.js";
import { type GatewayConfig, resolveConfig } from "../config/config.js";
import { Gateway } from "../gateway/gateway.js";
import { SchemaSync } from "../gateway/schema-sync.js";
import { INFRASTRUCTURE_SERVICES } from "../reflection/reflection-client.js";
import type { Registry } from "../registry/registry.js";
import { createStaticRegistry } from "../registry/static-registry.js";
import { readHttpRulesFile } from "../router/index.js";
import { ChannelPool } from "../upstream/channel-pool.js";
import { Upstream } from "../upstream/upstream.js";
import { buildPublicApp } from "./build-app.js";

export interface CreateGatewayOptions extends Partial<GatewayConfig> {
  /** A logger to use (default: pino at `logLevel` on stdout). */
  logger?: Logger;
  /** A registry to use instead of the one the config describes (tests, embedding). */
  registry?: Registry;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  /** The public Fastify app (use `inject()` in tests). */
  readonly app: FastifyInstance;
  /** The admin Fastify app (health, metrics, admin views). */
  readonly adminApp: FastifyInstance;
  readonly gateway: Gateway;
  readonly schemaSync: SchemaSync;
  readonly logger: Logger;
  /** Loads the registry and the first catalog, then listens on both ports. */
  start(): Promise<{ publicUrl: string; adminUrl: string }>;
  /** Stops listening, lets in-flight requests finish, closes channels, watches and the registry. */
  close(): Promise<void>;
}

/** Assembles a gateway from configuration: registry → schema sync → catalog → gateway → HTTP apps. */
export async function createGateway(options: CreateGatewayOptions = {}): Promise<RunningGateway> {
  const { logger: givenLogger, registry: givenRegistry, ...partial } = options;
  const config = resolveConfig(partial);
  const logger = givenLogger ?? pino({ level: config.logLevel, base: { service: "refract" } });
  const registry = givenRegistry ?? (await registryFor(config, logger));
  const pool = new ChannelPool();
  const deny = new Set(config.denyServices);
  const allow = new Set(config.allowServices);
  const jsonByBackend = new Map<string, JsonOptions>();
  const schemaSync = new SchemaSync({
    registry,
    pool,
    builder: new CatalogBuilder(),
    logger,
    refreshIntervalMs: config.refreshIntervalMs,
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
  });
  const upstream = new Upstream(pool);
  const fileRules = config.httpRulesFile ? await readHttpRulesFile(config.httpRulesFile) : [];
  const gateway = new Gateway({
    schemaSync,
    fileRules,
    logger,
    upstream,
    deadlines: { defaultTimeoutMs: config.defaultTimeoutMs, maxTimeoutMs: config.maxTimeoutMs },
    forwardHeaders: new Set(config.forwardHeaders.map((h) => h.toLowerCase())),
  });
  const app = buildPublicApp({ gateway, logger, maxRequestBytes: config.maxRequestBytes });
  const adminApp = buildAdminApp({ schemaSync, registry, logger });

  let closed = false;
  return {
    config,
    app,
    adminApp,
    gateway,
    schemaSync,
    logger,
    async start() {
      await schemaSync.start();
      const publicUrl = await app.listen({ port: config.port, host: config.host });
      const adminUrl = await adminApp.listen({ port: config.adminPort, host: config.adminHost });
      logger.info({ publicUrl, adminUrl }, "refract listening");
      return { publicUrl, adminUrl };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([app.close(), adminApp.close()]);
      schemaSync.close();
      pool.close();
      await registry.close();
    },
  };
}

async function registryFor(config: GatewayConfig, logger: Logger): Promise<Registry> {
  if (config.etcd.length > 0) {
    const { createEtcdRegistry } = await import("../registry/etcd-registry.js");
    return createEtcdRegistry({ endpoints: config.etcd, prefix: config.etcdPrefix, logger });
  }
  return createStaticRegistry(config.backends);
}
