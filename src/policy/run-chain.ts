import { GatewayError, toGatewayError } from "../errors.js";
import type { CompiledPolicy, PolicyContext } from "./policy.js";

/**
 * Runs a method's resolved chain for one request, in order, stopping at the first refusal. Policies that
 * answer synchronously cost no promise: the chain turns asynchronous only at the first policy that
 * returns one (a JWKS fetch, a Redis call). Each decision is counted per policy and outcome.
 */

/** `allowed`: the policy let the call on; `refused`: a 4xx refusal (401, 403, 429); `failed`: anything else. */
export type PolicyOutcome = "allowed" | "refused" | "failed";

/** Where decisions are counted (implemented by telemetry/: `refract_policy_decisions_total`). */
export interface PolicyDecisionObserver {
  policyDecision(policy: CompiledPolicy, outcome: PolicyOutcome): void;
}

export const NOOP_POLICY_OBSERVER: PolicyDecisionObserver = Object.freeze({ policyDecision() {} });

/**
 * Resolves (or returns) when every policy let the call through; throws or rejects with the refusal as a
 * GatewayError (anything else a policy throws becomes a 500, its cause logged, never sent).
 */
export function runChain(
  chain: readonly CompiledPolicy[],
  context: PolicyContext,
  observer: PolicyDecisionObserver,
): void | Promise<void> {
  for (let i = 0; i < chain.length; i++) {
    const policy = chain[i]!;
    let result: void | Promise<void>;
    try {
      result = policy.run(context);
    } catch (error) {
      throw refusal(policy, error, context, observer);
    }
    if (result !== undefined) return continueAsync(chain, i, result, context, observer);
    observer.policyDecision(policy, "allowed");
  }
}

async function continueAsync(
  chain: readonly CompiledPolicy[],
  index: number,
  pending: Promise<void>,
  context: PolicyContext,
  observer: PolicyDecisionObserver,
): Promise<void> {
  for (let i = index; i < chain.length; i++) {
    const policy = chain[i]!;
    try {
      if (i === index) await pending;
      else await policy.run(context);
    } catch (error) {
      throw refusal(policy, error, context, observer);
    }
    observer.policyDecision(policy, "allowed");
  }
}

function refusal(
  policy: CompiledPolicy,
  error: unknown,
  context: PolicyContext,
  observer: PolicyDecisionObserver,
): GatewayError {
  const refused = error instanceof GatewayError && error.httpStatus < 500;
  observer.policyDecision(policy, refused ? "refused" : "failed");
  if (!(error instanceof GatewayError)) {
    context.log.error({ err: error, policy: policy.name }, "policy failed");
  }
  return toGatewayError(error);
}
