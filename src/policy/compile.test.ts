import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pino from "pino";
import { GatewayError } from "../errors.js";
import { compilePolicies, NO_POLICIES, resolveChain } from "./compile.js";
import type { PolicyConfig, PolicyDocument, PolicyType } from "./policy.js";

const logger = pino({ level: "silent" });

// A type per phase that records nothing: chain order is what these tests look at.
function typeFor(type: string, phase: PolicyType["phase"], setsMetadata?: string[]): PolicyType {
  return {
    type,
    phase,
    configSchema: {},
    compile: (_config, _env, name) => ({
      name,
      type,
      phase,
      priority: 0,
      run() {},
      ...(setsMetadata ? { setsMetadata } : {}),
    }),
  };
}
const types = new Map<string, PolicyType>(
  [
    typeFor("access", "access"),
    typeFor("authn", "authenticate"),
    typeFor("authz", "authorize"),
    typeFor("limit", "limit"),
    typeFor("transform", "transform", ["x-user-id"]),
    {
      ...typeFor("broken", "authenticate"),
      compile: () => {
        throw new Error("cannot work");
      },
    },
  ].map((t) => [t.type, t]),
);

function compile(policies: PolicyDocument[]) {
  const config: PolicyConfig = { revision: 1, policies, consumers: [] };
  return compilePolicies(config, { logger, redis: undefined, types });
}
const method = { backend: "b", selector: "p.S/M", routes: ["/p.S/M"] };

describe("chain resolution", () => {
  test("sorted by phase, then priority, then name, whatever the document order", () => {
    const compiled = compile([
      { name: "t", type: "transform", config: {} },
      { name: "z-authn", type: "authn", config: {} },
      { name: "limit", type: "limit", config: {} },
      { name: "a-authn", type: "authn", config: {} },
      { name: "first-authn", type: "authn", priority: -5, config: {} },
      { name: "authz", type: "authz", config: {} },
      { name: "ip", type: "access", priority: 100, config: {} },
    ]);
    const chain = resolveChain(compiled, method);
    assert.deepEqual(
      chain.map((p) => p.name),
      ["ip", "first-authn", "a-authn", "z-authn", "authz", "limit", "t"],
    );
    assert.equal(chain[1]!.priority, -5, "the document's priority is the policy's");
    assert.ok(Object.isFrozen(chain));
    assert.deepEqual([...chain.setsMetadata], ["x-user-id"]);
  });

  test("only policies whose selectors match; none = the shared empty chain", () => {
    const compiled = compile([
      { name: "mine", type: "access", match: { backends: ["b"] }, config: {} },
      { name: "other", type: "access", match: { backends: ["c"] }, config: {} },
    ]);
    assert.deepEqual(
      resolveChain(compiled, method).map((p) => p.name),
      ["mine"],
    );
    assert.equal(resolveChain(compiled, { ...method, backend: "d" }), NO_POLICIES);
    assert.equal(resolveChain(undefined, method), NO_POLICIES);
    assert.equal(NO_POLICIES.length, 0);
  });

  test("a document its type cannot compile fails closed: 503 for every call it selects", async () => {
    const compiled = compile([{ name: "bad", type: "broken", config: {} }]);
    assert.equal(compiled.problems.length, 1);
    const [policy] = resolveChain(compiled, method);
    assert.throws(
      () => policy!.run({} as never),
      (error: unknown) => error instanceof GatewayError && error.httpStatus === 503,
    );
  });

  test("consumer indexes by name and by key hash", () => {
    const compiled = compilePolicies(
      {
        revision: 2,
        policies: [],
        consumers: [{ name: "partner", apiKeys: [{ sha256: "a".repeat(64) }], labels: { tier: "gold" } }],
      },
      { logger, redis: undefined },
    );
    assert.equal(compiled.consumersByName.get("partner")?.labels.tier, "gold");
    assert.equal(compiled.consumersByKeyHash.get("a".repeat(64))?.name, "partner");
  });
});

describe("a new revision keeps what did not change", () => {
  const logger = pino({ level: "silent" });
  const limit: PolicyDocument = { name: "two", type: "rate-limit", config: { limit: 2, window: "1h" } };
  const keys: PolicyDocument = { name: "keys", type: "api-key", config: {} };
  const revision = (
    n: number,
    consumers: PolicyConfig["consumers"],
    policies = [limit, keys],
  ): PolicyConfig => ({
    revision: n,
    policies,
    consumers,
  });
  const context = () =>
    ({
      method: { backend: "b", selector: "p.S/M" },
      headers: {},
      query: "",
      clientIp: "10.0.0.1",
      identity: undefined,
      setMetadata: new Map(),
      removeMetadata: new Set(),
      removeHeaders: new Set(),
      responseHeaders: {},
      log: logger,
    }) as Parameters<NonNullable<ReturnType<typeof resolveChain>[number]>["run"]>[0];

  test("an unchanged rate-limit keeps its buckets across a config change; a consumer change recompiles api-key only", async () => {
    const first = compilePolicies(revision(1, []), { logger, redis: undefined });
    const bucket = first.entries.find((e) => e.document.name === "two")!.policy;
    bucket.run(context());
    bucket.run(context());
    assert.throws(
      () => bucket.run(context()),
      (error: GatewayError) => error.code === 8,
    );

    const second = compilePolicies(
      revision(2, [{ name: "app", apiKeys: [{ sha256: "a".repeat(64) }] }]),
      { logger, redis: undefined },
      first,
    );
    const carried = second.entries.find((e) => e.document.name === "two")!.policy;
    assert.equal(carried, bucket, "the same compiled policy");
    assert.throws(
      () => carried.run(context()),
      (error: GatewayError) => error.code === 8,
      "still limited",
    );
    assert.notEqual(
      second.entries.find((e) => e.document.name === "keys")!.policy,
      first.entries.find((e) => e.document.name === "keys")!.policy,
      "api-key reads the consumers, which changed",
    );

    const changed = compilePolicies(
      revision(
        3,
        [{ name: "app", apiKeys: [{ sha256: "a".repeat(64) }] }],
        [{ ...limit, config: { limit: 3, window: "1h" } }, keys],
      ),
      { logger, redis: undefined },
      second,
    );
    assert.notEqual(
      changed.entries.find((e) => e.document.name === "two")!.policy,
      bucket,
      "a changed document recompiles",
    );
    assert.equal(
      changed.entries.find((e) => e.document.name === "keys")!.policy,
      second.entries.find((e) => e.document.name === "keys")!.policy,
      "consumers unchanged: api-key kept",
    );
    await first.close(new Set(second.entries.map((e) => e.policy)));
  });
});
