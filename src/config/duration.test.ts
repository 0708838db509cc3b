import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GatewayConfigError } from "../errors.js";
import { parseDurationMs } from "./duration.js";

describe("parseDurationMs", () => {
  const valid: Array<[string, number]> = [
    ["0", 0],
    ["1.5s", 1500],
    ["10s", 10_000],
    ["500ms", 500],
    ["0.5ms", 0.5],
    [".5s", 500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1m30s250ms", 90_250],
    [" 3s ", 3000],
  ];
  for (const [text, ms] of valid) {
    test(`${JSON.stringify(text)} → ${ms}`, () => assert.equal(parseDurationMs(text), ms));
  }

  const invalid: Array<[string, RegExp]> = [
    ["", /empty duration/],
    ["10", /has no unit/],
    ["-1s", /is not a duration/],
    ["1d", /is not a duration/],
    ["s", /is not a duration/],
    ["1.2.3s", /is not a duration/],
    ["10 s", /is not a duration/],
    ["1sms", /is not a duration/],
  ];
  for (const [text, message] of invalid) {
    test(`${JSON.stringify(text)} is rejected`, () => {
      assert.throws(
        () => parseDurationMs(text, "ttl"),
        (error: unknown) => {
          assert.ok(error instanceof GatewayConfigError);
          assert.equal(error.option, "ttl");
          assert.match(error.message, /^ttl: /);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
