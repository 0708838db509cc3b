/**
 * The rate-limit algorithm: GCRA (the generic cell rate algorithm of ATM networks, ITU-T I.371), which is a
 * token bucket kept as ONE number per key. `limit` per `window` means a bucket of `limit` tokens refilled
 * at `limit / window`: a fresh caller may burst `limit` requests at once, then gets one every
 * `window / limit`. Chosen over a fixed window (what rate-limiter-flexible offers) because a fixed window
 * lets 2 × limit through across a window boundary in an instant and then refuses everything until the
 * boundary; GCRA has no boundary, spreads refills evenly, and, unlike a sliding log, stores one timestamp
 * per key (in Redis: one string with a TTL, updated by one Lua script — as go-redis/redis_rate and
 * redis-cell do).
 *
 * State per key: the theoretical arrival time (TAT) of the next request if the caller sent at exactly the
 * sustained rate. All arithmetic is in integer microseconds, so that `limit` requests at one instant are
 * exactly `limit` (floating-point drift could otherwise refuse the last of them). The Redis script in
 * rate-limit-redis.ts is this function in Lua.
 */

/** A limit in the algorithm's units. */
export interface GcraLimit {
  /** Microseconds between two requests at the sustained rate: round(window / limit), at least 1. */
  readonly intervalUs: number;
  /** The bucket's size in time: limit × intervalUs (the window, after rounding). */
  readonly burstUs: number;
}

/** One decision. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Requests still allowed right now after this one (0 when refused). */
  readonly remaining: number;
  /** When refused: how long until one request is allowed again, µs (0 when allowed). */
  readonly retryAfterUs: number;
  /** How long until the bucket is full again (RateLimit-Reset), µs. */
  readonly resetUs: number;
}

export function gcraLimit(limit: number, windowMs: number): GcraLimit {
  const intervalUs = Math.max(1, Math.round((windowMs * 1_000) / limit));
  return { intervalUs, burstUs: intervalUs * limit };
}

/**
 * One GCRA step at `nowUs` for a key whose stored TAT is `tatUs` (undefined: never seen or expired).
 * Returns the decision and, when allowed, the TAT to store (kept until it passes: then the bucket is full
 * and the key may be forgotten).
 */
export function gcraStep(
  limit: GcraLimit,
  tatUs: number | undefined,
  nowUs: number,
): RateLimitDecision & { readonly newTatUs: number } {
  const tat = tatUs === undefined || tatUs < nowUs ? nowUs : tatUs;
  const newTat = tat + limit.intervalUs;
  const allowAt = newTat - limit.burstUs;
  if (nowUs < allowAt) {
    return {
      allowed: false,
      remaining: 0,
      retryAfterUs: allowAt - nowUs,
      resetUs: tat - nowUs,
      newTatUs: tat,
    };
  }
  return {
    allowed: true,
    remaining: Math.floor((nowUs - allowAt) / limit.intervalUs),
    retryAfterUs: 0,
    resetUs: newTat - nowUs,
    newTatUs: newTat,
  };
}

/** The most keys a local store keeps; beyond it the least recently used is forgotten (that caller's bucket
 * restarts full: a lenient failure, never a wrong refusal). */
export const DEFAULT_LOCAL_MAX_KEYS = 100_000;

/** A per-process store: TAT per key in a bounded map ordered by last use. */
export interface LocalGcraStore {
  take(key: string): RateLimitDecision;
  readonly size: number;
}

/** `now` returns monotonic microseconds (integers); injectable for tests. */
export function createLocalGcraStore(
  limit: GcraLimit,
  options: { maxKeys?: number; now?: () => number } = {},
): LocalGcraStore {
  const maxKeys = options.maxKeys ?? DEFAULT_LOCAL_MAX_KEYS;
  const now = options.now ?? (() => Math.round(performance.now() * 1_000));
  const tats = new Map<string, number>();
  return {
    take(key) {
      const nowUs = now();
      const previous = tats.get(key);
      const decision = gcraStep(limit, previous, nowUs);
      if (!decision.allowed) return decision;
      // Re-inserted so that the map's order is least recently used first.
      if (previous !== undefined) tats.delete(key);
      else if (tats.size >= maxKeys) {
        const oldest = tats.keys().next();
        if (!oldest.done) tats.delete(oldest.value);
      }
      tats.set(key, decision.newTatUs);
      return decision;
    },
    get size() {
      return tats.size;
    },
  };
}
