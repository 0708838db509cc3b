import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Identity } from "./policy.js";
import { compileTemplate, TEMPLATE_PATTERN } from "./template.js";

const identity: Identity = {
  source: "jwt",
  subject: "u-1",
  claims: { sub: "u-1", n: 7, roles: ["a", "b"], obj: { x: 1 } },
  scopes: [],
  consumer: { name: "partner", labels: { tier: "gold" } },
};

describe("request-transform templates", () => {
  const cases: Array<[string, Identity | undefined, string | undefined]> = [
    ["{claims.sub}", identity, "u-1"],
    ["user:{subject}", identity, "user:u-1"],
    ["{consumer.name}/{consumer.labels.tier}", identity, "partner/gold"],
    ["{claims.n}", identity, "7"],
    ["{claims.roles}", identity, "a,b"],
    ["{claims.obj}", identity, undefined],
    ["{claims.missing}", identity, undefined],
    ["{consumer.labels.none}", identity, undefined],
    ["{claims.sub}", undefined, undefined],
    ["constant", undefined, "constant"],
  ];
  for (const [text, who, expected] of cases) {
    test(`${text} → ${expected}`, () => assert.equal(compileTemplate(text)(who), expected));
  }
  test("unknown expressions are refused, by the schema pattern and by the compiler", () => {
    const pattern = new RegExp(TEMPLATE_PATTERN);
    for (const bad of ["{claim.sub}", "{consumer}", "{", "a}b"]) {
      assert.equal(pattern.test(bad), false, bad);
      assert.throws(() => compileTemplate(bad), bad);
    }
    assert.equal(pattern.test("x-{claims.sub}-{consumer.labels.t}"), true);
  });
});
