/**
 * Policy and consumer documents in etcd under `--config-prefix` (issue 15): one key per document,
 * `<prefix>policies/<name>` and `<prefix>consumers/<name>`, values YAML or JSON.
 *
 * Read exactly as the registry reads backends (src/registry/etcd-registry.ts): list the prefix → watch from
 * the list's revision + 1 (runWatchSession) → on any end of the watch (compaction, cancellation, revision
 * regression, lost connection) list again after a jittered backoff. A list replaces the whole state, so
 * nothing missed while not watching lingers. While etcd is down the last known documents stay.
 */
import {
  type Etcd3,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  type IEvent,
  type IKeyValue,
} from "etcd3";
import type { Logger } from "pino";
import { createBackoff } from "../backoff.js";
import { GatewayConfigError } from "../errors.js";
import {
  createEtcdClient,
  type EtcdClientOptions,
  errorText,
  sleep,
  withTimeout,
} from "../registry/etcd-registry-client.js";
import { runWatchSession, type WatchEnd } from "../registry/etcd-registry-watch.js";
import { normalizePrefix } from "../registry/registry-value.js";
import { type ConfigSource, parseDocumentText, type SourceEntry, type SourceState } from "./config-source.js";
import type { DocumentKind } from "./validate-documents.js";

/** Default `--config-prefix`. */
export const DEFAULT_CONFIG_PREFIX = "/refract/config/";

export interface EtcdConfigSourceOptions {
  endpoints: readonly string[];
  /** `--config-prefix`; a trailing `/` is added when missing. Default `/refract/config/`. */
  prefix?: string;
  logger: Logger;
  /** Deadline of each list and of a watch's confirmation. Default 5000. */
  dialTimeoutMs?: number;
  /** How long start() waits for the first list. Default 5000. */
  startTimeoutMs?: number;
  /** First retry delay after a failure. Default 200. */
  retryInitialMs?: number;
  /** Cap of the retry delay after etcd answered with an error. Default 10000. */
  retryMaxMs?: number;
  /** Cap of the retry delay while no endpoint answers. Default 1000. */
  unreachableRetryMaxMs?: number;
  etcdOptions?: EtcdClientOptions;
  /** Test seam (internal), as in the registry: awaited after each successful list, before its watch. */
  afterListHook?: (revision: bigint) => Promise<void>;
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
  const client: Etcd3 = createEtcdClient({
    endpoints: options.endpoints,
    callTimeoutMs: dialTimeoutMs,
    ...(options.etcdOptions ? { etcdOptions: options.etcdOptions } : {}),
  });
  const log = options.logger.child({ component: "config-etcd", prefix });
  const stop = new AbortController();
  const listeners = new Set<() => void>();
  /** Documents by etcd key. */
  let byKey = new Map<string, SourceEntry>();
  let entries: readonly SourceEntry[] = [];
  /** Keys under the prefix that are not documents, warned about once per mod revision. */
  const ignored = new Map<string, string>();
  let revision: bigint | undefined;
  let loaded = false;
  let watching = false;
  let closed = false;
  let outage: { since: Date; error: string } | undefined;
  let loop: Promise<void> | undefined;
  let resolveFirstList: () => void = () => {};
  const firstList = new Promise<void>((resolve) => {
    resolveFirstList = resolve;
  });

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

  async function list(): Promise<bigint | { error: unknown }> {
    try {
      const response = await client.getAll().prefix(prefix).exec();
      const next = new Map<string, SourceEntry>();
      for (const kv of response.kvs) {
        const entry = entryOf(kv);
        if (entry) next.set(kv.key.toString("utf8"), entry);
      }
      revision = BigInt(response.header.revision);
      if (outage) log.info({ downForMs: Date.now() - outage.since.getTime() }, "etcd reachable again");
      outage = undefined;
      const first = !loaded;
      loaded = true;
      publish(next);
      if (first) resolveFirstList();
      return revision;
    } catch (error) {
      return { error };
    }
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

  async function run(): Promise<void> {
    const backoff = createBackoff(retryInitialMs, retryMaxMs);
    const unreachableBackoff = createBackoff(retryInitialMs, unreachableRetryMaxMs);
    let lastCompactionAt = 0;
    while (!stop.signal.aborted) {
      const listed = await list();
      if (stop.signal.aborted) break;
      let end: WatchEnd;
      if (typeof listed !== "bigint") end = { reason: "failed", error: listed.error };
      else {
        await options
          .afterListHook?.(listed)
          .catch((error: unknown) => log.error({ err: error }, "afterListHook"));
        end = await runWatchSession({
          client,
          prefix,
          fromRevision: listed + 1n,
          createTimeoutMs: dialTimeoutMs,
          signal: stop.signal,
          onCreated: () => {
            watching = true;
            backoff.reset();
            unreachableBackoff.reset();
          },
          onEvents: applyEvents,
        });
        watching = false;
      }
      if (stop.signal.aborted || end.reason === "closed") break;
      let delayMs = backoff.next();
      if (end.reason === "compacted") {
        // List again at once, unless compactions come in a loop.
        const now = Date.now();
        if (now - lastCompactionAt > 1_000) delayMs = 0;
        lastCompactionAt = now;
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
        if (isUnreachable(end.error)) delayMs = unreachableBackoff.next();
      } else {
        log.warn({ reason: end.detail }, "config watch ended (%s); listing again", end.reason);
      }
      await sleep(delayMs, stop.signal);
    }
  }

  return {
    id: "etcd",
    async start() {
      if (closed) return;
      loop ??= run().catch((error: unknown) =>
        log.error({ err: error }, "config etcd loop stopped unexpectedly"),
      );
      const timedOut = await withTimeout(
        firstList.then(() => false),
        startTimeoutMs,
        true,
      );
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
        detail: `${watching ? "watching" : "listing"} ${prefix}${at}; ${count}`,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      stop.abort();
      listeners.clear();
      resolveFirstList();
      await withTimeout(loop ?? Promise.resolve(), 100, undefined);
      client.close();
      byKey = new Map();
    },
  };
}

/** No endpoint answered (as the registry decides it): the short backoff applies. */
function isUnreachable(error: unknown): boolean {
  return (
    error instanceof GRPCUnavailableError ||
    error instanceof GRPCDeadlineExceededError ||
    (error instanceof Error &&
      /ECONNREFUSED|ECONNRESET|No connection established|not confirmed within/.test(error.message))
  );
}
