import assert from "node:assert/strict";
import { test } from "node:test";
import { Cancellation } from "./cancellation.js";

test("a cancellation runs its listeners once, in order, and not those removed", () => {
  const cancellation = new Cancellation();
  const ran: string[] = [];
  cancellation.onCancel(() => ran.push("a"));
  const removeB = cancellation.onCancel(() => ran.push("b"));
  cancellation.onCancel(() => ran.push("c"));
  removeB();
  removeB();
  assert.equal(cancellation.cancelled, false);
  cancellation.cancel();
  cancellation.cancel();
  assert.equal(cancellation.cancelled, true);
  assert.deepEqual(ran, ["a", "c"]);
  // Too late to listen: nothing runs, and the removal is harmless.
  const late = cancellation.onCancel(() => ran.push("late"));
  late();
  assert.deepEqual(ran, ["a", "c"]);
});
