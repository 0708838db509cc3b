import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayConfigError } from "../errors.js";
import { DEFAULT_CONFIG } from "./config.js";
import { validateGatewayOptions } from "./validate-options.js";

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof GatewayConfigError, String(error));
    return error.optionProblems.map((p) => `${p.option}: ${p.problem}`);
  }
  assert.fail("expected a GatewayConfigError");
}

test("defaults fill whatever is not given; undefined counts as not given", () => {
  const config = validateGatewayOptions({ port: 0, maxRequestBytes: undefined, json: { enumsAsInts: true } });
  assert.equal(config.port, 0);
  assert.equal(config.maxRequestBytes, DEFAULT_CONFIG.maxRequestBytes);
  assert.deepEqual(config.json, { ...DEFAULT_CONFIG.json, enumsAsInts: true });
  assert.equal(config.reflectionTimeoutMs, 10_000);
  assert.equal(config.pendingSchemaWaitMs, 2_000);
  assert.equal(config.maxHeaderCount, 1000);
  assert.equal(config.maxBackendHeaderBytes, 256 * 1024);
  assert.equal(config.etcdDialTimeoutMs, 5_000);
});

test("the default lists are copies, never shared with a configuration", () => {
  const config = validateGatewayOptions({});
  config.forwardHeaders.push("x-mine");
  assert.deepEqual(DEFAULT_CONFIG.forwardHeaders, []);
});

test("every bad value is reported, each naming its option key", () => {
  assert.deepEqual(
    problemsOf(() =>
      validateGatewayOptions({
        maxRequestBytes: -1,
        port: 70_000,
        json: { maxDepth: 0 },
        reflectionTimeoutMs: 0,
      }),
    ).sort(),
    [
      "json.maxDepth: must be >= 1",
      "maxRequestBytes: must be >= 1",
      "port: must be <= 65535",
      "reflectionTimeoutMs: must be > 0",
    ],
  );
});

test("unknown keys and wrong types are named", () => {
  const options = { bogus: 1, json: { emitUnpopulated: "yes", extra: true } } as unknown as Parameters<
    typeof validateGatewayOptions
  >[0];
  assert.deepEqual(problemsOf(() => validateGatewayOptions(options)).sort(), [
    "bogus: unknown option",
    "json.emitUnpopulated: must be boolean",
    "json.extra: unknown option",
  ]);
  const notAnObject = { json: "compact" } as unknown as Parameters<typeof validateGatewayOptions>[0];
  assert.deepEqual(
    problemsOf(() => validateGatewayOptions(notAnObject)),
    ["json: must be object"],
  );
  const backendJson = { backendJson: { users: { maxDepth: 2000 } } };
  assert.deepEqual(
    problemsOf(() => validateGatewayOptions(backendJson)),
    ["backendJson.users.maxDepth: must be <= 1000"],
  );
});
