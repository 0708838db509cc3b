import { apiKeyPolicyType } from "./api-key.js";
import { authorizePolicyType } from "./authorize.js";
import { ipRestrictionPolicyType } from "./ip-restriction.js";
import { jwtPolicyType } from "./jwt.js";
import type { PolicyType } from "./policy.js";
import { rateLimitPolicyType } from "./rate-limit.js";
import { requestTransformPolicyType } from "./request-transform.js";

/**
 * Every policy type a document may name (issue 15). Adding a type is one import and one line here: the
 * config store validates documents against `configSchema` (and serves them at /admin/config/schema),
 * compile.ts compiles them.
 */
export const POLICY_TYPES: ReadonlyMap<string, PolicyType> = new Map(
  (
    [
      ipRestrictionPolicyType,
      jwtPolicyType,
      apiKeyPolicyType,
      authorizePolicyType,
      rateLimitPolicyType,
      requestTransformPolicyType,
    ] as PolicyType[]
  ).map((type) => [type.type, type]),
);

/** Every type's name and config JSON Schema, in table order (what document validation needs). */
export function policyTypeSchemas(): ReadonlyArray<Pick<PolicyType, "type" | "configSchema">> {
  return [...POLICY_TYPES.values()].map(({ type, configSchema }) => ({ type, configSchema }));
}

/** Type name → the JSON Schema of its `config` (for `refract config schema` and /admin/config/schema). */
export function policyConfigSchemas(): Record<string, Readonly<Record<string, unknown>>> {
  return Object.fromEntries([...POLICY_TYPES.values()].map((t) => [t.type, t.configSchema]));
}
