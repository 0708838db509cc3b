import type { Logger } from "pino";
import { Code, GatewayError } from "../errors.js";
import {
  type CompiledPolicy,
  type Consumer,
  PHASES,
  type PolicyConfig,
  type PolicyDocument,
  type PolicyEnvironment,
  type PolicyPhase,
  type PolicyType,
  type RedisConnection,
} from "./policy.js";
import { POLICY_TYPES } from "./policy-types.js";
import { type CompiledMatch, compileMatch, type SelectorMethod } from "./selector.js";

/**
 * One config revision compiled (issue 15): each policy document's config compiled by its type, its
 * `match` compiled to a selector, and the consumer indexes. The catalog resolves each method's chain from
 * it when a snapshot is built (resolveChain); the request path only runs the resolved chains.
 */

/**
 * A method's policies, in the order they run: phase, then priority, then name. A frozen array (the
 * request path checks its length, then iterates), carrying the union of the metadata keys its policies
 * set, computed once: a client's own values for those keys are removed on every call.
 */
export interface PolicyChain extends ReadonlyArray<CompiledPolicy> {
  readonly setsMetadata: ReadonlySet<string>;
}

/** The chain of every method no policy selects. */
export const NO_POLICIES: PolicyChain = freezeChain([]);

/** What compilePolicies needs besides the documents (consumer indexes are made from the config). */
export interface CompileEnvironment {
  readonly logger: Logger;
  readonly redis: RedisConnection | undefined;
  /** The policy types documents may name. Default: POLICY_TYPES. */
  readonly types?: ReadonlyMap<string, PolicyType>;
}

export interface CompiledEntry {
  readonly document: PolicyDocument;
  readonly policy: CompiledPolicy;
  readonly match: CompiledMatch;
}

export interface CompiledPolicies {
  readonly revision: number;
  readonly entries: readonly CompiledEntry[];
  readonly consumersByName: ReadonlyMap<string, Consumer>;
  readonly consumersByKeyHash: ReadonlyMap<string, Consumer>;
  /** Documents whose type failed to compile them: such a policy refuses every call it selects (503). */
  readonly problems: readonly string[];
  /** The consumers this revision was compiled with, as one comparable string. */
  readonly consumersFingerprint: string;
  /**
   * Releases what the policies opened, except those in `keep` (carried into the next revision). Called once
   * the revision is replaced (or the gateway closes).
   */
  close(keep?: ReadonlySet<CompiledPolicy>): Promise<void>;
}

/**
 * Compiles one revision. Never throws: a document that does not compile fails closed (see problems).
 * With `previous`, a document that did not change keeps its compiled policy (and so its state: a local
 * limit's buckets, a jwt's verified tokens), unless its type reads consumers and they changed.
 */
export function compilePolicies(
  config: PolicyConfig,
  environment: CompileEnvironment,
  previous?: CompiledPolicies,
): CompiledPolicies {
  const types = environment.types ?? POLICY_TYPES;
  const consumersByName = new Map<string, Consumer>();
  const consumersByKeyHash = new Map<string, Consumer>();
  for (const document of config.consumers) {
    const consumer: Consumer = Object.freeze({
      name: document.name,
      labels: Object.freeze({ ...(document.labels ?? {}) }),
    });
    consumersByName.set(consumer.name, consumer);
    for (const key of document.apiKeys ?? []) consumersByKeyHash.set(key.sha256.toLowerCase(), consumer);
  }
  const policyEnvironment: PolicyEnvironment = {
    consumersByKeyHash,
    consumersByName,
    logger: environment.logger,
    redis: environment.redis,
  };
  const consumersFingerprint = JSON.stringify(config.consumers);
  const before = new Map<string, CompiledEntry>();
  for (const entry of previous?.entries ?? []) before.set(entry.document.name, entry);
  const problems: string[] = [];
  const entries: CompiledEntry[] = [];
  for (const document of config.policies) {
    const type = types.get(document.type);
    const kept = before.get(document.name);
    if (
      kept !== undefined &&
      type !== undefined &&
      kept.policy.type === document.type &&
      JSON.stringify(kept.document) === JSON.stringify(document) &&
      (!type.readsConsumers || previous?.consumersFingerprint === consumersFingerprint)
    ) {
      entries.push(kept);
      continue;
    }
    let policy: CompiledPolicy;
    try {
      if (type === undefined) throw new Error(`unknown policy type "${document.type}"`);
      const compiled = type.compile(document.config, policyEnvironment, document.name);
      // The document's priority wins over whatever the type put there.
      const priority = document.priority ?? 0;
      policy = compiled.priority === priority ? compiled : withPriority(compiled, priority);
    } catch (error) {
      const reason = (error as Error).message;
      problems.push(`policies/${document.name}: ${reason}; it refuses every call it selects`);
      environment.logger.error(
        { policy: document.name, type: document.type, problem: reason },
        "policy does not compile; the methods it selects refuse calls until it is fixed",
      );
      policy = failedPolicy(document, type?.phase ?? "access");
    }
    entries.push({ document, policy, match: compileMatch(document.match) });
  }
  let closed: Promise<void> | undefined;
  return {
    revision: config.revision,
    entries,
    consumersByName,
    consumersByKeyHash,
    consumersFingerprint,
    problems,
    close(keep) {
      closed ??= Promise.all(
        entries.map(async ({ policy }) => {
          if (keep?.has(policy)) return;
          try {
            await policy.close?.();
          } catch (error) {
            environment.logger.warn({ err: error, policy: policy.name }, "closing a policy failed");
          }
        }),
      ).then(() => undefined);
      return closed;
    },
  };
}

/** The method's chain: the policies whose selectors match it, sorted by phase, priority, then name. */
export function resolveChain(compiled: CompiledPolicies | undefined, method: SelectorMethod): PolicyChain {
  if (compiled === undefined || compiled.entries.length === 0) return NO_POLICIES;
  const selected: CompiledPolicy[] = [];
  for (const entry of compiled.entries) if (entry.match.matches(method)) selected.push(entry.policy);
  if (selected.length === 0) return NO_POLICIES;
  return freezeChain(selected.sort(compareChainOrder));
}

/** Phase order, then priority (lower first), then name. */
export function compareChainOrder(a: CompiledPolicy, b: CompiledPolicy): number {
  return (
    phaseIndex(a.phase) - phaseIndex(b.phase) ||
    a.priority - b.priority ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

function phaseIndex(phase: PolicyPhase): number {
  return PHASES.indexOf(phase);
}

function freezeChain(policies: CompiledPolicy[]): PolicyChain {
  const keys = new Set<string>();
  for (const policy of policies) for (const key of policy.setsMetadata ?? []) keys.add(key.toLowerCase());
  return Object.freeze(Object.assign(policies, { setsMetadata: keys })) as PolicyChain;
}

/** The compiled policy under the document's priority (delegating, so a class instance keeps its `this`). */
function withPriority(compiled: CompiledPolicy, priority: number): CompiledPolicy {
  return {
    name: compiled.name,
    type: compiled.type,
    phase: compiled.phase,
    priority,
    run: (context) => compiled.run(context),
    ...(compiled.setsMetadata ? { setsMetadata: compiled.setsMetadata } : {}),
    ...(compiled.openApiSecurity ? { openApiSecurity: compiled.openApiSecurity } : {}),
    close: () => compiled.close?.(),
  };
}

/** Fails closed: a policy meant to guard methods that cannot run must not let calls through unguarded. */
function failedPolicy(document: PolicyDocument, phase: PolicyPhase): CompiledPolicy {
  return {
    name: document.name,
    type: document.type,
    phase,
    priority: document.priority ?? 0,
    run() {
      throw new GatewayError(Code.UNAVAILABLE, `policy ${document.name} is misconfigured`);
    },
  };
}
