/**
 * One watch session over a raw etcd Watch stream: create one watch on a prefix from a revision, report
 * events, and end — with the reason — at the first thing that is not a plain event.
 *
 * Why not etcd3's `client.watch()` builder: its WatchManager reconnects by itself and re-creates watchers
 * from the revision of the last *header* it saw (including the `created` response's header, which is the
 * store's current revision, not the last event delivered), so events can be skipped silently across a
 * reconnect; it also turns the compaction response into a generic "Watcher canceled" error without the
 * compact revision. Here a session never resumes: every end leads the registry back to a full list.
 */
import { type Etcd3, type IEvent, type IWatchResponse, Range } from "etcd3";

/** Why a session ended. Everything but `closed` makes the registry list again. */
export type WatchEnd =
  | { readonly reason: "closed" }
  /** The start revision was compacted away (watch fails with `compact_revision`). */
  | { readonly reason: "compacted"; readonly compactRevision: bigint }
  /** etcd cancelled the watch for another reason (`cancel_reason`, e.g. permission denied, leader lost). */
  | { readonly reason: "canceled"; readonly detail: string }
  /** The store's revision went backwards (etcd restored from backup or wiped): our revision means nothing. */
  | { readonly reason: "regressed"; readonly detail: string }
  /** The stream broke or could not be opened: etcd is (probably) unreachable. */
  | { readonly reason: "failed"; readonly error: unknown };

export interface WatchSessionOptions {
  client: Etcd3;
  prefix: string;
  /** First revision to deliver: the list's revision + 1. */
  fromRevision: bigint;
  /** How long to wait for etcd to confirm the watch. */
  createTimeoutMs: number;
  /** Aborting ends the session with `closed`. */
  signal: AbortSignal;
  /** The watch exists; `revision` is the store's revision at creation. */
  onCreated(revision: bigint): void;
  /** A batch of events (possibly empty: a progress notification), with the response header's revision. */
  onEvents(events: readonly IEvent[], revision: bigint): void;
}

/** Runs one session to its end. Never rejects; errors thrown by the callbacks end it as `failed`. */
export async function runWatchSession(options: WatchSessionOptions): Promise<WatchEnd> {
  const { signal } = options;
  if (signal.aborted) return { reason: "closed" };
  let stream: Awaited<ReturnType<Etcd3["watchClient"]["watch"]>>;
  try {
    stream = await options.client.watchClient.watch();
  } catch (error) {
    return { reason: "failed", error };
  }
  const opened = stream;

  return new Promise<WatchEnd>((resolve) => {
    let settled = false;
    let created = false;
    let lastRevision = options.fromRevision - 1n;

    const finish = (end: WatchEnd) => {
      if (settled) return;
      settled = true;
      clearTimeout(createTimer);
      signal.removeEventListener("abort", onAbort);
      // cancel() makes grpc-js emit a CANCELLED error; the listeners below stay attached (and ignore it
      // through `settled`) so no 'error' event is ever emitted without a listener. end() first: etcd3's
      // own listener reports errors of still-writable streams to its pool, which treats CANCELLED as a
      // host failure and tears down every client of that host.
      try {
        opened.end();
        opened.cancel();
      } catch {
        // already closed
      }
      resolve(end);
    };
    const onAbort = () => finish({ reason: "closed" });
    const createTimer = setTimeout(
      () =>
        finish({
          reason: "failed",
          error: new Error(`watch not confirmed within ${options.createTimeoutMs} ms`),
        }),
      options.createTimeoutMs,
    );

    const handle = (response: IWatchResponse) => {
      const revision = BigInt(response.header?.revision ?? "0");
      const compactRevision = BigInt(response.compact_revision || "0");
      if (compactRevision > 0n) return finish({ reason: "compacted", compactRevision });
      if (response.canceled) {
        return finish({ reason: "canceled", detail: response.cancel_reason || "no reason given" });
      }
      if (revision < lastRevision) {
        // Watching from a revision the store has not reached yet is legal in etcd and simply waits, so a
        // store that went backwards would look like silence forever. Treat it as a reason to list again.
        return finish({
          reason: "regressed",
          detail: `etcd revision went back from ${lastRevision} to ${revision}`,
        });
      }
      lastRevision = revision;
      if (response.created) {
        created = true;
        clearTimeout(createTimer);
        options.onCreated(revision);
        return;
      }
      if (!created) return finish({ reason: "failed", error: new Error("watch event before creation") });
      options.onEvents(response.events ?? [], revision);
    };

    opened.on("data", (response: IWatchResponse) => {
      if (settled) return;
      try {
        handle(response);
      } catch (error) {
        finish({ reason: "failed", error });
      }
    });
    opened.on("error", (error: Error) => finish({ reason: "failed", error }));
    opened.on("end", () => finish({ reason: "failed", error: new Error("etcd closed the watch stream") }));
    // The signal may have fired while the stream was being opened; listeners added now would never run.
    if (signal.aborted) return finish({ reason: "closed" });
    signal.addEventListener("abort", onAbort, { once: true });

    const range = Range.prefix(options.prefix);
    try {
      opened.write({
        create_request: {
          key: range.start,
          range_end: range.end,
          start_revision: options.fromRevision.toString(),
          // Periodic empty responses carry the current revision, so our revision keeps up even when
          // nothing under the prefix changes (and a later compaction is less likely to pass it).
          progress_notify: true,
        },
      });
    } catch (error) {
      finish({ reason: "failed", error });
    }
  });
}
