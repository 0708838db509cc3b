import pino from "pino";
import { apiKeyPolicyType } from "./api-key.js";
import { authorizePolicyType } from "./authorize.js";
import { ipRestrictionPolicyType } from "./ip-restriction.js";
import { jwtPolicyType } from "./jwt.js";
import type { PolicyEnvironment, PolicyType } from "./policy.js";
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

/** Every type, in table order: document validation needs the name, the config JSON Schema and compile. */
export function policyTypeSchemas(): readonly PolicyType[] {
  return [...POLICY_TYPES.values()];
}

/** Type name → the JSON Schema of its `config` (for `refract config schema` and /admin/config/schema). */
export function policyConfigSchemas(): Record<string, Readonly<Record<string, unknown>>> {
  return Object.fromEntries([...POLICY_TYPES.values()].map((t) => [t.type, t.configSchema]));
}

/**
 * Compiles one document's config the way the gateway will, and throws it away: what a JSON Schema cannot
 * say (a CIDR that is not an address, a zero window, an unusable key) is found when the document is
 * validated, so an invalid version is rejected and the last valid one stays in force instead of its methods
 * failing closed. Nothing is opened: no consumers, a silent logger, and a Redis that is never reached.
 * Returns the problem, or undefined when it compiles.
 */
export function compileProblem(
  policyType: Pick<PolicyType, "compile">,
  config: unknown,
  name: string,
): string | undefined {
  try {
    const compiled = policyType.compile(structuredClone(config), DRY_RUN_ENVIRONMENT, name);
    void Promise.resolve(compiled.close?.()).catch(() => {});
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Any property of the dry-run Redis client is a function that does nothing (compile only prepares calls). */
const NOTHING_CLIENT: unknown = new Proxy({}, { get: () => () => undefined });

const DRY_RUN_ENVIRONMENT: PolicyEnvironment = {
  consumersByKeyHash: new Map(),
  consumersByName: new Map(),
  logger: pino({ level: "silent" }),
  redis: { client: NOTHING_CLIENT },
};
