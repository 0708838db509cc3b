import type { Logger } from "pino";
import { type Backoff, createBackoff } from "../backoff.js";
import type { DescriptorFile } from "./descriptor-file.js";
import {
  type ReflectionChannelOptions,
  ReflectionChannels,
  type ReflectionTarget,
} from "./reflection-channels.js";
import { fetchSchema, type ReflectionVersion } from "./reflection-client.js";
import { hashDescriptorFiles } from "./schema-root.js";

/** One instance's successfully reflected schema. */
export interface DescriptorSchema<T extends ReflectionTarget = ReflectionTarget> {
  readonly instance: T;
  readonly version: ReflectionVersion;
  /** `hashDescriptorFiles` of the files: equal hashes, equal schemas (links and codecs are shared by hash). */
  readonly hash: string;
  readonly services: readonly string[];
  readonly files: ReadonlyMap<string, DescriptorFile>;
  /** When this backend first served a schema with this hash: newer schemas win for shared methods. */
  readonly firstSeenAt: number;
}

/** What the cache knows of one instance now. */
export interface CachedInstance<T extends ReflectionTarget = ReflectionTarget> {
  readonly instance: T;
  /** The last good schema (kept when a later fetch fails). */
  readonly schema: DescriptorSchema<T> | undefined;
  readonly lastRefreshAt: number | undefined;
  readonly lastError: string | undefined;
  /** No schema yet and the first fetch has not ended: calls for its backend may wait for it. */
  readonly firstFetchRunning: boolean;
}

/** What the cache reports (the catalog's metrics port extends it). */
export interface DescriptorCacheMetrics {
  /** One reflection fetch of an instance of `backend` ended. */
  reflectionFinished(backend: string, ok: boolean, durationSeconds: number): void;
}

export interface DescriptorCacheOptions {
  /** Where the cache logs (the caller's child logger: its bindings are kept). */
  logger: Logger;
  /** How reflection channels are dialed. Default: plaintext, system roots for TLS instances. */
  channels?: ReflectionChannelOptions;
  /** Periodic refresh of every instance, with ±20% jitter. Default 0 (none). */
  refreshIntervalMs?: number;
  /** Deadline of one reflection fetch. Default 10 s. */
  timeoutMs?: number;
  /** First retry delay after a failed fetch (shared backoff, full jitter). Default 250 ms. */
  retryInitialMs?: number;
  /** Longest retry delay. Default 30 s. */
  retryMaxMs?: number;
  /** Default: none. */
  metrics?: DescriptorCacheMetrics;
  /**
   * Something a catalog shows changed: a schema with a new hash is in, or a first fetch failed (it was
   * pending, now it is not). Called synchronously; coalescing is the caller's business.
   */
  onChange(): void;
}

interface Entry<T extends ReflectionTarget> {
  instance: T;
  schema: DescriptorSchema<T> | undefined;
  preferredVersion: ReflectionVersion | undefined;
  lastRefreshAt: number | undefined;
  lastError: string | undefined;
  inflight: Promise<void> | undefined;
  /** A refresh was asked for while one was running: run once more when it ends. */
  again: boolean;
  failures: number;
  backoff: Backoff;
  retryTimer: NodeJS.Timeout | undefined;
}

/**
 * The descriptor cache, one entry per instance: reflection fetches (single-flight per instance, retried
 * with the shared backoff, the last good schema kept on failure), hashed so an unchanged schema costs
 * its consumers nothing. Fetches are triggered by `add`, `refresh`, a reconnect of the instance's
 * reflection channel and a jittered interval. Entries are keyed by the caller's instance key.
 */
export class DescriptorCache<T extends ReflectionTarget> {
  readonly #options: DescriptorCacheOptions;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry<T>>();
  /** firstSeenAt per backend+hash. */
  readonly #hashFirstSeen = new Map<string, number>();
  readonly #channels: ReflectionChannels;
  #intervalTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: DescriptorCacheOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#channels = new ReflectionChannels(options.channels ?? {}, (key) => {
      const entry = this.#entries.get(key);
      if (!entry) return;
      this.#log.info(
        { backend: entry.instance.backend, instance: entry.instance.id },
        "channel reconnected; refreshing schema",
      );
      this.refresh(key);
    });
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Starts caching an instance: its first fetch starts at once. */
  add(key: string, instance: T): void {
    if (this.#entries.has(key) || this.#closed) return;
    this.#entries.set(key, {
      instance,
      schema: undefined,
      preferredVersion: undefined,
      lastRefreshAt: undefined,
      lastError: undefined,
      inflight: undefined,
      again: false,
      failures: 0,
      backoff: createBackoff(this.#options.retryInitialMs ?? 250, this.#options.retryMaxMs ?? 30_000),
      retryTimer: undefined,
    });
    this.refresh(key);
    if (this.#intervalTimer === undefined) this.#scheduleInterval();
  }

  /** Stops caching an instance (its channel closes); returns its last good schema, if any. */
  remove(key: string): DescriptorSchema<T> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    clearTimeout(entry.retryTimer);
    this.#entries.delete(key);
    this.#channels.close(key);
    return entry.schema;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Every cached instance, in the order added. */
  *instances(): IterableIterator<CachedInstance<T>> {
    for (const entry of this.#entries.values()) {
      yield {
        instance: entry.instance,
        schema: entry.schema,
        lastRefreshAt: entry.lastRefreshAt,
        lastError: entry.lastError,
        firstFetchRunning: isFirstFetch(entry),
      };
    }
  }

  /** Fetches an instance's schema again (single-flight: a request during a fetch runs once after it). */
  refresh(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry || this.#closed) return;
    if (entry.inflight) {
      entry.again = true;
      return;
    }
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    entry.inflight = this.#fetch(key, entry).finally(() => {
      entry.inflight = undefined;
      if (entry.again && this.#entries.get(key) === entry) {
        entry.again = false;
        this.refresh(key);
      }
    });
  }

  /** The fetches running now; with `firstOnly`, only first fetches of instances with no schema yet. */
  running(firstOnly = false): Promise<void>[] {
    const running: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.inflight && (!firstOnly || isFirstFetch(entry))) running.push(entry.inflight);
    }
    return running;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#intervalTimer);
    for (const entry of this.#entries.values()) clearTimeout(entry.retryTimer);
    this.#channels.closeAll();
  }

  async #fetch(key: string, entry: Entry<T>): Promise<void> {
    const { instance } = entry;
    const started = Date.now();
    try {
      const fetchOptions: Parameters<typeof fetchSchema>[1] = {
        timeoutMs: this.#options.timeoutMs ?? 10_000,
      };
      if (entry.preferredVersion) fetchOptions.preferredVersion = entry.preferredVersion;
      const reflected = await fetchSchema(this.#channels.client(key, instance), fetchOptions);
      this.#options.metrics?.reflectionFinished(instance.backend, true, (Date.now() - started) / 1000);
      const hash = hashDescriptorFiles(reflected.files.values());
      const seenKey = `${instance.backend}\u0000${hash}`;
      if (!this.#hashFirstSeen.has(seenKey)) this.#hashFirstSeen.set(seenKey, started);
      entry.preferredVersion = reflected.version;
      entry.lastRefreshAt = Date.now();
      entry.lastError = undefined;
      entry.failures = 0;
      entry.backoff.reset();
      if (reflected.unresolvedServices.length > 0 || reflected.missingFiles.length > 0) {
        this.#log.warn(
          {
            backend: instance.backend,
            instance: instance.id,
            unresolvedServices: reflected.unresolvedServices,
            missingFiles: reflected.missingFiles,
          },
          "reflection answer incomplete; linking leniently",
        );
      }
      const changed = entry.schema?.hash !== hash;
      entry.schema = {
        instance,
        version: reflected.version,
        hash,
        services: reflected.services,
        files: reflected.files,
        firstSeenAt: this.#hashFirstSeen.get(seenKey)!,
      };
      if (changed) {
        this.#log.info(
          {
            backend: instance.backend,
            instance: instance.id,
            version: reflected.version,
            hash,
            services: reflected.services,
          },
          "schema loaded",
        );
        this.#options.onChange();
      }
    } catch (error) {
      if (this.#closed) return;
      this.#options.metrics?.reflectionFinished(instance.backend, false, (Date.now() - started) / 1000);
      entry.failures += 1;
      entry.lastError = (error as Error).message;
      entry.lastRefreshAt = Date.now();
      const delay = entry.backoff.next();
      this.#log.warn(
        {
          backend: instance.backend,
          instance: instance.id,
          address: instance.address,
          err: entry.lastError,
          retryInMs: delay,
        },
        entry.schema ? "schema refresh failed; keeping the last good schema" : "schema fetch failed",
      );
      if (this.#entries.get(key) === entry) {
        entry.retryTimer = setTimeout(() => this.refresh(key), delay);
        entry.retryTimer.unref();
      }
      // A first failure ends the wait for the instance and changes /admin status: the catalog shows it.
      if (entry.failures === 1) this.#options.onChange();
    }
  }

  #scheduleInterval(): void {
    const base = this.#options.refreshIntervalMs ?? 0;
    if (base <= 0 || this.#closed) return;
    const delay = base * (0.8 + Math.random() * 0.4);
    this.#intervalTimer = setTimeout(() => {
      for (const key of this.#entries.keys()) this.refresh(key);
      this.#scheduleInterval();
    }, delay);
    this.#intervalTimer.unref();
  }
}

/** The instance has no schema and its first fetch has not ended. */
function isFirstFetch(entry: Entry<ReflectionTarget>): boolean {
  return entry.schema === undefined && entry.failures === 0;
}
