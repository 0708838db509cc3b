import { DEFAULT_CONFIG, type GatewayConfig } from "./config.js";

/**
 * The one table of gateway options. It drives the command-line parser, the `REFRACT_*` environment
 * variables, the config-file keys, the JSON Schema that validates all three, `--help`, and the options
 * table in the README (scripts/gen-options-table.ts). Add an option here and everything follows.
 */

export type OptionKind = "string" | "integer" | "boolean" | "duration" | "bytes" | "list" | "backend-list";

export interface OptionSpec {
  /** Key in GatewayConfig and in the config file. */
  key: keyof GatewayConfig | `json.${string}`;
  /** Command-line flag without dashes. */
  flag: string;
  kind: OptionKind;
  description: string;
  /** Value shown for "default" in help and docs. */
  defaultText: string;
  /** JSON Schema constraints beyond the kind (minimum, enum, pattern, …). */
  schema?: Record<string, unknown>;
}

const d = DEFAULT_CONFIG;

export const OPTION_SPECS: readonly OptionSpec[] = [
  {
    key: "port",
    flag: "port",
    kind: "integer",
    description: "Public HTTP port.",
    defaultText: String(d.port),
    schema: { minimum: 0, maximum: 65535 },
  },
  { key: "host", flag: "host", kind: "string", description: "Public listen address.", defaultText: d.host },
  {
    key: "adminPort",
    flag: "admin-port",
    kind: "integer",
    description: "Admin port (health, metrics, admin views).",
    defaultText: String(d.adminPort),
    schema: { minimum: 0, maximum: 65535 },
  },
  {
    key: "adminHost",
    flag: "admin-host",
    kind: "string",
    description: "Admin listen address (loopback by default).",
    defaultText: d.adminHost,
  },
  {
    key: "backends",
    flag: "backend",
    kind: "backend-list",
    description:
      "Static backend `name=host:port` (repeatable); `name=grpcs://host:port` dials it with TLS. In a config file also `{name, address, tls, authority}`.",
    defaultText: "none",
  },
  {
    key: "etcd",
    flag: "etcd",
    kind: "list",
    description: "etcd endpoints (comma-separated or repeated); enables discovery.",
    defaultText: "none",
  },
  {
    key: "etcdPrefix",
    flag: "etcd-prefix",
    kind: "string",
    description: "Key prefix of backend registrations in etcd.",
    defaultText: d.etcdPrefix,
    schema: { minLength: 1 },
  },
  {
    key: "configPrefix",
    flag: "config-prefix",
    kind: "string",
    description:
      "Key prefix in etcd of policy and consumer documents (`policies/<name>`, `consumers/<name>`, YAML or JSON), watched when --etcd is set.",
    defaultText: d.configPrefix,
    schema: { minLength: 2 },
  },
  {
    key: "etcdDialTimeoutMs",
    flag: "etcd-dial-timeout",
    kind: "duration",
    description: "Deadline of each list (and watch confirmation) against etcd.",
    defaultText: "5s",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "etcdStartTimeoutMs",
    flag: "etcd-start-timeout",
    kind: "duration",
    description:
      "How long start-up waits for the first etcd list; after it the gateway serves (not ready) while it keeps trying.",
    defaultText: "5s",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "etcdRetryInitialMs",
    flag: "etcd-retry-initial",
    kind: "duration",
    description: "First delay before listing etcd again after a failure (then doubled, jittered, capped).",
    defaultText: "200ms",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "etcdRetryMaxMs",
    flag: "etcd-retry-max",
    kind: "duration",
    description: "Cap of the etcd retry delay after etcd answered with an error (overloaded, refusing).",
    defaultText: "10s",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "etcdUnreachableRetryMaxMs",
    flag: "etcd-unreachable-retry-max",
    kind: "duration",
    description: "Cap of the etcd retry delay while no endpoint answers at all.",
    defaultText: "1s",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "redis",
    flag: "redis",
    kind: "string",
    description:
      "Redis URL (`redis://host:port`, `rediss://` for TLS) holding the limits of rate-limit policies with `store: redis`, shared by every replica.",
    defaultText: "none",
    schema: { pattern: "^rediss?://[^\\s/]+" },
  },
  {
    key: "refreshIntervalMs",
    flag: "refresh-interval",
    kind: "duration",
    description: "Periodic schema refresh per instance (jittered ±20%); 0 disables.",
    defaultText: "30s",
  },
  {
    key: "reflectionTimeoutMs",
    flag: "reflection-timeout",
    kind: "duration",
    description:
      "Deadline of one reflection fetch (every request of one schema download); retried with backoff.",
    defaultText: "10s",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "maxReflectionBytes",
    flag: "max-reflection-bytes",
    kind: "bytes",
    description: "Largest reflection answer taken from a backend (descriptor sets of big APIs).",
    defaultText: "64MiB",
  },
  {
    key: "pendingSchemaWaitMs",
    flag: "pending-schema-wait",
    kind: "duration",
    description:
      "How long a call waits for its backend's first schema fetch before 503 (404 for an unknown path); start-up waits as long for the first fetches. 0 = no waiting.",
    defaultText: "2s",
  },
  {
    key: "httpRulesFile",
    flag: "http-rules",
    kind: "string",
    description: "Google service-config YAML with `http.rules` (overrides descriptor rules).",
    defaultText: "none",
    schema: { minLength: 1 },
  },
  {
    key: "corsOrigins",
    flag: "cors-origin",
    kind: "list",
    description:
      "Origins allowed by CORS (repeatable): exact `scheme://host[:port]`, or `*` (not with credentials); none by default.",
    defaultText: "none",
    schema: { items: { type: "string", pattern: "^(\\*|https?://[^/?#\\s]+)$" } },
  },
  {
    key: "corsCredentials",
    flag: "cors-credentials",
    kind: "boolean",
    description: "CORS: allow credentials (cookies, `Authorization`) from the allowed origins.",
    defaultText: "false",
  },
  {
    key: "corsMaxAgeMs",
    flag: "cors-max-age",
    kind: "duration",
    description: "CORS: how long browsers cache a preflight answer (`Access-Control-Max-Age`).",
    defaultText: "10m",
  },
  {
    key: "compression",
    flag: "compression",
    kind: "boolean",
    description:
      "Compress responses (br, gzip, deflate) when the client accepts it; NDJSON and SSE streams never are. Compressed request bodies are always accepted.",
    defaultText: "true",
  },
  {
    key: "compressionThresholdBytes",
    flag: "compression-threshold",
    kind: "bytes",
    description: "Responses smaller than this are sent uncompressed.",
    defaultText: "1KiB",
  },
  {
    key: "backendCompression",
    flag: "backend-compression",
    kind: "string",
    description: "gRPC message compression to backends that accept it: `none`, `gzip` or `deflate`.",
    defaultText: d.backendCompression,
    schema: { enum: ["none", "gzip", "deflate"] },
  },
  {
    key: "tlsCert",
    flag: "tls-cert",
    kind: "string",
    description:
      "PEM certificate chain file: serve TLS on the public port (HTTP/2 by ALPN and HTTP/1.1); with `--tls-key`.",
    defaultText: "none",
    schema: { minLength: 1 },
  },
  {
    key: "tlsKey",
    flag: "tls-key",
    kind: "string",
    description: "PEM private key file for `--tls-cert`.",
    defaultText: "none",
    schema: { minLength: 1 },
  },
  {
    key: "http2",
    flag: "http2",
    kind: "boolean",
    description:
      "Serve HTTP/2 besides HTTP/1.1 on the public port (h2c prior knowledge in cleartext, ALPN h2 with TLS).",
    defaultText: "true",
  },
  {
    key: "backendCa",
    flag: "backend-ca",
    kind: "string",
    description: "PEM CA bundle to verify TLS backends (instead of the system roots).",
    defaultText: "system roots",
    schema: { minLength: 1 },
  },
  {
    key: "backendCert",
    flag: "backend-cert",
    kind: "string",
    description: "PEM client certificate file for mTLS to TLS backends; with `--backend-key`.",
    defaultText: "none",
    schema: { minLength: 1 },
  },
  {
    key: "backendKey",
    flag: "backend-key",
    kind: "string",
    description: "PEM private key file of `--backend-cert`.",
    defaultText: "none",
    schema: { minLength: 1 },
  },
  {
    key: "backendServerName",
    flag: "backend-server-name",
    kind: "string",
    description: "TLS server name backend certificates are verified against, instead of the dialed host.",
    defaultText: "none",
    schema: { minLength: 1 },
  },
  {
    key: "maxHeaderBytes",
    flag: "max-header-bytes",
    kind: "bytes",
    description: "Largest request head (request line and headers) accepted; 431 above it.",
    defaultText: "16KiB",
  },
  {
    key: "maxHeaderCount",
    flag: "max-header-count",
    kind: "integer",
    description: "Header fields an HTTP/1.1 request may have; 431 above it (never silently dropped).",
    defaultText: String(d.maxHeaderCount),
    schema: { minimum: 1 },
  },
  {
    key: "maxConcurrentStreams",
    flag: "max-concurrent-streams",
    kind: "integer",
    description: "Concurrent requests per HTTP/2 connection.",
    defaultText: String(d.maxConcurrentStreams),
    schema: { minimum: 1, maximum: 2 ** 31 - 1 },
  },
  {
    key: "maxConcurrentRequests",
    flag: "max-concurrent-requests",
    kind: "integer",
    description:
      "Requests in flight at once (streams and WebSockets included); 503 with `Retry-After` above it; 0 = no limit.",
    defaultText: "0",
    schema: { minimum: 0 },
  },
  {
    key: "idleTimeoutMs",
    flag: "idle-timeout",
    kind: "duration",
    description: "How long an idle keep-alive connection or HTTP/2 session stays open.",
    defaultText: "65s",
  },
  {
    key: "headersTimeoutMs",
    flag: "headers-timeout",
    kind: "duration",
    description:
      "Time a client gets to send the request headers (and for the TLS handshake) before the connection is closed.",
    defaultText: "10s",
    schema: { exclusiveMinimum: 0 },
  },
  {
    key: "requestTimeoutMs",
    flag: "request-timeout",
    kind: "duration",
    description:
      "Time an HTTP/1.1 client gets to send the whole request (long client-streaming uploads need more); 0 = no limit.",
    defaultText: "5m",
  },
  {
    key: "logLevel",
    flag: "log-level",
    kind: "string",
    description: "Log level.",
    defaultText: d.logLevel,
    schema: { enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] },
  },
  {
    key: "maxRequestBytes",
    flag: "max-request-bytes",
    kind: "bytes",
    description: "Request body limit (413 above it).",
    defaultText: "4MiB",
  },
  {
    key: "maxResponseBytes",
    flag: "max-response-bytes",
    kind: "bytes",
    description:
      "Largest response message taken from a backend; a larger one fails the call with RESOURCE_EXHAUSTED (429).",
    defaultText: "16MiB",
  },
  {
    key: "maxBackendHeaderBytes",
    flag: "max-backend-header-bytes",
    kind: "bytes",
    description:
      "Largest response header list taken from a backend on the unary HTTP/2 transport (SETTINGS_MAX_HEADER_LIST_SIZE); more fails the connection.",
    defaultText: "256KiB",
    schema: { minimum: 4096 },
  },
  {
    key: "defaultTimeoutMs",
    flag: "default-timeout",
    kind: "duration",
    description: "Deadline when a request has no Grpc-Timeout; 0 = none.",
    defaultText: "30s",
  },
  {
    key: "streamDefaultTimeoutMs",
    flag: "stream-default-timeout",
    kind: "duration",
    description:
      "Deadline of a streaming call (NDJSON, SSE, WebSocket) without Grpc-Timeout; 0 = none (browsers cannot send one).",
    defaultText: "0 (none)",
  },
  {
    key: "maxTimeoutMs",
    flag: "max-timeout",
    kind: "duration",
    description: "Cap on any deadline; 0 = no cap.",
    defaultText: "5m",
  },
  {
    key: "forwardHeaders",
    flag: "forward-header",
    kind: "list",
    description: "Request headers forwarded to backends as they are (repeatable).",
    defaultText: "none",
  },
  {
    key: "trustedProxies",
    flag: "trusted-proxy",
    kind: "list",
    description:
      "Proxy addresses (CIDR, IPv4 or IPv6; repeatable) whose X-Forwarded-For is believed for the client address policies see; walked right to left through trusted hops.",
    defaultText: "none",
    schema: {
      items: {
        type: "string",
        pattern: "^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(/[0-9]{1,3})?$",
      },
    },
  },
  {
    key: "allowServices",
    flag: "allow-service",
    kind: "list",
    description: "Infrastructure services (reflection, health) to route anyway.",
    defaultText: "none",
  },
  {
    key: "denyServices",
    flag: "deny-service",
    kind: "list",
    description: "Services never routed.",
    defaultText: "none",
  },
  {
    key: "shutdownGraceMs",
    flag: "shutdown-grace",
    kind: "duration",
    description: "On SIGTERM, time in-flight calls get to finish before they are cut.",
    defaultText: "10s",
  },
  {
    key: "docs",
    flag: "docs",
    kind: "boolean",
    description: "Serve `GET /openapi.json` and the `GET /docs` page on the public port.",
    defaultText: "true",
  },
  {
    key: "workers",
    flag: "workers",
    kind: "integer",
    description:
      "Gateway processes sharing the public port, each with its own registry watch and catalog; the parent serves the admin port.",
    defaultText: "number of CPUs",
    schema: { minimum: 1, maximum: 256 },
  },
  {
    key: "json.emitUnpopulated",
    flag: "emit-unpopulated",
    kind: "boolean",
    description: "Emit every field with its default in responses.",
    defaultText: "true",
  },
  {
    key: "json.useProtoNames",
    flag: "use-proto-names",
    kind: "boolean",
    description: "Use proto field names in responses instead of lowerCamel.",
    defaultText: "false",
  },
  {
    key: "json.enumsAsInts",
    flag: "enums-as-ints",
    kind: "boolean",
    description: "Emit enums as numbers.",
    defaultText: "false",
  },
  {
    key: "json.discardUnknownFields",
    flag: "discard-unknown-fields",
    kind: "boolean",
    description: "Drop unknown JSON fields instead of answering 400.",
    defaultText: "false",
  },
];

/** `port` → `REFRACT_PORT`, `admin-port` → `REFRACT_ADMIN_PORT`. */
export function envName(spec: OptionSpec): string {
  return `REFRACT_${spec.flag.replace(/-/g, "_").toUpperCase()}`;
}
