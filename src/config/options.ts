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
    description: "Static backend `name=host:port` (repeatable).",
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
    key: "refreshIntervalMs",
    flag: "refresh-interval",
    kind: "duration",
    description: "Periodic schema refresh per instance (jittered ±20%); 0 disables.",
    defaultText: "30s",
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
    description: "Origins allowed by CORS (repeatable); none by default.",
    defaultText: "none",
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
    key: "defaultTimeoutMs",
    flag: "default-timeout",
    kind: "duration",
    description: "Deadline when a request has no Grpc-Timeout; 0 = none.",
    defaultText: "30s",
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
