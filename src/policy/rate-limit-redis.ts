/**
 * The shared rate-limit store: GCRA (rate-limit-gcra.ts) as one Lua script, so that every gateway process
 * using one Redis counts against the same bucket atomically — N allowed in total, not N per process. The
 * clock is Redis's own (`TIME`), so gateways with skewed clocks still agree. Keys are
 * `refract:rl:<policy>:<SHA-256 of the key>`: key values (possibly secrets from a header) never sit in
 * Redis in clear. Each call is bounded by the caller's timeout; a failure rejects (the policy decides
 * whether that fails open or closed).
 */
import type { Redis } from "ioredis";
import type { GcraLimit, RateLimitDecision } from "./rate-limit-gcra.js";
import { hashKey } from "./rate-limit-key.js";

/**
 * gcraStep() in Lua. KEYS[1] = the bucket; ARGV = intervalUs, burstUs. Returns
 * {allowed (0|1), remaining, retryAfterUs, resetUs}. Integers in µs: Redis TIME is µs, a double holds
 * them exactly (< 2^53), and the TAT is stored with %.0f because tostring() would print 1.7e+15.
 */
export const GCRA_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local newTat = tat + interval
local allowAt = newTat - burst
if now < allowAt then
  return {0, 0, allowAt - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, math.floor((now - allowAt) / interval), 0, newTat - now}
`;

const COMMAND = "refractRateLimitGcra";

type GcraCommand = (key: string, intervalUs: number, burstUs: number) => Promise<unknown>;

export interface RedisGcraStore {
  /** Rejects when Redis fails or does not answer within `timeoutMs`. */
  take(key: string): Promise<RateLimitDecision>;
}

/** A store for one policy on the shared client. ioredis sends the script by EVALSHA and falls back to
 * EVAL when Redis does not know it (after a restart). */
export function createRedisGcraStore(options: {
  client: Redis;
  policyName: string;
  limit: GcraLimit;
  timeoutMs: number;
}): RedisGcraStore {
  const { client, limit, timeoutMs } = options;
  const commands = client as unknown as Record<string, GcraCommand | undefined>;
  if (typeof commands[COMMAND] !== "function") {
    client.defineCommand(COMMAND, { numberOfKeys: 1, lua: GCRA_LUA });
  }
  const run = (commands[COMMAND] as GcraCommand).bind(client);
  const prefix = `refract:rl:${options.policyName}:`;
  const { intervalUs, burstUs } = limit;

  return {
    take(key) {
      return new Promise<RateLimitDecision>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`redis did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        run(prefix + hashKey(key), intervalUs, burstUs).then(
          (reply) => {
            clearTimeout(timer);
            const [allowed, remaining, retryAfterUs, resetUs] = reply as [number, number, number, number];
            resolve({ allowed: allowed === 1, remaining, retryAfterUs, resetUs });
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
    },
  };
}
