/**
 * The one Redis connection of a gateway process (`--redis redis://host:port`), shared by every policy that
 * keeps state there (rate-limit `store: redis`). ioredis, configured so that nothing on the request path can
 * wait for Redis: no offline queue (a command while disconnected fails at once), a command timeout as a
 * backstop behind each caller's own shorter one, a short connect timeout, and reconnects at most a second
 * apart so that limiting resumes within about a second of Redis coming back. Nothing is opened until a
 * policy that needs Redis is compiled (connect()): `--redis` without such a policy costs no socket.
 */
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { RedisConnection } from "./policy.js";

/** What createRedisConnection() hands to its owner: the shared connection plus its lifecycle and counts. */
export interface OwnedRedisConnection extends RedisConnection {
  readonly client: Redis;
  countFailure(outcome: "open" | "closed"): void;
  /** Store calls that failed since start: let through (`open`) or refused (`closed`). */
  failures(): { readonly open: number; readonly closed: number };
  /** Starts connecting (then reconnecting whenever it drops) unless it already does; idempotent. */
  connect(): void;
  /** True while the connection is ready for commands. */
  isReady(): boolean;
  /** Disconnects at once (pending commands fail); idempotent. */
  close(): Promise<void>;
}

export interface RedisConnectionOptions {
  /** Backstop deadline of any command, ms (callers race their own shorter one). Default 1000. */
  commandTimeoutMs?: number;
  /** Deadline of one connection attempt, ms. Default 1000. */
  connectTimeoutMs?: number;
  /** Cap of the delay between reconnect attempts, ms. Default 1000. */
  reconnectMaxMs?: number;
}

/** `redis://user:secret@host:6379/0` → `host:6379`: what logs may show of the URL (never a password). */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "6379"}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * Opens the connection (it connects in the background and keeps reconnecting); commands fail fast until
 * it is ready. Transitions are logged once each (unreachable → warn, ready again → info), not per command.
 */
export function createRedisConnection(
  url: string,
  logger: Pick<Logger, "info" | "warn">,
  options: RedisConnectionOptions = {},
): OwnedRedisConnection {
  const reconnectMaxMs = options.reconnectMaxMs ?? 1_000;
  const address = redisAddress(url);
  const client = new Redis(url, {
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail instead of being resent after a reconnect.
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, reconnectMaxMs),
    // The ready check (INFO) only delays readiness on a local Redis; the first command proves the rest.
    enableReadyCheck: false,
    lazyConnect: true,
  });
  let down = false;
  let closed = false;
  let open = 0;
  let refused = 0;
  // Without an 'error' listener ioredis prints every failed reconnect to the console.
  client.on("error", (error: Error) => {
    if (down || closed) return;
    down = true;
    logger.warn({ redis: address, err: error.message }, "redis unreachable; reconnecting");
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info({ redis: address }, "redis reachable again");
  });
  return {
    client,
    countFailure(outcome) {
      if (outcome === "open") open++;
      else refused++;
    },
    failures: () => ({ open, closed: refused }),
    connect() {
      // Failures are reported through the 'error' event above and retried by retryStrategy.
      if (client.status === "wait" && !closed) client.connect().catch(() => {});
    },
    isReady: () => client.status === "ready",
    async close() {
      if (closed) return;
      closed = true;
      client.disconnect(false);
    },
  };
}
