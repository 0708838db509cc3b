import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, GatewayError } from "../errors.js";
import type { CompiledPolicy, PolicyContext } from "./policy.js";
import { type PolicyOutcome, runChain } from "./run-chain.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const context = () => ({ log: silent }) as unknown as PolicyContext;

function policy(name: string, run: CompiledPolicy["run"]): CompiledPolicy {
  return { name, type: "t", phase: "access", priority: 0, run };
}

function recorder() {
  const seen: Array<[string, PolicyOutcome]> = [];
  return {
    seen,
    observer: { policyDecision: (p: CompiledPolicy, o: PolicyOutcome) => seen.push([p.name, o]) },
  };
}

describe("running a chain", () => {
  test("synchronous policies cost no promise; each decision is observed in order", () => {
    const ran: string[] = [];
    const { seen, observer } = recorder();
    const result = runChain(
      [policy("a", () => void ran.push("a")), policy("b", () => void ran.push("b"))],
      context(),
      observer,
    );
    assert.equal(result, undefined);
    assert.deepEqual(ran, ["a", "b"]);
    assert.deepEqual(seen, [
      ["a", "allowed"],
      ["b", "allowed"],
    ]);
  });

  test("turns asynchronous at the first promise and keeps the order", async () => {
    const ran: string[] = [];
    const { seen, observer } = recorder();
    const result = runChain(
      [
        policy("a", () => void ran.push("a")),
        policy("b", async () => {
          await new Promise((resolve) => setImmediate(resolve));
          ran.push("b");
        }),
        policy("c", () => void ran.push("c")),
      ],
      context(),
      observer,
    );
    assert.ok(result instanceof Promise);
    await result;
    assert.deepEqual(ran, ["a", "b", "c"]);
    assert.deepEqual(
      seen.map(([name]) => name),
      ["a", "b", "c"],
    );
  });

  test("stops at the first refusal; a 4xx is refused, anything else failed and hidden as a 500", async () => {
    const { seen, observer } = recorder();
    const never = policy("never", () => assert.fail("ran after a refusal"));
    assert.throws(
      () =>
        runChain(
          [
            policy("deny", () => {
              throw new GatewayError(Code.PERMISSION_DENIED, "no");
            }),
            never,
          ],
          context(),
          observer,
        ),
      (error: unknown) => error instanceof GatewayError && error.httpStatus === 403,
    );
    await assert.rejects(
      async () =>
        runChain(
          [
            policy("boom", async () => {
              throw new Error("secret detail");
            }),
            never,
          ],
          context(),
          observer,
        ),
      (error: unknown) =>
        error instanceof GatewayError && error.httpStatus === 500 && !error.message.includes("secret"),
    );
    assert.deepEqual(seen, [
      ["deny", "refused"],
      ["boom", "failed"],
    ]);
  });
});
