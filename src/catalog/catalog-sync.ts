import type { Logger } from "pino";
import { type CompiledPolicies, type CompileEnvironment, compilePolicies } from "../policy/compile.js";
import type { PolicyConfig } from "../policy/policy.js";
import { DescriptorCache, type DescriptorCacheMetrics } from "../reflection/descriptor-cache.js";
import type { ReflectionChannelOptions } from "../reflection/reflection-channels.js";
import { type BackendInstance, type BackendSet, instanceKey, type Registry } from "../registry/registry.js";
import type { HttpRule } from "../router/http-rule.js";
import { CatalogBuilder, type CatalogInput, type InstanceSchema } from "./build-catalog.js";
import type { Catalog, CatalogSnapshot, InstanceSchemaStatus } from "./catalog.js";
import { EMPTY_SNAPSHOT } from "./catalog.js";

/** What catalog synchronisation reports (implemented by telemetry/; defined here so the arrow points down). */
export interface CatalogSyncMetrics extends DescriptorCacheMetrics {
  /** A catalog was built and swapped in. */
  catalogBuilt(durationSeconds: number, methods: number): void;
  /** A catalog build failed (the previous one stays). */
  catalogFailed(): void;
}

export interface CatalogSyncOptions {
  registry: Registry;
  logger: Logger;
  /** How reflection dials instances (TLS credentials and server name, compression, answer size). */
  reflectionChannels?: ReflectionChannelOptions;
  /** Periodic refresh of every instance, with ±20% jitter. Default 30 s; 0 disables. */
  refreshIntervalMs: number;
  /** Minimum time between refreshes triggered by requests (UNIMPLEMENTED, unknown method), per backend. Default 1 s. */
  requestedRefreshMinIntervalMs?: number;
  /** Deadline of one reflection fetch. Default 10 s. */
  reflectionTimeoutMs?: number;
  /** Rules from the `--http-rules` file, merged into every snapshot's route table. Default none. */
  fileRules?: readonly HttpRule[];
  jsonOptionsFor: CatalogInput["jsonOptionsFor"];
  isServiceAllowed: CatalogInput["isServiceAllowed"];
  /** Reflection and catalog-build observations (Prometheus in the admin listener). Default: none. */
  metrics?: CatalogSyncMetrics;
  /** Default: a new one. */
  builder?: CatalogBuilder;
  /**
   * What policy configs are compiled with (`setPolicyConfig`): the shared Redis connection, the types.
   * Default: no Redis, every known type, this sync's logger.
   */
  policyEnvironment?: Partial<CompileEnvironment>;
}

/**
 * Keeps the catalog in step with the registry and with what instances serve: registry changes add and
 * drop instances of the descriptor cache (src/reflection/descriptor-cache.ts, which fetches, retries and
 * refreshes them); every change it reports rebuilds the snapshot off the request path (coalesced per
 * burst) and swaps it with one assignment.
 *
 * Each backend is published as soon as its own schema is in: nothing waits for a slow instance's
 * reflection (issue 13, point 1). A backend's methods stay routable while any of its instances is
 * registered and its schema is being fetched: the schema of a departed instance is kept (for routing, not
 * as a call target) until a registered instance of its backend has a schema (issue 13, point 10).
 */
export class CatalogSync implements Catalog {
  readonly #options: CatalogSyncOptions;
  readonly #log: Logger;
  readonly #builder: CatalogBuilder;
  readonly #cache: DescriptorCache<BackendInstance>;
  readonly #lastRequestedRefresh = new Map<string, number>();
  readonly #listeners = new Set<(snapshot: CatalogSnapshot) => void>();
  /** Per backend, by hash: schemas of departed instances, kept while no registered instance has one. */
  readonly #departed = new Map<string, Map<string, InstanceSchema>>();
  #snapshot: CatalogSnapshot = EMPTY_SNAPSHOT;
  #rebuildScheduled = false;
  /** Something changed since the last build (a scheduled build finding nothing new skips). */
  #dirty = false;
  #unsubscribe: Array<() => void> = [];
  #closed = false;
  #built = false;
  #started = false;
  /** The compiled policies of the config revision in force; undefined until a config is set. */
  #policies: CompiledPolicies | undefined;

  constructor(options: CatalogSyncOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: "schema-sync" });
    this.#builder = options.builder ?? new CatalogBuilder();
    this.#cache = new DescriptorCache<BackendInstance>({
      logger: this.#log,
      ...(options.reflectionChannels ? { channels: options.reflectionChannels } : {}),
      refreshIntervalMs: options.refreshIntervalMs,
      timeoutMs: options.reflectionTimeoutMs ?? 10_000,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      onChange: () => this.#scheduleRebuild(),
    });
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
    return [...this.#cache.instances()].flatMap((cached) => (cached.schema ? [cached.schema] : []));
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
    const { registry } = this.#options;
    await registry.start();
    this.#started = true;
    this.#unsubscribe.push(registry.onChange((backends) => this.#applyBackends(backends)));
    this.#applyBackends(registry.current());
    // The first catalog lists no method yet, but names the backends being fetched, so calls wait for them.
    this.#rebuild();
  }

  /**
   * Resolves once every instance registered now has ended its first fetch (success or failure) and the
   * catalog shows it, or after `maxWaitMs`, whichever comes first: start-up waits for the fast backends
   * this way, while a hung one only delays itself.
   */
  async firstFetches(maxWaitMs: number): Promise<void> {
    const running = this.#cache.running(true);
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
    for (const cached of this.#cache.instances()) {
      if (cached.instance.backend === backend) this.#cache.refresh(instanceKey(cached.instance));
    }
  }

  /** Resolves when no refresh is running (tests and shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.#cache.running();
      if (running.length === 0 && !this.#rebuildScheduled) return;
      await Promise.all(running);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#cache.close();
    void this.#policies?.close();
  }

  /**
   * Applies a config revision (issue 15): compiles its policies once, rebuilds the snapshot at once so every
   * method's chain is resolved from the new selectors when this returns (methods discovered later get
   * theirs at their own build), then closes the replaced revision's policies. When the build fails the
   * previous revision and snapshot stay. Before start() the config is kept for the first build.
   */
  setPolicyConfig(config: PolicyConfig): void {
    if (this.#closed) return;
    const environment = this.#options.policyEnvironment ?? {};
    const previous = this.#policies;
    const compiled = compilePolicies(
      config,
      {
        logger: environment.logger ?? this.#log,
        redis: environment.redis,
        ...(environment.types ? { types: environment.types } : {}),
      },
      previous,
    );
    const policiesOf = (revision: CompiledPolicies | undefined) =>
      new Set((revision?.entries ?? []).map((entry) => entry.policy));
    this.#policies = compiled;
    if (this.#started && !this.#rebuild()) {
      this.#policies = previous;
      void compiled.close(policiesOf(previous));
      this.#log.error({ revision: config.revision }, "policy config not applied: the catalog build failed");
      return;
    }
    this.#log.info(
      { revision: config.revision, policies: config.policies.length, consumers: config.consumers.length },
      "policy config applied",
    );
    // Policies carried into the new revision (unchanged documents) stay open with their state.
    void previous?.close(policiesOf(compiled));
  }

  /** The compiled policies in force (admin views, OpenAPI); undefined until a config is set. */
  policies(): CompiledPolicies | undefined {
    return this.#policies;
  }

  #applyBackends(backends: BackendSet): void {
    const present = new Set<string>();
    let changed = false;
    for (const list of backends.values()) {
      for (const instance of list) {
        const key = instanceKey(instance);
        present.add(key);
        if (!this.#cache.has(key)) {
          this.#cache.add(key, instance);
          // The catalog names backends being fetched (calls may wait for them).
          changed = true;
        }
      }
    }
    for (const key of [...this.#cache.keys()]) {
      if (present.has(key)) continue;
      const schema = this.#cache.remove(key);
      if (schema) {
        // Kept for routing until a registered instance of the backend has a schema; pruned by #rebuild.
        const { backend } = schema.instance;
        const departed = this.#departed.get(backend) ?? new Map<string, InstanceSchema>();
        departed.set(schema.hash, schema);
        this.#departed.set(backend, departed);
      }
      changed = true;
    }
    if (changed) this.#scheduleRebuild();
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

  /** Builds and swaps a snapshot; false when the build failed (the previous snapshot stays). */
  #rebuild(): boolean {
    this.#dirty = false;
    const backends = new Map<
      string,
      { schemas: InstanceSchema[]; statuses: InstanceSchemaStatus[]; retained: InstanceSchema[] }
    >();
    const pendingBackends = new Set<string>();
    for (const cached of this.#cache.instances()) {
      const { instance, schema } = cached;
      const entry = backends.get(instance.backend) ?? { schemas: [], statuses: [], retained: [] };
      if (schema) entry.schemas.push(schema);
      if (cached.firstFetchRunning) pendingBackends.add(instance.backend);
      entry.statuses.push({
        instance,
        reflectionVersion: schema?.version,
        descriptorHash: schema?.hash,
        services: schema?.services ?? [],
        lastRefreshAt: cached.lastRefreshAt,
        lastError: cached.lastError,
      });
      backends.set(instance.backend, entry);
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
      snapshot = this.#builder.build({
        backends,
        pendingBackends,
        fileRules: this.#options.fileRules ?? [],
        jsonOptionsFor: this.#options.jsonOptionsFor,
        isServiceAllowed: this.#options.isServiceAllowed,
        ...(this.#policies ? { policies: this.#policies } : {}),
      });
    } catch (error) {
      this.#options.metrics?.catalogFailed();
      this.#log.error({ err: error }, "catalog build failed; keeping the previous catalog");
      return false;
    }
    const previous = this.#snapshot;
    const known = new Set(previous.problems);
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
    const knownRouteProblems = new Set(previous.routeProblems);
    for (const problem of snapshot.routeProblems) {
      if (!knownRouteProblems.has(problem)) this.#options.logger.warn({ problem }, "http rule problem");
    }
    for (const listener of this.#listeners) listener(snapshot);
    return true;
  }
}
