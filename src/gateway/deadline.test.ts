import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayError } from "../errors.js";
import { type DeadlinePolicy, effectiveTimeoutMs, parseGrpcTimeout } from "./deadline.js";

test("Grpc-Timeout values per the gRPC spec", () => {
  const cases: Array<[string, number]> = [
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3000],
    ["250m", 250],
    ["1500u", 1.5],
    ["2000000n", 2],
    ["99999999m", 99_999_999],
  ];
  for (const [value, ms] of cases) assert.equal(parseGrpcTimeout(value), ms, value);
});

test("malformed Grpc-Timeout values are 400", () => {
  for (const value of ["", "5", "S", "1.5S", "-1S", "123456789S", "10 S", "10s", "10x"]) {
    assert.throws(
      () => parseGrpcTimeout(value),
      (e: unknown) => e instanceof GatewayError && e.httpStatus === 400,
      value,
    );
  }
});

test("effective timeout: client value capped, defaults for unary and streams", () => {
  const policy: DeadlinePolicy = {
    defaultTimeoutMs: 30_000,
    streamDefaultTimeoutMs: 0,
    maxTimeoutMs: 300_000,
  };
  const none: DeadlinePolicy = { defaultTimeoutMs: 0, streamDefaultTimeoutMs: 0, maxTimeoutMs: 0 };
  const rows: Array<[string | undefined, DeadlinePolicy, boolean, number | undefined]> = [
    ["2S", policy, false, 2000],
    ["10M", policy, false, 300_000], // capped
    ["0S", policy, false, 0], // already expired: honoured, not replaced by a default
    [undefined, policy, false, 30_000], // unary default
    [undefined, policy, true, undefined], // streams: none by default
    ["2S", policy, true, 2000], // a stream's own deadline applies
    [undefined, { ...policy, streamDefaultTimeoutMs: 60_000 }, true, 60_000],
    [undefined, { ...policy, defaultTimeoutMs: 0 }, false, 300_000], // unary without default: the cap
    [undefined, none, false, undefined],
    ["10M", none, false, 600_000],
  ];
  for (const [header, p, streaming, expected] of rows) {
    assert.equal(
      effectiveTimeoutMs(header, p, streaming),
      expected,
      `${header} ${JSON.stringify(p)} ${streaming}`,
    );
  }
});
