/**
 * The etcd registry (ARCHITECTURE.md "etcd is list-then-watch"; CONTRACT.md §6).
 *
 * One loop (etcd-list-watch.ts): list the prefix (remember the revision) → watch from revision + 1 → on
 * any end of the watch (compaction, cancellation, revision regression, lost connection) list again, after
 * a capped, jittered exponential backoff (none for a first compaction). A list replaces the whole state,
 * so nothing missed while not watching can linger; the set is only published when it differs from the
 * current one.
 *
 * While etcd is unreachable the last known set keeps being served; logs and `health()` say so.
 *
 * start() and an unreachable etcd: start() resolves after the first successful list, or after
 * `startTimeoutMs` (default 5 s) with whatever is known — an empty set and `health().loaded === false` —
 * while the loop keeps retrying in the background and publishes the set through onChange once it lists.
 * It never rejects and never hangs: readiness (`/readyz`) is what should wait for `loaded`, not the
 * process. Configuration errors (bad endpoints, prefix, timeouts) throw from createEtcdRegistry instead.
 */
import type { IEvent, IKeyValue } from "etcd3";
import { GatewayConfigError } from "../errors.js";
import { createEtcdListWatch, type EtcdSourceOptions } from "./etcd-list-watch.js";
import { errorText } from "./etcd-registry-client.js";
import {
  buildBackendSet,
  countInstances,
  EMPTY_BACKEND_SET,
  freezeInstance,
  sameBackendSet,
} from "./etcd-registry-set.js";
import type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry.js";
import { DEFAULT_REGISTRY_PREFIX, normalizePrefix, parseRegistryEntry } from "./registry-value.js";

/** The loop's options (EtcdSourceOptions); start() resolves after `startTimeoutMs` with an empty set. */
export interface EtcdRegistryOptions extends EtcdSourceOptions {
  /** Key prefix (`--etcd-prefix`); a trailing `/` is added when missing. Default `/refract/backends/`. */
  prefix?: string;
  /** While etcd stays unreachable, repeat the warning this often (each retry logs at debug). Default 60000. */
  outageLogIntervalMs?: number;
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
  const log = options.logger.child({ component: "etcd-registry", prefix });

  const listeners = new Set<(backends: BackendSet) => void>();
  /** Instances by etcd key: the state the published set is built from. */
  let entries = new Map<string, BackendInstance>();
  /** Malformed keys already warned about, with the mod revision warned for (one warning per write). */
  let warned = new Map<string, string>();
  let backends: BackendSet = EMPTY_BACKEND_SET;
  let revision: bigint | undefined;
  let loaded = false;
  let closed = false;
  let outage: Outage | undefined;
  let failureStreak = 0;

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

  /** A successful list: replaces the state with its key/values. */
  function applyList(kvs: readonly IKeyValue[], listRevision: bigint): void {
    const next = new Map<string, BackendInstance>();
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key.toString("utf8"));
      applyKv(next, kv);
    }
    for (const key of warned.keys()) if (!seen.has(key)) warned.delete(key);
    entries = next;
    revision = listRevision;
    markReachable();
    loaded = true;
    publish();
    log.debug({ revision: listRevision.toString(), instances: next.size }, "listed %s", prefix);
  }

  const listWatch = createEtcdListWatch({
    endpoints: options.endpoints,
    etcdOptions: options.etcdOptions,
    prefix,
    dialTimeoutMs,
    retryInitialMs,
    retryMaxMs,
    unreachableRetryMaxMs,
    log,
    loopFailedMessage: "etcd registry loop stopped unexpectedly",
    afterListHook: options.afterListHook,
    onList: applyList,
    onEvents: applyEvents,
    onCreated: (createdRevision, fromRevision) =>
      log.debug({ from: fromRevision.toString(), current: createdRevision.toString() }, "watch created"),
    onEnd: (end, delayMs) => {
      switch (end.reason) {
        case "compacted":
          log.info(
            { compactRevision: end.compactRevision.toString(), revision: revision?.toString() },
            "watch revision was compacted; listing again",
          );
          break;
        case "canceled":
          log.warn({ reason: end.detail }, "etcd cancelled the watch; listing again");
          break;
        case "regressed":
          log.warn({ reason: end.detail }, "etcd revision went backwards; listing again");
          break;
        case "failed":
          markUnreachable(end.error);
          break;
      }
      log.debug({ reason: end.reason, retryInMs: delayMs }, "listing again after a pause");
    },
  });

  return {
    async start() {
      if (closed) return;
      if (!listWatch.started) log.info({ endpoints: options.endpoints }, "starting etcd registry");
      const timedOut = await listWatch.start(startTimeoutMs);
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
      if (!listWatch.started) return { loaded, connected: false, detail: "not started" };
      if (!loaded)
        return { loaded, connected: false, detail: `connecting to ${options.endpoints.join(",")}` };
      const count = `${countInstances(backends)} instance(s) in ${backends.size} backend(s)`;
      if (!listWatch.watching) return { loaded, connected: true, detail: `listing ${prefix}; ${count}` };
      const from = revision === undefined ? "" : ` at revision ${revision}`;
      return { loaded, connected: true, detail: `watching ${prefix}${from}; ${count}` };
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await listWatch.close();
      entries = new Map();
      warned = new Map();
      log.info("etcd registry closed");
    },
  };
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new GatewayConfigError(option, `must be > 0, got ${value}`);
  return value;
}
