/**
 * The one retry backoff of the gateway: etcd resyncs and registrations (src/registry/) and reflection
 * fetches (src/reflection/) space their retries with it. A leaf module beside errors.ts so that both
 * layers can use it without importing each other.
 */

/** Exponential backoff with full jitter, capped: delay n is random in [initial/2, min(max, initial·2ⁿ)]. */
export interface Backoff {
  /** The delay before the next attempt, ms; each call counts one more failure. */
  next(): number;
  /** After a success: the next delay starts from `initialMs` again. */
  reset(): void;
}

export function createBackoff(initialMs: number, maxMs: number, random: () => number = Math.random): Backoff {
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
      attempt++;
      // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"), floored at initialMs/2 so a
      // flapping peer is never hammered in a tight loop.
      return Math.round(initialMs / 2 + random() * (ceiling - initialMs / 2));
    },
    reset() {
      attempt = 0;
    },
  };
}
