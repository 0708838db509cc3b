/**
 * Building and comparing BackendSets. A set handed out by the registry is shared by every reader until the
 * next change, so it must not be mutable by any of them: the map rejects writes at run time and every
 * array, instance and metadata object is frozen.
 */
import { type BackendInstance, type BackendSet, sameInstance } from "./registry.js";

class ImmutableMap<K, V> extends Map<K, V> {
  // Class fields are initialized after super() returns, so the constructor's own set() calls (made by
  // Map's constructor while `sealed` is still undefined) go through, and every later one throws.
  private sealed = false;

  constructor(entries: Iterable<readonly [K, V]>) {
    super(entries);
    this.sealed = true;
  }

  override set(key: K, value: V): this {
    if (this.sealed) throw new TypeError("a BackendSet is immutable");
    return super.set(key, value);
  }

  override delete(_key: K): boolean {
    throw new TypeError("a BackendSet is immutable");
  }

  override clear(): void {
    throw new TypeError("a BackendSet is immutable");
  }
}

/** The empty set (shared; immutable). */
export const EMPTY_BACKEND_SET: BackendSet = new ImmutableMap<string, readonly BackendInstance[]>([]);

/** A frozen copy of an instance. */
export function freezeInstance(instance: BackendInstance): BackendInstance {
  return Object.freeze({
    backend: instance.backend,
    id: instance.id,
    address: instance.address,
    metadata: Object.freeze({ ...instance.metadata }),
  });
}

/**
 * Groups instances by backend; backends and their instances in a stable order (by name, then id), so two
 * sets with the same content compare equal and logs and /admin/backends read the same each time.
 */
export function buildBackendSet(instances: Iterable<BackendInstance>): BackendSet {
  const grouped = new Map<string, BackendInstance[]>();
  for (const instance of instances) {
    const list = grouped.get(instance.backend);
    if (list) list.push(instance);
    else grouped.set(instance.backend, [instance]);
  }
  const names = [...grouped.keys()].sort();
  return new ImmutableMap(
    names.map((name) => {
      const list = (grouped.get(name) ?? []).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return [name, Object.freeze(list)] as const;
    }),
  );
}

/** Same backends with the same instances (backend, id, address and metadata), in the same order. */
export function sameBackendSet(a: BackendSet, b: BackendSet): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [name, listA] of a) {
    const listB = b.get(name);
    if (!listB || listA.length !== listB.length) return false;
    for (let i = 0; i < listA.length; i++) {
      if (!sameInstance(listA[i] as BackendInstance, listB[i] as BackendInstance)) return false;
    }
  }
  return true;
}

/** Total number of instances in a set. */
export function countInstances(set: BackendSet): number {
  let count = 0;
  for (const list of set.values()) count += list.length;
  return count;
}
