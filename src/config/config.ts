import { availableParallelism } from "node:os";
import { DEFAULT_JSON_OPTIONS, type JsonOptions } from "../codec/codec.js";
import type { StaticBackend } from "./static-backend.js";

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
  /**
   * Key prefix of policy and consumer documents in etcd (`policies/<name>`, `consumers/<name>`), watched
   * when `etcd` is set. Default `/refract/config/`.
   */
  configPrefix: string;
  /**
   * The `--config` file, when there is one: its `policies:` and `consumers:` lists are watched and applied
   * live (its other options are read once). Set by the command line; not an option of the file itself.
   */
  configFile: string | undefined;
  /** Deadline of each list (and watch confirmation) against etcd. Default 5 s. */
  etcdDialTimeoutMs: number;
  /** How long start-up waits for the first etcd list before serving with an empty set. Default 5 s. */
  etcdStartTimeoutMs: number;
  /** First retry delay after an etcd failure (doubled, jittered, up to the caps below). Default 200 ms. */
  etcdRetryInitialMs: number;
  /** Cap of the etcd retry delay after etcd answered with an error. Default 10 s. */
  etcdRetryMaxMs: number;
  /** Cap of the etcd retry delay while no endpoint answers at all. Default 1 s. */
  etcdUnreachableRetryMaxMs: number;
  /**
   * Redis (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS) shared by every replica for
   * rate-limit policies with `store: redis`. Default none: such policies are rejected.
   */
  redis: string | undefined;
  /** Periodic schema refresh per instance (jittered). Default 30 s; 0 disables. */
  refreshIntervalMs: number;
  /** Deadline of one reflection fetch (every request of one schema download). Default 10 s. */
  reflectionTimeoutMs: number;
  /** Largest reflection answer accepted from a backend, bytes. Default 64 MiB. */
  maxReflectionBytes: number;
  /**
   * How long a call waits for a pending first schema fetch of its backend before 503 (404 for an unknown
   * path); start() waits as long for the first fetches. Default 2 s; 0 = no waiting.
   */
  pendingSchemaWaitMs: number;
  /** Google service-config YAML with `http.rules`, for backends whose reflection drops options. */
  httpRulesFile: string | undefined;
  /** Origins allowed by CORS (exact `scheme://host[:port]`, or `*` without credentials). Default none. */
  corsOrigins: string[];
  /** CORS: allow credentials (cookies, Authorization) from the allowed origins. Default false. */
  corsCredentials: boolean;
  /** CORS: how long browsers may cache a preflight answer (`Access-Control-Max-Age`). Default 10 min. */
  corsMaxAgeMs: number;
  /** Compress responses (br, gzip, deflate) when the client accepts it. Default true. */
  compression: boolean;
  /** Responses smaller than this are sent uncompressed. Default 1 KiB. */
  compressionThresholdBytes: number;
  /** gRPC message compression to backends that accept it: `none`, `gzip` or `deflate`. Default none. */
  backendCompression: "none" | "gzip" | "deflate";
  /** PEM certificate (chain) file for TLS on the public port; with `tlsKey`. Default none (cleartext). */
  tlsCert: string | undefined;
  /** PEM private key file for TLS on the public port. */
  tlsKey: string | undefined;
  /** Serve HTTP/2 besides HTTP/1.1 (h2c prior knowledge in cleartext, ALPN h2 with TLS). Default true. */
  http2: boolean;
  /** PEM CA bundle to verify TLS backends. Default: the system roots. */
  backendCa: string | undefined;
  /** PEM client certificate file for mTLS to TLS backends; with `backendKey`. */
  backendCert: string | undefined;
  /** PEM private key file of the client certificate. */
  backendKey: string | undefined;
  /** TLS server name to verify backend certificates against, instead of the dialed host. */
  backendServerName: string | undefined;
  /** Largest request head (request line + headers) accepted; 431 above it. Default 16 KiB. */
  maxHeaderBytes: number;
  /** Header fields an HTTP/1.1 request may have; 431 above it. Default 1000 (Node's own count). */
  maxHeaderCount: number;
  /** Concurrent streams per HTTP/2 connection. Default 100. */
  maxConcurrentStreams: number;
  /** Requests (streams and WebSockets included) in flight at once; 503 above it. Default 0 = no limit. */
  maxConcurrentRequests: number;
  /** How long an idle keep-alive connection (or HTTP/2 session) stays open. Default 65 s. */
  idleTimeoutMs: number;
  /** Time a client gets to send the request headers. Default 10 s. */
  headersTimeoutMs: number;
  /** Time a client gets to send the whole request (HTTP/1.1). Default 5 min; 0 = no limit. */
  requestTimeoutMs: number;
  /** pino level. Default info. */
  logLevel: string;
  /** Request body limit, bytes. Default 4 MiB. */
  maxRequestBytes: number;
  /** Largest response message accepted from a backend, bytes (RESOURCE_EXHAUSTED above it). Default 16 MiB. */
  maxResponseBytes: number;
  /**
   * Largest response header list (RFC 9113 §6.5.2 size) taken from a backend on the unary HTTP/2
   * transport; a backend sending more fails its connection. Default 256 KiB.
   */
  maxBackendHeaderBytes: number;
  /** Deadline when the client sends no Grpc-Timeout. Default 30 s; 0 = none. */
  defaultTimeoutMs: number;
  /** Deadline of a stream when the request has no Grpc-Timeout. Default 0: none. */
  streamDefaultTimeoutMs: number;
  /** Cap on any deadline. Default 5 min; 0 = no cap. */
  maxTimeoutMs: number;
  /** Request headers forwarded to backends as they are (besides the contract's fixed set). */
  forwardHeaders: string[];
  /**
   * Proxies (CIDR ranges, IPv4 or IPv6) whose X-Forwarded-For is believed for the client address policies
   * see (`ip-restriction`, rate-limit `ip` keys): walked right to left through trusted hops. Default none.
   */
  trustedProxies: string[];
  /**
   * Policy documents in force from the start (`createGateway({ policies })`; a `--config` file's
   * `policies:` list is read and watched by the config store instead). Validated against the policy types'
   * schemas when the gateway is created. Default none.
   */
  policies: unknown[];
  /** Consumer documents (`{name, apiKeys: [{sha256}], labels}`), as `policies`. Default none. */
  consumers: unknown[];
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
  /** Gateway processes sharing the public port (node:cluster). Default: the number of CPUs. */
  workers: number;
}

/**
 * What callers give (createGateway(), validateGatewayOptions()): any subset of GatewayConfig, `undefined`
 * meaning "the default"; `json` may be partial too and is merged over the default JSON options.
 */
export type GatewayOptions = {
  [K in Exclude<keyof GatewayConfig, "json">]?: GatewayConfig[K] | undefined;
} & { json?: Partial<JsonOptions> | undefined };

export const DEFAULT_CONFIG: Readonly<GatewayConfig> = Object.freeze({
  port: 8080,
  host: "0.0.0.0",
  adminPort: 9090,
  adminHost: "127.0.0.1",
  backends: [],
  etcd: [],
  etcdPrefix: "/refract/backends/",
  configPrefix: "/refract/config/",
  configFile: undefined,
  etcdDialTimeoutMs: 5_000,
  etcdStartTimeoutMs: 5_000,
  etcdRetryInitialMs: 200,
  etcdRetryMaxMs: 10_000,
  etcdUnreachableRetryMaxMs: 1_000,
  redis: undefined,
  refreshIntervalMs: 30_000,
  reflectionTimeoutMs: 10_000,
  maxReflectionBytes: 64 * 1024 * 1024,
  pendingSchemaWaitMs: 2_000,
  httpRulesFile: undefined,
  corsOrigins: [],
  corsCredentials: false,
  corsMaxAgeMs: 600_000,
  compression: true,
  compressionThresholdBytes: 1024,
  backendCompression: "none",
  tlsCert: undefined,
  tlsKey: undefined,
  http2: true,
  backendCa: undefined,
  backendCert: undefined,
  backendKey: undefined,
  backendServerName: undefined,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 1000,
  maxConcurrentStreams: 100,
  maxConcurrentRequests: 0,
  // Above the 60 s idle timeout of common load balancers, so they never reuse a connection we just closed.
  idleTimeoutMs: 65_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  logLevel: "info",
  maxRequestBytes: 4 * 1024 * 1024,
  maxResponseBytes: 16 * 1024 * 1024,
  maxBackendHeaderBytes: 256 * 1024,
  defaultTimeoutMs: 30_000,
  streamDefaultTimeoutMs: 0,
  maxTimeoutMs: 300_000,
  forwardHeaders: [],
  trustedProxies: [],
  policies: [],
  consumers: [],
  json: { ...DEFAULT_JSON_OPTIONS },
  backendJson: {},
  allowServices: [],
  denyServices: [],
  shutdownGraceMs: 10_000,
  docs: true,
  workers: availableParallelism(),
});
