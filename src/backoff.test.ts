import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createBackoff } from "./backoff.js";

describe("createBackoff", () => {
  test("grows exponentially up to the cap, never below half the initial delay", () => {
    const top = createBackoff(100, 1_000, () => 1);
    assert.deepEqual(
      Array.from({ length: 6 }, () => top.next()),
      [100, 200, 400, 800, 1000, 1000],
    );
    top.reset();
    assert.equal(top.next(), 100);
    const bottom = createBackoff(100, 1_000, () => 0);
    assert.deepEqual(
      Array.from({ length: 3 }, () => bottom.next()),
      [50, 50, 50],
    );
  });
});
