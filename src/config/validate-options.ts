import { Ajv, type ErrorObject } from "ajv";
import { MAX_DEPTH_LIMIT } from "../codec/options.js";
import { type ConfigProblem, GatewayConfigError } from "../errors.js";
import { DEFAULT_CONFIG, type GatewayConfig, type GatewayOptions } from "./config.js";
import { OPTION_SPECS } from "./options.js";

/**
 * The one validation of gateway options (connect-es style: `Partial<Options>` in, a complete checked
 * object out). The command line, the environment and the config file (load-config.ts) and
 * `createGateway()` all end here, against the same JSON Schema derived from OPTION_SPECS.
 */

const KIND_SCHEMA: Record<string, Record<string, unknown>> = {
  string: { type: "string" },
  integer: { type: "integer" },
  boolean: { type: "boolean" },
  duration: { type: "number", minimum: 0 },
  bytes: { type: "integer", minimum: 1 },
  list: { type: "array", items: { type: "string", minLength: 1 } },
  "backend-list": {
    type: "array",
    items: {
      type: "object",
      required: ["name", "address"],
      properties: {
        name: { type: "string", minLength: 1 },
        address: { type: "string", pattern: "^.+:[0-9]{1,5}$" },
        tls: { type: "boolean" },
        // Config-file entries may also name the `:authority` / TLS server name of the instance.
        authority: { type: "string", minLength: 1 },
      },
      additionalProperties: false,
    },
  },
};

/** The JSON Schema of a complete configuration, derived from OPTION_SPECS. */
export function configJsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const jsonProperties: Record<string, unknown> = {
    maxDepth: { type: "integer", minimum: 1, maximum: MAX_DEPTH_LIMIT },
  };
  for (const spec of OPTION_SPECS) {
    const schema = { ...KIND_SCHEMA[spec.kind], ...spec.schema, description: spec.description };
    if (spec.key.startsWith("json.")) jsonProperties[spec.key.slice(5)] = schema;
    else properties[spec.key] = schema;
  }
  properties.json = { type: "object", properties: jsonProperties, additionalProperties: false };
  // The --config file's own path (load-config.ts sets it), for its live `policies:`/`consumers:` lists.
  properties.configFile = { type: "string", minLength: 1 };
  // Static policy and consumer documents (createGateway); the policy types' schemas check them later.
  properties.policies = { type: "array", items: { type: "object" } };
  properties.consumers = { type: "array", items: { type: "object" } };
  properties.backendJson = {
    type: "object",
    additionalProperties: { type: "object", properties: jsonProperties, additionalProperties: false },
  };
  return { type: "object", properties, additionalProperties: false };
}

const validate = new Ajv({ allErrors: true, strict: false }).compile<GatewayConfig>(configJsonSchema());

/**
 * Fills defaults into `options` (`undefined` counts as absent; `json` is merged with the default JSON
 * options) and checks every value. Returns the complete configuration; throws a GatewayConfigError
 * with one problem per bad value, each naming the option by its key (`maxRequestBytes: must be >= 1`).
 */
export function validateGatewayOptions(options: GatewayOptions): GatewayConfig {
  const json: unknown = options.json;
  const config = {
    // A copy: the default lists must not be shared with (and changed through) a configuration.
    ...structuredClone(DEFAULT_CONFIG),
    ...definedOnly(options),
    // Not an object: left as it is, for the schema to name.
    json: isPlainObject(json) || json === undefined ? { ...DEFAULT_CONFIG.json, ...definedOnly(json) } : json,
  } as GatewayConfig;
  const problems: ConfigProblem[] = validate(config) ? [] : (validate.errors ?? []).map(toProblem);
  const [first, ...more] = problems;
  if (first) throw new GatewayConfigError(first.option, first.problem, ...more);
  return config;
}

function definedOnly(values: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, v]) => v !== undefined));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An ajv error as a problem naming the option by its key path (`maxRequestBytes`, `json.maxDepth`). */
function toProblem(error: ErrorObject): ConfigProblem {
  const path = error.instancePath.replace(/^\//, "").replace(/\//g, ".");
  const unknownKey = (error.params as { additionalProperty?: string }).additionalProperty;
  if (error.keyword === "additionalProperties" && unknownKey !== undefined) {
    return { option: path ? `${path}.${unknownKey}` : unknownKey, problem: "unknown option" };
  }
  return { option: path || "options", problem: error.message ?? "invalid" };
}
