/**
 * Policy and consumer documents in etcd under `--config-prefix` (issue 15): one key per document,
 * `<prefix>policies/<name>` and `<prefix>consumers/<name>`, values YAML or JSON.
 *
 * Read by the same loop as the registry's backends (src/registry/etcd-list-watch.ts): list the prefix →
 * watch from the list's revision + 1 → on any end of the watch (compaction, cancellation, revision
 * regression, lost connection) list again after a jittered backoff. A list replaces the whole state, so
 * nothing missed while not watching lingers. While etcd is down the last known documents stay.
 */
import type { IEvent, IKeyValue } from "etcd3";
import { GatewayConfigError } from "../errors.js";
import { createEtcdListWatch, type EtcdSourceOptions } from "../registry/etcd-list-watch.js";
import { errorText } from "../registry/etcd-registry-client.js";
import { normalizePrefix } from "../registry/registry-value.js";
import { type ConfigSource, parseDocumentText, type SourceEntry, type SourceState } from "./config-source.js";
import type { DocumentKind } from "./validate-documents.js";

/** Default `--config-prefix`. */
export const DEFAULT_CONFIG_PREFIX = "/refract/config/";

/** The loop's options (EtcdSourceOptions, same defaults); start() resolves after `startTimeoutMs`. */
export interface EtcdConfigSourceOptions extends EtcdSourceOptions {
  /** `--config-prefix`; a trailing `/` is added when missing. Default `/refract/config/`. */
  prefix?: string;
}

/** `policies/<name>` or `consumers/<name>` after the prefix; anything else is not a document key. */
export function parseConfigKey(
  key: string,
  prefix: string,
): { kind: DocumentKind; name: string } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const match = /^(policies|consumers)\/([^/]+)$/.exec(key.slice(prefix.length));
  return match ? { kind: match[1] as DocumentKind, name: match[2]! } : undefined;
}

export function createEtcdConfigSource(options: EtcdConfigSourceOptions): ConfigSource {
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_CONFIG_PREFIX);
  if (prefix === "/") throw new GatewayConfigError("config-prefix", "must not be empty or /");
  const dialTimeoutMs = options.dialTimeoutMs ?? 5_000;
  const startTimeoutMs = options.startTimeoutMs ?? 5_000;
  const retryInitialMs = options.retryInitialMs ?? 200;
  const retryMaxMs = Math.max(retryInitialMs, options.retryMaxMs ?? 10_000);
  const unreachableRetryMaxMs = Math.max(retryInitialMs, options.unreachableRetryMaxMs ?? 1_000);
  const log = options.logger.child({ component: "config-etcd", prefix });
  const listeners = new Set<() => void>();
  /** Documents by etcd key. */
  let byKey = new Map<string, SourceEntry>();
  let entries: readonly SourceEntry[] = [];
  /** Keys under the prefix that are not documents, warned about once per mod revision. */
  const ignored = new Map<string, string>();
  let revision: bigint | undefined;
  let loaded = false;
  let closed = false;
  let outage: { since: Date; error: string } | undefined;

  function entryOf(kv: IKeyValue): SourceEntry | undefined {
    const key = kv.key.toString("utf8");
    const parsedKey = parseConfigKey(key, prefix);
    if (!parsedKey) {
      if (ignored.get(key) !== kv.mod_revision) {
        ignored.set(key, kv.mod_revision);
        log.warn({ key }, "ignoring a key under the config prefix: want policies/<name> or consumers/<name>");
      }
      return undefined;
    }
    const parsed = parseDocumentText(kv.value.toString("utf8"));
    const common = {
      kind: parsedKey.kind,
      name: parsedKey.name,
      origin: `etcd key ${key}`,
      version: kv.mod_revision,
      expectedName: parsedKey.name,
    };
    return "problem" in parsed
      ? { ...common, value: undefined, parseProblem: parsed.problem }
      : { ...common, value: parsed.value };
  }

  function publish(next: Map<string, SourceEntry>): void {
    const before = byKey;
    byKey = next;
    const changed =
      before.size !== next.size ||
      [...next].some(([key, entry]) => before.get(key)?.version !== entry.version);
    if (!changed) return;
    entries = Object.freeze([...next.values()]);
    for (const listener of [...listeners]) listener();
  }

  function applyList(kvs: readonly IKeyValue[], listRevision: bigint): void {
    const next = new Map<string, SourceEntry>();
    for (const kv of kvs) {
      const entry = entryOf(kv);
      if (entry) next.set(kv.key.toString("utf8"), entry);
    }
    revision = listRevision;
    if (outage) log.info({ downForMs: Date.now() - outage.since.getTime() }, "etcd reachable again");
    outage = undefined;
    loaded = true;
    publish(next);
  }

  function applyEvents(events: readonly IEvent[], headerRevision: bigint): void {
    revision = headerRevision;
    if (events.length === 0) return;
    const next = new Map(byKey);
    for (const event of events) {
      const key = event.kv.key.toString("utf8");
      // proto-loader delivers PUT / DELETE; the typings say Put / Delete.
      if (String(event.type).toUpperCase() === "DELETE") {
        next.delete(key);
        ignored.delete(key);
        continue;
      }
      const entry = entryOf(event.kv);
      if (entry) next.set(key, entry);
    }
    publish(next);
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
    loopFailedMessage: "config etcd loop stopped unexpectedly",
    afterListHook: options.afterListHook,
    onList: applyList,
    onEvents: applyEvents,
    onEnd: (end) => {
      if (end.reason === "compacted") {
        log.info(
          { compactRevision: end.compactRevision.toString() },
          "config watch compacted; listing again",
        );
      } else if (end.reason === "failed") {
        const text = errorText(end.error);
        if (!outage) {
          outage = { since: new Date(), error: text };
          log.warn({ err: text }, "etcd unreachable; keeping the last known policies and consumers");
        } else outage.error = text;
      } else {
        log.warn({ reason: end.detail }, "config watch ended (%s); listing again", end.reason);
      }
    },
  });

  return {
    id: "etcd",
    async start() {
      if (closed) return;
      const timedOut = await listWatch.start(startTimeoutMs);
      if (timedOut && !loaded && !closed) {
        log.warn({ startTimeoutMs }, "etcd not reachable at start; no policies from etcd until it answers");
      }
    },
    entries: () => entries,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    state(): SourceState {
      const count = `${entries.length} document(s)`;
      const base = { source: "etcd" as const, loaded };
      if (closed) return { ...base, healthy: false, detail: "closed" };
      if (outage) {
        const kept = loaded ? `keeping the last known ${count}` : "nothing loaded yet";
        return {
          ...base,
          healthy: false,
          detail: `etcd unreachable since ${outage.since.toISOString()}: ${outage.error}; ${kept}`,
        };
      }
      if (!loaded) return { ...base, healthy: false, detail: `connecting to ${options.endpoints.join(",")}` };
      const at = revision === undefined ? "" : ` at revision ${revision}`;
      return {
        ...base,
        healthy: true,
        detail: `${listWatch.watching ? "watching" : "listing"} ${prefix}${at}; ${count}`,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await listWatch.close();
      byKey = new Map();
    },
  };
}
