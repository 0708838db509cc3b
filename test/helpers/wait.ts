import { setTimeout as delay } from "node:timers/promises";

/**
 * Polls `predicate` until it returns a truthy value (returned) or `timeoutMs` passes (throws, naming
 * `what` and the last error the predicate threw, if any). The predicate may be async; errors it throws
 * count as "not yet" so it can call etcd while etcd is restarting.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = "condition",
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause =
        lastError === undefined ? "" : ` (last error: ${(lastError as Error)?.message ?? lastError})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await delay(intervalMs);
  }
}
