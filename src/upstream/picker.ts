import type { CatalogMethod } from "../catalog/catalog.js";
import { errors } from "../errors.js";
import type { BackendInstance } from "../registry/registry.js";

/**
 * The one instance picker of unary calls and streams: round robin per method over the instances that
 * serve it, those whose connection is failing tried last. `isFailing` is asked about the connection
 * that would carry the call (the own HTTP/2 connection of a plaintext unary call, else the instance's
 * grpc-js channel), so health is that of the connection the call will use.
 */
export class InstancePicker {
  readonly #cursor = new Map<string, number>();

  /** Instances to try for one call, in order: the round-robin choice first, failing ones last. */
  candidates(method: CatalogMethod, isFailing: (instance: BackendInstance) => boolean): BackendInstance[] {
    const all = method.instances;
    if (all.length === 0) throw errors.noInstance(method.service, "no instance serves this method");
    if (all.length === 1) return all as BackendInstance[];
    const start = (this.#cursor.get(method.path) ?? 0) % all.length;
    this.#cursor.set(method.path, start + 1);
    // One pass, round-robin order from `start`, failing instances moved to the end.
    const healthy: BackendInstance[] = [];
    const failing: BackendInstance[] = [];
    for (let i = 0; i < all.length; i++) {
      const instance = all[(start + i) % all.length]!;
      (isFailing(instance) ? failing : healthy).push(instance);
    }
    return failing.length === 0 ? healthy : healthy.concat(failing);
  }
}
