import type { Logger } from "pino";
import { fetchSchema, type ReflectionVersion } from "../reflection/reflection-client.js";
import { hashDescriptorFiles } from "../reflection/schema-root.js";
import { type BackendInstance, type BackendSet, instanceKey, type Registry } from "../registry/registry.js";
import type { ChannelPool } from "../upstream/channel-pool.js";
import type { CatalogBuilder, CatalogInput, InstanceSchema } from "./build-catalog.js";
import type { CatalogSnapshot, InstanceSchemaStatus } from "./catalog.js";
import { EMPTY_SNAPSHOT } from "./catalog.js";

/** What schema synchronisation reports (implemented by telemetry/; defined here so the arrow points down). */
export interface SchemaSyncMetrics {
  /** One reflection fetch of an instance of `backend` ended. */
  reflectionFinished(backend: string, ok: boolean, durationSeconds: number): void;
  /** A catalog was built and swapped in. */
  catalogBuilt(durationSeconds: number, methods: number): void;
  /** A catalog build failed (the previous one stays). */
  catalogFailed(): void;
}

export interface SchemaSyncOptions {
  registry: Registry;
  pool: ChannelPool;
  builder: CatalogBuilder;
  logger: Logger;
  /** Periodic refresh of every instance, with ±20% jitter. Default 30 s; 0 disables. */
  refreshIntervalMs: number;
  /** Minimum time between refreshes triggered by requests (UNIMPLEMENTED, unknown method), per backend. Default 1 s. */
  requestedRefreshMinIntervalMs?: number;
  /** Deadline of one reflection fetch. Default 10 s. */
  reflectionTimeoutMs?: number;
  jsonOptionsFor: CatalogInput["jsonOptionsFor"];
  isServiceAllowed: CatalogInput["isServiceAllowed"];
  /** Reflection and catalog-build observations (Prometheus in the admin listener). Default: none. */
  metrics?: SchemaSyncMetrics;
}

interface InstanceState {
  instance: BackendInstance;
  schema: InstanceSchema | undefined;
  preferredVersion: ReflectionVersion | undefined;
  lastRefreshAt: number | undefined;
  lastError: string | undefined;
  inflight: Promise<void> | undefined;
  /** A refresh was asked for while one was running: run once more when it ends. */
  again: boolean;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

/** The instance has no schema and its first fetch has not ended: calls for its backend may wait for it. */
function isFirstFetch(state: InstanceState): boolean {
  return state.schema === undefined && state.failures === 0;
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 30_000;

/**
 * Keeps the catalog in step with the registry and with what instances serve: reflection per instance
 * (single-flight, retried with backoff, last good schema kept on failure), triggered by registry changes,
 * channel reconnects, a jittered interval and requests for methods the catalog does not know. Every
 * change rebuilds the catalog off the request path and swaps it with one assignment.
 *
 * Each backend is published as soon as its own schema is in: nothing waits for a slow instance's
 * reflection (issue 13, point 1). A backend's methods stay routable while any of its instances is
 * registered and its schema is being fetched: the schema of a departed instance is kept (for routing, not
 * as a call target) until a registered instance of its backend has a schema (issue 13, point 10).
 */
export class SchemaSync {
  readonly #options: SchemaSyncOptions;
  readonly #log: Logger;
  readonly #states = new Map<string, InstanceState>();
  /** firstSeenAt per backend+hash: the newest schema wins for methods shared during a rolling deploy. */
  readonly #hashFirstSeen = new Map<string, number>();
  readonly #lastRequestedRefresh = new Map<string, number>();
  readonly #listeners = new Set<(snapshot: CatalogSnapshot) => void>();
  /** Per backend, by hash: schemas of departed instances, kept while no registered instance has one. */
  readonly #departed = new Map<string, Map<string, InstanceSchema>>();
  #snapshot: CatalogSnapshot = EMPTY_SNAPSHOT;
  #rebuildScheduled = false;
  /** Something changed since the last build (a scheduled build finding nothing new skips). */
  #dirty = false;
  #intervalTimer: NodeJS.Timeout | undefined;
  #unsubscribe: Array<() => void> = [];
  #closed = false;
  #built = false;

  constructor(options: SchemaSyncOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: "schema-sync" });
  }

  /** The snapshot every request reads. */
  current(): CatalogSnapshot {
    return this.#snapshot;
  }

  /** At least one catalog has been built since start. */
  hasCatalog(): boolean {
    return this.#built;
  }

  /** The last good schema of every instance that answered reflection (the docs read their comments). */
  schemas(): InstanceSchema[] {
    return [...this.#states.values()].flatMap((state) => (state.schema ? [state.schema] : []));
  }

  onSnapshot(listener: (snapshot: CatalogSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Loads the registry, starts the first fetch of every instance and builds the first catalog at once,
   * without waiting for them: each backend joins the catalog when its own schema is in (see
   * `firstFetches` for a bounded wait).
   */
  async start(): Promise<void> {
    const { registry, pool } = this.#options;
    await registry.start();
    this.#unsubscribe.push(registry.onChange((backends) => this.#applyBackends(backends)));
    this.#unsubscribe.push(
      pool.onReconnect((instance) => {
        this.#log.info(
          { backend: instance.backend, instance: instance.id },
          "channel reconnected; refreshing schema",
        );
        this.#refresh(instanceKey(instance));
      }),
    );
    this.#applyBackends(registry.current());
    // The first catalog lists no method yet, but names the backends being fetched, so calls wait for them.
    this.#rebuild();
    this.#scheduleInterval();
  }

  /**
   * Resolves once every instance registered now has ended its first fetch (success or failure) and the
   * catalog shows it, or after `maxWaitMs`, whichever comes first: start-up waits for the fast backends
   * this way, while a hung one only delays itself.
   */
  async firstFetches(maxWaitMs: number): Promise<void> {
    const running = [...this.#states.values()].flatMap((s) =>
      isFirstFetch(s) && s.inflight ? [s.inflight] : [],
    );
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs);
    });
    const fetched = Promise.all(running).then(async () => {
      while (this.#rebuildScheduled) await new Promise((resolve) => setImmediate(resolve));
    });
    await Promise.race([fetched, expired]);
    clearTimeout(timer);
  }

  /**
   * Asks for a refresh of a backend soon because a call met a method the catalog does not know or got
   * UNIMPLEMENTED. Rate limited per backend, so unknown paths cannot make the gateway flood backends.
   */
  requestRefresh(backend: string): void {
    const now = Date.now();
    const minInterval = this.#options.requestedRefreshMinIntervalMs ?? 1000;
    if (now - (this.#lastRequestedRefresh.get(backend) ?? 0) < minInterval) return;
    this.#lastRequestedRefresh.set(backend, now);
    for (const [key, state] of this.#states) if (state.instance.backend === backend) this.#refresh(key);
  }

  /** Resolves when no refresh is running (tests and shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.#states.values()].map((s) => s.inflight).filter(Boolean);
      if (running.length === 0 && !this.#rebuildScheduled) return;
      await Promise.all(running);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#intervalTimer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const state of this.#states.values()) clearTimeout(state.retryTimer);
  }

  #applyBackends(backends: BackendSet): void {
    const present = new Set<string>();
    let changed = false;
    for (const list of backends.values()) {
      for (const instance of list) {
        const key = instanceKey(instance);
        present.add(key);
        if (!this.#states.has(key)) {
          this.#states.set(key, {
            instance,
            schema: undefined,
            preferredVersion: undefined,
            lastRefreshAt: undefined,
            lastError: undefined,
            inflight: undefined,
            again: false,
            failures: 0,
            retryTimer: undefined,
          });
          this.#refresh(key);
          // The catalog names backends being fetched (calls may wait for them).
          changed = true;
        }
      }
    }
    for (const [key, state] of this.#states) {
      if (!present.has(key)) {
        clearTimeout(state.retryTimer);
        this.#states.delete(key);
        if (state.schema) {
          // Kept for routing until a registered instance of the backend has a schema; pruned by #rebuild.
          const departed = this.#departed.get(state.instance.backend) ?? new Map<string, InstanceSchema>();
          departed.set(state.schema.hash, state.schema);
          this.#departed.set(state.instance.backend, departed);
        }
        changed = true;
      }
    }
    this.#options.pool.retain(backends);
    if (changed) this.#scheduleRebuild();
  }

  #refresh(key: string): void {
    const state = this.#states.get(key);
    if (!state || this.#closed) return;
    if (state.inflight) {
      state.again = true;
      return;
    }
    clearTimeout(state.retryTimer);
    state.retryTimer = undefined;
    state.inflight = this.#fetch(state).finally(() => {
      state.inflight = undefined;
      if (state.again && this.#states.get(key) === state) {
        state.again = false;
        this.#refresh(key);
      }
    });
  }

  async #fetch(state: InstanceState): Promise<void> {
    const { instance } = state;
    const started = Date.now();
    try {
      const fetchOptions: Parameters<typeof fetchSchema>[1] = {
        timeoutMs: this.#options.reflectionTimeoutMs ?? 10_000,
      };
      if (state.preferredVersion) fetchOptions.preferredVersion = state.preferredVersion;
      const reflected = await fetchSchema(this.#options.pool.reflectionClient(instance), fetchOptions);
      this.#options.metrics?.reflectionFinished(instance.backend, true, (Date.now() - started) / 1000);
      const hash = hashDescriptorFiles(reflected.files.values());
      const seenKey = `${instance.backend}\u0000${hash}`;
      if (!this.#hashFirstSeen.has(seenKey)) this.#hashFirstSeen.set(seenKey, started);
      state.preferredVersion = reflected.version;
      state.lastRefreshAt = Date.now();
      state.lastError = undefined;
      state.failures = 0;
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
      const changed = state.schema?.hash !== hash;
      state.schema = {
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
        this.#scheduleRebuild();
      }
    } catch (error) {
      if (this.#closed) return;
      this.#options.metrics?.reflectionFinished(instance.backend, false, (Date.now() - started) / 1000);
      state.failures += 1;
      state.lastError = (error as Error).message;
      state.lastRefreshAt = Date.now();
      const delay =
        Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (state.failures - 1)) * (0.8 + Math.random() * 0.4);
      this.#log.warn(
        {
          backend: instance.backend,
          instance: instance.id,
          address: instance.address,
          err: state.lastError,
          retryInMs: Math.round(delay),
        },
        state.schema ? "schema refresh failed; keeping the last good schema" : "schema fetch failed",
      );
      if (!this.#closed) {
        state.retryTimer = setTimeout(() => this.#refresh(instanceKey(instance)), delay);
        state.retryTimer.unref();
      }
      // A first failure still changes /admin status; rebuild so the catalog shows it.
      if (state.failures === 1) this.#scheduleRebuild();
    }
  }

  #scheduleRebuild(): void {
    this.#dirty = true;
    if (this.#rebuildScheduled || this.#closed) return;
    this.#rebuildScheduled = true;
    // Coalesce the refreshes of one burst (many instances answering together) into one build.
    setImmediate(() => {
      this.#rebuildScheduled = false;
      if (!this.#closed && this.#dirty) this.#rebuild();
    });
  }

  #rebuild(): void {
    this.#dirty = false;
    const backends = new Map<
      string,
      { schemas: InstanceSchema[]; statuses: InstanceSchemaStatus[]; retained: InstanceSchema[] }
    >();
    const pendingBackends = new Set<string>();
    for (const state of this.#states.values()) {
      const entry = backends.get(state.instance.backend) ?? { schemas: [], statuses: [], retained: [] };
      if (state.schema) entry.schemas.push(state.schema);
      if (isFirstFetch(state)) pendingBackends.add(state.instance.backend);
      entry.statuses.push({
        instance: state.instance,
        reflectionVersion: state.schema?.version,
        descriptorHash: state.schema?.hash,
        services: state.schema?.services ?? [],
        lastRefreshAt: state.lastRefreshAt,
        lastError: state.lastError,
      });
      backends.set(state.instance.backend, entry);
    }
    // A departed instance's schema routes its backend's calls (to registered instances only) until a
    // registered instance has a schema; a backend with no registered instance is gone, its routes too.
    for (const [backend, departed] of this.#departed) {
      const entry = backends.get(backend);
      if (!entry || entry.schemas.length > 0) this.#departed.delete(backend);
      else entry.retained.push(...departed.values());
    }
    const started = performance.now();
    let snapshot: CatalogSnapshot;
    try {
      snapshot = this.#options.builder.build({
        backends,
        pendingBackends,
        jsonOptionsFor: this.#options.jsonOptionsFor,
        isServiceAllowed: this.#options.isServiceAllowed,
      });
    } catch (error) {
      this.#options.metrics?.catalogFailed();
      this.#log.error({ err: error }, "catalog build failed; keeping the previous catalog");
      return;
    }
    const known = new Set(this.#snapshot.problems);
    for (const problem of snapshot.problems)
      if (!known.has(problem)) this.#log.warn({ problem }, "catalog problem");
    this.#snapshot = snapshot;
    this.#built = true;
    this.#options.metrics?.catalogBuilt((performance.now() - started) / 1000, snapshot.methodsByPath.size);
    this.#log.info(
      {
        generation: snapshot.generation,
        methods: snapshot.methodsByPath.size,
        buildMs: +(performance.now() - started).toFixed(2),
      },
      "catalog swapped",
    );
    for (const listener of this.#listeners) listener(snapshot);
  }

  #scheduleInterval(): void {
    const base = this.#options.refreshIntervalMs;
    if (base <= 0 || this.#closed) return;
    const delay = base * (0.8 + Math.random() * 0.4);
    this.#intervalTimer = setTimeout(() => {
      for (const key of this.#states.keys()) this.#refresh(key);
      this.#scheduleInterval();
    }, delay);
    this.#intervalTimer.unref();
  }
}
