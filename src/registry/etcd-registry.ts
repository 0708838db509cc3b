/**
 * The etcd registry (ARCHITECTURE.md "etcd is list-then-watch"; CONTRACT.md §6).
 *
 * One loop: list the prefix (remember the revision) → watch from revision + 1 → on any end of the watch
 * (compaction, cancellation, revision regression, lost connection) list again, after a capped, jittered
 * exponential backoff (none for a first compaction). A list replaces the whole state, so nothing missed
 * while not watching can linger; the set is only published when it differs from the current one.
 *
 * While etcd is unreachable the last known set keeps being served; logs and `health()` say so.
 *
 * start() and an unreachable etcd: start() resolves after the first successful list, or after
 * `startTimeoutMs` (default 5 s) with whatever is known — an empty set and `health().loaded === false` —
 * while the loop keeps retrying in the background and publishes the set through onChange once it lists.
 * It never rejects and never hangs: readiness (`/readyz`) is what should wait for `loaded`, not the
 * process. Configuration errors (bad endpoints, prefix, timeouts) throw from createEtcdRegistry instead.
 */
import {
  type Etcd3,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  type IEvent,
  type IKeyValue,
} from "etcd3";
import type { Logger } from "pino";
import { type Backoff, createBackoff } from "../backoff.js";
import { GatewayConfigError } from "../errors.js";
import {
  createEtcdClient,
  type EtcdClientOptions,
  errorText,
  sleep,
  withTimeout,
} from "./etcd-registry-client.js";
import {
  buildBackendSet,
  countInstances,
  EMPTY_BACKEND_SET,
  freezeInstance,
  sameBackendSet,
} from "./etcd-registry-set.js";
import { runWatchSession, type WatchEnd } from "./etcd-registry-watch.js";
import type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry.js";
import { DEFAULT_REGISTRY_PREFIX, normalizePrefix, parseRegistryEntry } from "./registry-value.js";

export interface EtcdRegistryOptions {
  /** `http(s)://host:port` of each etcd member (`--etcd`). */
  endpoints: readonly string[];
  /** Key prefix (`--etcd-prefix`); a trailing `/` is added when missing. Default `/refract/backends/`. */
  prefix?: string;
  logger: Logger;
  /** Deadline for each list and for etcd to confirm a watch. Default 5000. */
  dialTimeoutMs?: number;
  /** How long start() waits for the first list before resolving with an empty set. Default 5000. */
  startTimeoutMs?: number;
  /** First retry delay after a failure. Default 200. */
  retryInitialMs?: number;
  /** Cap of the retry delay after etcd answered with an error (overloaded, refusing). Default 10000. */
  retryMaxMs?: number;
  /**
   * Cap of the retry delay while no endpoint answers at all. An attempt then costs etcd nothing, and a
   * short cap puts the gateway back on etcd within about a second of it returning (issue 13). Full
   * jitter spreads many replicas over the interval. Default 1000.
   */
  unreachableRetryMaxMs?: number;
  /** While etcd stays unreachable, repeat the warning this often (each retry logs at debug). Default 60000. */
  outageLogIntervalMs?: number;
  /** TLS credentials, auth, extra grpc options for the etcd3 client. */
  etcdOptions?: EtcdClientOptions;
  /**
   * Test seam (internal): awaited after each successful list, before its watch is created. Lets a test
   * compact etcd past the list's revision deterministically — in production that window is a few ms.
   */
  afterListHook?: (revision: bigint) => Promise<void>;
}

interface Outage {
  since: Date;
  error: string;
  lastWarnAt: number;
}

/** Creates an etcd-backed registry; nothing connects before start(). */
export function createEtcdRegistry(options: EtcdRegistryOptions): Registry {
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_REGISTRY_PREFIX);
  if (prefix === "/") throw new GatewayConfigError("etcd-prefix", "must not be empty or /");
  const dialTimeoutMs = positive("etcd-dial-timeout", options.dialTimeoutMs ?? 5_000);
  const startTimeoutMs = positive("etcd-start-timeout", options.startTimeoutMs ?? 5_000);
  const retryInitialMs = positive("etcd-retry-initial", options.retryInitialMs ?? 200);
  const retryMaxMs = Math.max(retryInitialMs, positive("etcd-retry-max", options.retryMaxMs ?? 10_000));
  const unreachableRetryMaxMs = Math.max(
    retryInitialMs,
    positive("etcd-unreachable-retry-max", options.unreachableRetryMaxMs ?? 1_000),
  );
  const outageLogIntervalMs = options.outageLogIntervalMs ?? 60_000;
  const client: Etcd3 = createEtcdClient({
    endpoints: options.endpoints,
    callTimeoutMs: dialTimeoutMs,
    ...(options.etcdOptions ? { etcdOptions: options.etcdOptions } : {}),
  });
  const log = options.logger.child({ component: "etcd-registry", prefix });

  const stop = new AbortController();
  const listeners = new Set<(backends: BackendSet) => void>();
  /** Instances by etcd key: the state the published set is built from. */
  let entries = new Map<string, BackendInstance>();
  /** Malformed keys already warned about, with the mod revision warned for (one warning per write). */
  let warned = new Map<string, string>();
  let backends: BackendSet = EMPTY_BACKEND_SET;
  let revision: bigint | undefined;
  let loaded = false;
  let watching = false;
  let closed = false;
  let outage: Outage | undefined;
  let failureStreak = 0;
  let loop: Promise<void> | undefined;
  let resolveFirstList: () => void = () => {};
  const firstList = new Promise<void>((resolve) => {
    resolveFirstList = resolve;
  });

  function publish(): void {
    const next = buildBackendSet(entries.values());
    if (sameBackendSet(backends, next)) return;
    backends = next;
    log.info(
      { backends: Object.fromEntries([...next].map(([name, list]) => [name, list.map((i) => i.address)])) },
      "backend set changed: %d instance(s) in %d backend(s)",
      countInstances(next),
      next.size,
    );
    for (const listener of [...listeners]) {
      try {
        listener(next);
      } catch (error) {
        log.error({ err: error }, "registry onChange listener threw");
      }
    }
  }

  /** Parses one key/value into `target`; malformed values are logged (once per write) and skipped. */
  function applyKv(target: Map<string, BackendInstance>, kv: IKeyValue): void {
    const key = kv.key.toString("utf8");
    const entry = parseRegistryEntry(key, kv.value.toString("utf8"), prefix);
    if (entry.kind === "invalid") {
      // A key whose value turns malformed stops being an instance, exactly as a fresh list would see it.
      target.delete(key);
      if (warned.get(key) !== kv.mod_revision) {
        warned.set(key, kv.mod_revision);
        log.warn(
          { key, reason: entry.reason, modRevision: kv.mod_revision },
          "skipping malformed registry entry",
        );
      }
      return;
    }
    warned.delete(key);
    if (entry.kind === "deleted") {
      target.delete(key);
      return;
    }
    target.set(
      key,
      freezeInstance({
        backend: entry.backend,
        id: entry.id,
        address: entry.address,
        metadata: entry.metadata,
      }),
    );
  }

  function applyEvents(events: readonly IEvent[], headerRevision: bigint): void {
    revision = headerRevision;
    if (events.length === 0) return;
    for (const event of events) {
      // The typings say "Put" | "Delete", but proto-loader (enums: String) delivers the proto names
      // PUT / DELETE; compare case-insensitively so either works.
      if (String(event.type).toUpperCase() === "DELETE") {
        const key = event.kv.key.toString("utf8");
        entries.delete(key);
        warned.delete(key);
      } else {
        applyKv(entries, event.kv);
      }
    }
    log.debug({ events: events.length, revision: headerRevision.toString() }, "applied watch events");
    publish();
  }

  function markReachable(): void {
    failureStreak = 0;
    if (outage) {
      log.info(
        { downForMs: Date.now() - outage.since.getTime() },
        "etcd reachable again (unreachable since %s)",
        outage.since.toISOString(),
      );
    }
    outage = undefined;
  }

  function markUnreachable(error: unknown): void {
    const text = errorText(error);
    const now = Date.now();
    failureStreak++;
    // etcd3 opens each watch on a random endpoint; with one member of several down, a single failure says
    // little. Declare an outage only once as many attempts in a row as there are endpoints have failed
    // (unary calls already fail over inside etcd3's retry policy).
    if (!outage && failureStreak < options.endpoints.length) {
      log.debug({ err: text, failureStreak }, "etcd call failed; retrying");
      return;
    }
    if (!outage) {
      outage = { since: new Date(now), error: text, lastWarnAt: now };
      log.warn({ err: text }, "%s", unreachableDetail(outage));
      return;
    }
    outage.error = text;
    if (now - outage.lastWarnAt >= outageLogIntervalMs) {
      outage.lastWarnAt = now;
      log.warn({ err: text }, "%s", unreachableDetail(outage));
    } else {
      log.debug({ err: text }, "etcd still unreachable");
    }
  }

  function unreachableDetail(current: Outage): string {
    const served = loaded
      ? `serving last known set of ${countInstances(backends)} instance(s)`
      : "no backend set loaded yet";
    return `etcd unreachable since ${current.since.toISOString()}: ${current.error}; ${served}`;
  }

  /** Lists the prefix and replaces the state; returns the list's revision, or the failure. */
  async function list(): Promise<bigint | { error: unknown }> {
    try {
      const response = await client.getAll().prefix(prefix).exec();
      const next = new Map<string, BackendInstance>();
      const seen = new Set<string>();
      for (const kv of response.kvs) {
        seen.add(kv.key.toString("utf8"));
        applyKv(next, kv);
      }
      for (const key of warned.keys()) if (!seen.has(key)) warned.delete(key);
      return commitList(next, BigInt(response.header.revision));
    } catch (error) {
      return { error };
    }
  }

  function commitList(next: Map<string, BackendInstance>, listRevision: bigint): bigint {
    entries = next;
    revision = listRevision;
    markReachable();
    const firstTime = !loaded;
    loaded = true;
    publish();
    log.debug({ revision: listRevision.toString(), instances: next.size }, "listed %s", prefix);
    if (firstTime) resolveFirstList();
    return listRevision;
  }

  async function run(): Promise<void> {
    const backoff: Backoff = createBackoff(retryInitialMs, retryMaxMs);
    const unreachableBackoff: Backoff = createBackoff(retryInitialMs, unreachableRetryMaxMs);
    let lastCompactionAt = 0;
    while (!stop.signal.aborted) {
      const listed = await list();
      if (stop.signal.aborted) break;
      let end: WatchEnd;
      if (typeof listed !== "bigint") {
        end = { reason: "failed", error: listed.error };
      } else {
        await options
          .afterListHook?.(listed)
          .catch((error: unknown) => log.error({ err: error }, "afterListHook"));
        end = await runWatchSession({
          client,
          prefix,
          fromRevision: listed + 1n,
          createTimeoutMs: dialTimeoutMs,
          signal: stop.signal,
          onCreated: (createdRevision) => {
            watching = true;
            backoff.reset();
            unreachableBackoff.reset();
            log.debug(
              { from: (listed + 1n).toString(), current: createdRevision.toString() },
              "watch created",
            );
          },
          onEvents: applyEvents,
        });
        watching = false;
      }
      if (stop.signal.aborted || end.reason === "closed") break;

      let delayMs = backoff.next();
      switch (end.reason) {
        case "compacted": {
          // Expected after etcd compacts past our revision (e.g. a long outage with auto-compaction):
          // list again at once; only a compaction loop gets the backoff.
          const now = Date.now();
          if (now - lastCompactionAt > 1_000) delayMs = 0;
          lastCompactionAt = now;
          log.info(
            { compactRevision: end.compactRevision.toString(), revision: revision?.toString() },
            "watch revision was compacted; listing again",
          );
          break;
        }
        case "canceled":
          log.warn({ reason: end.detail }, "etcd cancelled the watch; listing again");
          break;
        case "regressed":
          log.warn({ reason: end.detail }, "etcd revision went backwards; listing again");
          break;
        case "failed":
          markUnreachable(end.error);
          if (isUnreachable(end.error)) delayMs = unreachableBackoff.next();
          break;
      }
      log.debug({ reason: end.reason, retryInMs: delayMs }, "listing again after a pause");
      await sleep(delayMs, stop.signal);
    }
  }

  return {
    async start() {
      if (closed) return;
      if (!loop) {
        log.info({ endpoints: options.endpoints }, "starting etcd registry");
        loop = run().catch((error: unknown) => {
          // run() handles every etcd failure itself; reaching this is a bug, but it must not crash.
          log.error({ err: error }, "etcd registry loop stopped unexpectedly");
        });
      }
      const timedOut = await withTimeout(
        firstList.then(() => false),
        startTimeoutMs,
        true,
      );
      if (timedOut && !loaded && !closed) {
        log.warn(
          { startTimeoutMs },
          "etcd not reachable at start; continuing with an empty backend set and retrying in the background",
        );
      }
    },

    current: () => backends,

    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    health(): RegistryHealth {
      if (closed) return { loaded, connected: false, detail: "closed" };
      if (outage) return { loaded, connected: false, detail: unreachableDetail(outage) };
      if (!loop) return { loaded, connected: false, detail: "not started" };
      if (!loaded)
        return { loaded, connected: false, detail: `connecting to ${options.endpoints.join(",")}` };
      const count = `${countInstances(backends)} instance(s) in ${backends.size} backend(s)`;
      if (!watching) return { loaded, connected: true, detail: `listing ${prefix}; ${count}` };
      const from = revision === undefined ? "" : ` at revision ${revision}`;
      return { loaded, connected: true, detail: `watching ${prefix}${from}; ${count}` };
    },

    async close() {
      if (closed) return;
      closed = true;
      stop.abort();
      listeners.clear();
      resolveFirstList();
      // The loop ends at its next await (sleeps and the watch listen to `stop`; an in-flight list is
      // bounded by its deadline), so do not wait long for it: close() must return promptly with etcd down.
      await withTimeout(loop ?? Promise.resolve(), 100, undefined);
      client.close();
      entries = new Map();
      warned = new Map();
      log.info("etcd registry closed");
    },
  };
}

/**
 * No endpoint answered (refused, reset, black-holed): etcd is down or out of reach, not refusing us.
 * An error etcd itself returned (resource exhausted, permission, internal) keeps the longer backoff.
 */
function isUnreachable(error: unknown): boolean {
  return (
    error instanceof GRPCUnavailableError ||
    error instanceof GRPCDeadlineExceededError ||
    (error instanceof Error &&
      /ECONNREFUSED|ECONNRESET|No connection established|not confirmed within/.test(error.message))
  );
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new GatewayConfigError(option, `must be > 0, got ${value}`);
  return value;
}
