import type { Identity, PolicyType } from "./policy.js";
import { denied, missingCredentials } from "./policy-errors.js";

/**
 * The `authorize` policy type (phase authorize): lets a call through when ANY of its rules matches the
 * identity the authenticate phase established:
 * - `scopes`: the identity holds every listed scope (`scope`/`scp` of a token);
 * - `claims`: every listed claim has the value (a list value: one of them; a claim that is a list matches
 *   when it contains the value);
 * - `consumers`: the identity's consumer is one of these names;
 * - `labels`: the consumer has every listed label with that value.
 * No identity (anonymous): 401, since credentials would be the way in. An identity no rule matches: 403
 * naming the rules that were not met (from the config, never from the credentials).
 */
export interface AuthorizeConfig {
  scopes?: string[];
  claims?: Record<string, string | number | boolean | Array<string | number | boolean>>;
  consumers?: string[];
  labels?: Record<string, string>;
}

const SCALAR = { type: ["string", "number", "boolean"] };

export const authorizePolicyType: PolicyType<AuthorizeConfig> = {
  type: "authorize",
  phase: "authorize",
  configSchema: {
    type: "object",
    description: "Allow a call when any rule matches the caller's identity; otherwise 403.",
    properties: {
      scopes: {
        type: "array",
        items: { type: "string", minLength: 1 },
        minItems: 1,
        description: "Every listed scope is held.",
      },
      claims: {
        type: "object",
        minProperties: 1,
        additionalProperties: { anyOf: [SCALAR, { type: "array", items: SCALAR, minItems: 1 }] },
        description: "Every listed claim has the value (a list: one of them).",
      },
      consumers: {
        type: "array",
        items: { type: "string", minLength: 1 },
        minItems: 1,
        description: "The caller is one of these consumers.",
      },
      labels: {
        type: "object",
        minProperties: 1,
        additionalProperties: { type: "string" },
        description: "The caller's consumer has every listed label with that value.",
      },
    },
    anyOf: [
      { required: ["scopes"] },
      { required: ["claims"] },
      { required: ["consumers"] },
      { required: ["labels"] },
    ],
    additionalProperties: false,
  },
  compile(config, _environment, name) {
    const rules: Array<(identity: Identity) => boolean> = [];
    const unmet: string[] = [];
    if (config.scopes) {
      const scopes = config.scopes;
      rules.push((identity) => scopes.every((s) => identity.scopes.includes(s)));
      unmet.push(`scopes [${scopes.join(" ")}]`);
    }
    if (config.claims) {
      const claims = Object.entries(config.claims).map(
        ([claim, want]) => [claim, Array.isArray(want) ? want : [want]] as const,
      );
      rules.push((identity) =>
        claims.every(([claim, wanted]) => claimMatches(identity.claims?.[claim], wanted)),
      );
      unmet.push(`claims {${claims.map(([c, w]) => `${c}=${w.join("|")}`).join(", ")}}`);
    }
    if (config.consumers) {
      const consumers = new Set(config.consumers);
      rules.push((identity) => identity.consumer !== undefined && consumers.has(identity.consumer.name));
      unmet.push(`consumers [${config.consumers.join(" ")}]`);
    }
    if (config.labels) {
      const labels = Object.entries(config.labels);
      rules.push(
        (identity) =>
          identity.consumer !== undefined &&
          labels.every(([label, value]) => identity.consumer!.labels[label] === value),
      );
      unmet.push(`labels {${labels.map(([l, v]) => `${l}=${v}`).join(", ")}}`);
    }
    const message = `denied by policy ${name}: requires ${unmet.join(" or ")}`;
    return {
      name,
      type: "authorize",
      phase: "authorize",
      priority: 0,
      run(context) {
        const identity = context.identity;
        if (identity === undefined) throw missingCredentials("authentication");
        for (const rule of rules) if (rule(identity)) return;
        throw denied(message);
      },
    };
  },
};

function claimMatches(claim: unknown, wanted: ReadonlyArray<string | number | boolean>): boolean {
  if (Array.isArray(claim)) return claim.some((value) => wanted.includes(value as string));
  return wanted.includes(claim as string);
}
