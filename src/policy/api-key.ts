import { createHash } from "node:crypto";
import type { Consumer, Identity, PolicyContext, PolicyType } from "./policy.js";
import { invalidApiKey, missingApiKey } from "./policy-errors.js";

/**
 * The `api-key` policy type (phase authenticate): the key is read from a header (default `x-api-key`) or,
 * when `query` names one, a query parameter (for EventSource and WebSocket, which cannot set headers); its
 * SHA-256 (lower-case hex) is looked up among the consumers' `apiKeys`, and that consumer becomes the
 * identity (subject = the consumer's name). No key: 401 when `required` (default), else the call goes on
 * anonymously; a key that matches no consumer: 401 either way. A call another authenticate policy already
 * identified (say, a `jwt` earlier in the phase) passes without a key. The key never reaches a log line or
 * an error body, and a query parameter holding it is removed before the request is bound.
 */
export interface ApiKeyConfig {
  /** Request header holding the key. Default `x-api-key`. */
  header?: string;
  /** Query parameter holding the key, when the header is absent. Default: none. */
  query?: string;
  /** Refuse calls without a key. Default true. */
  required?: boolean;
}

export const apiKeyPolicyType: PolicyType<ApiKeyConfig> = {
  type: "api-key",
  phase: "authenticate",
  readsConsumers: true,
  configSchema: {
    type: "object",
    description: "Authenticate callers by API key, looked up by its SHA-256 among the consumers.",
    properties: {
      header: {
        type: "string",
        pattern: "^[A-Za-z0-9-]+$",
        description: "Request header holding the key. Default x-api-key.",
      },
      query: {
        type: "string",
        pattern: "^[A-Za-z0-9_.-]+$",
        description: "Query parameter holding the key when the header is absent. Default: none.",
      },
      required: { type: "boolean", description: "Refuse calls without a key. Default true." },
    },
    additionalProperties: false,
  },
  compile(config, environment, name) {
    const header = (config.header ?? "x-api-key").toLowerCase();
    const query = config.query;
    const required = config.required ?? true;
    // One frozen identity per consumer, made here: a request allocates none.
    const identities = new Map<string, Identity>();
    for (const [hash, consumer] of environment.consumersByKeyHash) {
      identities.set(hash, identityOf(consumer));
    }
    return {
      name,
      type: "api-key",
      phase: "authenticate",
      priority: 0,
      openApiSecurity: {
        scheme:
          query === undefined
            ? { type: "apiKey", in: "header", name: header }
            : { type: "apiKey", in: "header", name: header, description: `or the query parameter ${query}` },
        optional: !required,
      },
      run(context) {
        const key = keyOf(context, header, query);
        if (key === undefined || key === "") {
          // Every required authenticate policy finds its own credential (either-of: required false on
          // each, and an authorize policy, which refuses anonymous calls).
          if (required) throw missingApiKey();
          return;
        }
        const identity = identities.get(createHash("sha256").update(key).digest("hex"));
        if (identity === undefined) throw invalidApiKey();
        // A token verified before keeps its subject and claims; the key adds who the client is.
        const earlier = context.identity;
        context.identity = earlier === undefined ? identity : { ...earlier, consumer: identity.consumer };
      },
    };
  },
};

function keyOf(context: PolicyContext, header: string, query: string | undefined): string | undefined {
  const value = context.headers[header];
  let found: string | null = null;
  if (query !== undefined && context.query !== "") {
    found = new URLSearchParams(context.query).get(query);
    // Never bound into the request, whichever of the two carried the key.
    if (found !== null) context.removeQueryParameters?.add(query);
  }
  if (value !== undefined) return Array.isArray(value) ? value[0] : value;
  return found ?? undefined;
}

function identityOf(consumer: Consumer): Identity {
  return Object.freeze({
    source: "api-key",
    subject: consumer.name,
    claims: undefined,
    scopes: Object.freeze([]),
    consumer,
  });
}
