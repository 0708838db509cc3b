import { DEFAULT_JSON_OPTIONS, type JsonOptions } from "../codec/codec.js";
import type { StaticBackend } from "../registry/static-registry.js";

/** Everything a gateway needs to run. Every option has a default; see DEFAULT_CONFIG. */
export interface GatewayConfig {
  /** Public listener port. Default 8080. */
  port: number;
  /** Public listener address. Default 0.0.0.0. */
  host: string;
  /** Admin listener port (health, metrics, admin views). Default 9090; 0 picks a free port. */
  adminPort: number;
  /** Admin listener address. Default 127.0.0.1 (loopback only). */
  adminHost: string;
  /** Static backends (`--backend name=host:port`). */
  backends: StaticBackend[];
  /** etcd endpoints; when set, backends are discovered under `etcdPrefix`. */
  etcd: string[];
  /** Key prefix of backend registrations in etcd. Default `/refract/backends/`. */
  etcdPrefix: string;
  /** Periodic schema refresh per instance (jittered). Default 30 s; 0 disables. */
  refreshIntervalMs: number;
  /** Google service-config YAML with `http.rules`, for backends whose reflection drops options. */
  httpRulesFile: string | undefined;
  /** Origins allowed by CORS. Default none. */
  corsOrigins: string[];
  /** pino level. Default info. */
  logLevel: string;
  /** Request body limit, bytes. Default 4 MiB. */
  maxRequestBytes: number;
  /** Deadline when the client sends no Grpc-Timeout. Default 30 s; 0 = none. */
  defaultTimeoutMs: number;
  /** Cap on any deadline. Default 5 min; 0 = no cap. */
  maxTimeoutMs: number;
  /** Request headers forwarded to backends as they are (besides the contract's fixed set). */
  forwardHeaders: string[];
  /** Gateway-wide JSON mapping options. */
  json: JsonOptions;
  /** Per-backend overrides of the JSON options. */
  backendJson: Record<string, Partial<JsonOptions>>;
  /** Services routed even though they are infrastructure (reflection, health). Default none. */
  allowServices: string[];
  /** Services never routed. */
  denyServices: string[];
  /** On SIGTERM, how long in-flight calls may take to finish before they are cut. Default 10 s. */
  shutdownGraceMs: number;
  /** Serve `GET /openapi.json` and `GET /docs` on the public port. Default true. */
  docs: boolean;
}

export const DEFAULT_CONFIG: Readonly<GatewayConfig> = Object.freeze({
  port: 8080,
  host: "0.0.0.0",
  adminPort: 9090,
  adminHost: "127.0.0.1",
  backends: [],
  etcd: [],
  etcdPrefix: "/refract/backends/",
  refreshIntervalMs: 30_000,
  httpRulesFile: undefined,
  corsOrigins: [],
  logLevel: "info",
  maxRequestBytes: 4 * 1024 * 1024,
  defaultTimeoutMs: 30_000,
  maxTimeoutMs: 300_000,
  forwardHeaders: [],
  json: { ...DEFAULT_JSON_OPTIONS },
  backendJson: {},
  allowServices: [],
  denyServices: [],
  shutdownGraceMs: 10_000,
  docs: true,
});

/** Fills defaults for everything not given. */
export function resolveConfig(partial: Partial<GatewayConfig>): GatewayConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return {
    ...DEFAULT_CONFIG,
    ...defined,
    json: { ...DEFAULT_CONFIG.json, ...partial.json },
  } as GatewayConfig;
}
