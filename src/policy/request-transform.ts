import { GatewayConfigError } from "../errors.js";
import type { PolicyType } from "./policy.js";
import { type CompiledTemplate, compileTemplate, TEMPLATE_PATTERN } from "./template.js";

/**
 * The `request-transform` policy type (phase transform): gRPC metadata to set from templates over the
 * identity (`x-user-id: "{claims.sub}"`, `x-consumer: "{consumer.name}"`, see template.ts), metadata keys
 * to remove, and request headers to drop before metadata is built from them (e.g. `authorization` once a
 * token is verified, so the backend never sees it). Request headers reach a backend only as metadata, so
 * "setting a header" is `setMetadata`. Every key in `setMetadata` is declared in `setsMetadata`: a client's
 * own value for it is removed on every call of a chain holding this policy, also when the template has no
 * value for this call (then the key is absent) — a spoofed `x-user-id` never passes.
 */
export interface RequestTransformConfig {
  /** Metadata key (lower case) → template. */
  setMetadata?: Record<string, string>;
  /** Metadata keys removed from what the client sent. */
  removeMetadata?: string[];
  /** Request headers removed before metadata is built from them (`authorization`, `grpc-metadata-x`…). */
  removeHeaders?: string[];
}

// gRPC metadata keys (PROTOCOL-HTTP2.md, Custom-Metadata); `-bin` keys carry bytes, not template text.
const METADATA_KEY = "^(?!.*-bin$)[0-9a-z_.-]+$";
const HEADER_NAME = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

export const requestTransformPolicyType: PolicyType<RequestTransformConfig> = {
  type: "request-transform",
  phase: "transform",
  configSchema: {
    type: "object",
    description:
      "Set and remove the gRPC metadata a backend receives, with values from the caller's identity.",
    properties: {
      setMetadata: {
        type: "object",
        description:
          "Metadata key → template: text with {claims.<name>}, {consumer.name}, {consumer.labels.<name>}, {subject}.",
        propertyNames: { pattern: METADATA_KEY },
        additionalProperties: { type: "string", pattern: TEMPLATE_PATTERN },
        minProperties: 1,
      },
      removeMetadata: {
        type: "array",
        items: { type: "string", pattern: "^[0-9a-z_.-]+$" },
        minItems: 1,
        description: "Metadata keys removed from what the client sent.",
      },
      removeHeaders: {
        type: "array",
        items: { type: "string", pattern: HEADER_NAME },
        minItems: 1,
        description: "Request headers dropped before metadata is built from them.",
      },
    },
    anyOf: [{ required: ["setMetadata"] }, { required: ["removeMetadata"] }, { required: ["removeHeaders"] }],
    additionalProperties: false,
  },
  compile(config, _environment, name) {
    const set: Array<readonly [string, CompiledTemplate]> = [];
    for (const [key, template] of Object.entries(config.setMetadata ?? {})) {
      try {
        set.push([key.toLowerCase(), compileTemplate(template)]);
      } catch (error) {
        throw new GatewayConfigError(`policies/${name}`, (error as Error).message);
      }
    }
    const removeMetadata = (config.removeMetadata ?? []).map((k) => k.toLowerCase());
    const removeHeaders = (config.removeHeaders ?? []).map((h) => h.toLowerCase());
    return {
      name,
      type: "request-transform",
      phase: "transform",
      priority: 0,
      setsMetadata: Object.freeze(set.map(([key]) => key)),
      run(context) {
        for (const key of removeMetadata) context.removeMetadata.add(key);
        for (const header of removeHeaders) context.removeHeaders.add(header);
        for (const [key, template] of set) {
          const value = template(context.identity);
          if (value !== undefined) context.setMetadata.set(key, value);
        }
      },
    };
  },
};
