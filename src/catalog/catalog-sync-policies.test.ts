import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { PolicyType } from "../policy/policy.js";
import { createStaticRegistry } from "../registry/static-registry.js";
import { CatalogSync } from "./catalog-sync.js";

test("a new policy config replaces the previous revision, whose policies are closed; close() closes the last", async () => {
  const closed: string[] = [];
  const counting: PolicyType = {
    type: "counting",
    phase: "access",
    configSchema: {},
    compile: (_config, _env, name) => ({
      name,
      type: "counting",
      phase: "access",
      priority: 0,
      run() {},
      close: () => void closed.push(name),
    }),
  };
  const sync = new CatalogSync({
    registry: createStaticRegistry([]),
    logger: pino({ level: "silent" }),
    refreshIntervalMs: 0,
    jsonOptionsFor: () => {
      throw new Error("no backends here");
    },
    isServiceAllowed: () => true,
    policyEnvironment: { types: new Map([["counting", counting]]) },
  });
  await sync.start();
  try {
    const doc = (name: string) => ({ name, type: "counting", config: {} });
    sync.setPolicyConfig({ revision: 1, policies: [doc("first")], consumers: [] });
    const generation = sync.current().generation;
    assert.equal(sync.policies()?.revision, 1);
    sync.setPolicyConfig({ revision: 2, policies: [doc("second")], consumers: [] });
    assert.ok(sync.current().generation > generation, "a config change rebuilds the snapshot at once");
    assert.equal(sync.policies()?.revision, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(closed, ["first"]);
  } finally {
    sync.close();
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(closed, ["first", "second"]);
});
