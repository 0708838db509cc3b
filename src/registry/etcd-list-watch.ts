/**
 * The one etcd list-then-watch loop (ARCHITECTURE.md "etcd is list-then-watch"), shared by the backend
 * registry (etcd-registry.ts) and the policy/consumer documents (src/config-store/etcd-config-source.ts).
 *
 * List the prefix (remember the revision) → watch from revision + 1 (runWatchSession) → on any end of the
 * watch (compaction, cancellation, revision regression, lost connection) list again, after a capped,
 * jittered exponential backoff: none for a first compaction, a short cap while no endpoint answers
 * (issue 13). A list replaces the caller's whole state, so nothing missed while not watching can linger.
 *
 * It also owns what goes with the loop: the etcd client, start() waiting for the first list, close().
 * What a list or an event does with the key/values, and what an end is logged as (and how an outage is
 * recorded), stays with the caller: the two differ in state, messages and health texts.
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
import { createEtcdClient, type EtcdClientOptions, sleep, withTimeout } from "./etcd-registry-client.js";
import { runWatchSession, type WatchEnd } from "./etcd-registry-watch.js";

/**
 * The options of an etcd-backed source (the registry, the config source) that go to this loop; each
 * source adds its own `prefix` and applies these defaults.
 */
export interface EtcdSourceOptions {
  /** `http(s)://host:port` of each etcd member (`--etcd`). */
  endpoints: readonly string[];
  logger: Logger;
  /** Deadline for each list and for etcd to confirm a watch. Default 5000. */
  dialTimeoutMs?: number;
  /** How long start() waits for the first list before resolving with what is known. Default 5000. */
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
  /** TLS credentials, auth, extra grpc options for the etcd3 client. */
  etcdOptions?: EtcdClientOptions;
  /**
   * Test seam (internal): awaited after each successful list, before its watch is created. Lets a test
   * compact etcd past the list's revision deterministically — in production that window is a few ms.
   */
  afterListHook?: (revision: bigint) => Promise<void>;
}

export interface EtcdListWatchOptions {
  /** `http(s)://host:port` of each etcd member; the client is created at once (bad endpoints throw). */
  endpoints: readonly string[];
  /** TLS credentials, auth, extra grpc options for the etcd3 client. */
  etcdOptions?: EtcdClientOptions | undefined;
  prefix: string;
  /** Deadline for each list and for etcd to confirm a watch. */
  dialTimeoutMs: number;
  /** First retry delay after a failure. */
  retryInitialMs: number;
  /** Cap of the retry delay after etcd answered with an error (overloaded, refusing). */
  retryMaxMs: number;
  /** Cap of the retry delay while no endpoint answers at all (issue 13). */
  unreachableRetryMaxMs: number;
  log: Logger;
  /** Logged at error if the loop itself throws (a bug: it handles every etcd failure). */
  loopFailedMessage: string;
  /**
   * A successful list: replace the whole state with `kvs`. Throwing counts as a failed list (`failed`
   * end), as a failing etcd call does.
   */
  onList(kvs: readonly IKeyValue[], revision: bigint): void;
  /** A batch of watch events (possibly empty: a progress notification), with the header's revision. */
  onEvents(events: readonly IEvent[], revision: bigint): void;
  /** The watch from `fromRevision` exists; `revision` is the store's revision at creation. */
  onCreated?(revision: bigint, fromRevision: bigint): void;
  /**
   * The list or watch ended for `end.reason` (never `closed`); the loop lists again after `delayMs`.
   * Log it and, for `failed`, record the outage.
   */
  onEnd(end: Exclude<WatchEnd, { reason: "closed" }>, delayMs: number): void;
  /** Test seam (internal): awaited after each successful list, before its watch is created. */
  afterListHook?: ((revision: bigint) => Promise<void>) | undefined;
}

export interface EtcdListWatch {
  /**
   * Starts the loop on the first call. Resolves once a list has succeeded (false), or after `timeoutMs`
   * (true) while the loop keeps retrying in the background; never rejects.
   */
  start(timeoutMs: number): Promise<boolean>;
  /** start() has been called. */
  readonly started: boolean;
  /** A watch is established (between its creation and its end). */
  readonly watching: boolean;
  /** Stops the loop and closes the client; returns promptly even while etcd is down. */
  close(): Promise<void>;
}

/** Creates the client and the loop; nothing connects before start(). */
export function createEtcdListWatch(options: EtcdListWatchOptions): EtcdListWatch {
  const { prefix, log } = options;
  const client: Etcd3 = createEtcdClient({
    endpoints: options.endpoints,
    callTimeoutMs: options.dialTimeoutMs,
    ...(options.etcdOptions ? { etcdOptions: options.etcdOptions } : {}),
  });
  const stop = new AbortController();
  const { signal } = stop;
  let watching = false;
  let loop: Promise<void> | undefined;
  let resolveFirstList: () => void = () => {};
  const firstList = new Promise<void>((resolve) => {
    resolveFirstList = resolve;
  });

  /** Lists the prefix and hands it to onList; returns the list's revision, or the failure. */
  async function list(): Promise<bigint | { error: unknown }> {
    try {
      const response = await client.getAll().prefix(prefix).exec();
      const revision = BigInt(response.header.revision);
      options.onList(response.kvs, revision);
      resolveFirstList();
      return revision;
    } catch (error) {
      return { error };
    }
  }

  async function run(): Promise<void> {
    const backoff = createBackoff(options.retryInitialMs, options.retryMaxMs);
    const unreachableBackoff = createBackoff(options.retryInitialMs, options.unreachableRetryMaxMs);
    let lastCompactionAt = 0;
    while (!signal.aborted) {
      const listed = await list();
      if (signal.aborted) break;
      let end: WatchEnd;
      if (typeof listed !== "bigint") {
        end = { reason: "failed", error: listed.error };
      } else {
        await options
          .afterListHook?.(listed)
          .catch((error: unknown) => log.error({ err: error }, "afterListHook"));
        const fromRevision = listed + 1n;
        end = await runWatchSession({
          client,
          prefix,
          fromRevision,
          createTimeoutMs: options.dialTimeoutMs,
          signal,
          onCreated: (createdRevision) => {
            watching = true;
            backoff.reset();
            unreachableBackoff.reset();
            options.onCreated?.(createdRevision, fromRevision);
          },
          onEvents: options.onEvents,
        });
        watching = false;
      }
      if (signal.aborted || end.reason === "closed") break;

      let delayMs = backoff.next();
      if (end.reason === "compacted") {
        // Expected after etcd compacts past our revision (e.g. a long outage with auto-compaction): list
        // again at once; only a compaction loop gets the backoff.
        const now = Date.now();
        if (now - lastCompactionAt > 1_000) delayMs = 0;
        lastCompactionAt = now;
      } else if (end.reason === "failed" && isUnreachable(end.error)) {
        delayMs = unreachableBackoff.next();
      }
      options.onEnd(end, delayMs);
      await sleep(delayMs, signal);
    }
  }

  return {
    start(timeoutMs) {
      loop ??= run().catch((error: unknown) => log.error({ err: error }, options.loopFailedMessage));
      return withTimeout(
        firstList.then(() => false),
        timeoutMs,
        true,
      );
    },
    get started() {
      return loop !== undefined;
    },
    get watching() {
      return watching;
    },
    async close() {
      stop.abort();
      resolveFirstList();
      // The loop ends at its next await (sleeps and the watch listen to `stop`; an in-flight list is
      // bounded by its deadline), so do not wait long for it: close() must return promptly with etcd down.
      await withTimeout(loop ?? Promise.resolve(), 100, undefined);
      client.close();
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
