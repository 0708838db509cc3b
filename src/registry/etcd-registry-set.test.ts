import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildBackendSet, countInstances, EMPTY_BACKEND_SET, sameBackendSet } from "./etcd-registry-set.js";
import type { BackendInstance } from "./registry.js";

const inst = (backend: string, id: string, address = `${id}:1`, metadata = {}): BackendInstance => ({
  backend,
  id,
  address,
  metadata,
});

describe("buildBackendSet", () => {
  test("groups by backend, sorted by name then id", () => {
    const set = buildBackendSet([
      inst("user", "b"),
      inst("library", "z"),
      inst("user", "a"),
      inst("library", "c"),
    ]);
    assert.deepEqual([...set.keys()], ["library", "user"]);
    assert.deepEqual(
      set.get("user")?.map((i) => i.id),
      ["a", "b"],
    );
    assert.equal(countInstances(set), 4);
  });

  test("rejects mutation and freezes lists", () => {
    const set = buildBackendSet([inst("library", "a")]) as Map<string, readonly BackendInstance[]>;
    assert.throws(() => set.set("x", []), /immutable/);
    assert.throws(() => set.delete("library"), /immutable/);
    assert.throws(() => set.clear(), /immutable/);
    assert.ok(Object.isFrozen(set.get("library")));
    assert.throws(() => (EMPTY_BACKEND_SET as Map<string, never>).set("x", [] as never), /immutable/);
  });
});

describe("sameBackendSet", () => {
  const base = () => buildBackendSet([inst("library", "a"), inst("library", "b"), inst("user", "u")]);
  test("equal content is the same set regardless of insertion order", () => {
    const reordered = buildBackendSet([inst("user", "u"), inst("library", "b"), inst("library", "a")]);
    assert.ok(sameBackendSet(base(), reordered));
  });
  const different: Array<[string, BackendInstance[]]> = [
    ["an instance fewer", [inst("library", "a"), inst("user", "u")]],
    ["another address", [inst("library", "a"), inst("library", "b", "other:1"), inst("user", "u")]],
    ["other metadata", [inst("library", "a", "a:1", { tls: true }), inst("library", "b"), inst("user", "u")]],
    ["a backend fewer", [inst("library", "a"), inst("library", "b")]],
    ["a backend renamed", [inst("library", "a"), inst("library", "b"), inst("users", "u")]],
  ];
  for (const [name, instances] of different) {
    test(name, () => assert.equal(sameBackendSet(base(), buildBackendSet(instances)), false));
  }
  test("empty sets", () => assert.ok(sameBackendSet(EMPTY_BACKEND_SET, buildBackendSet([]))));
});
