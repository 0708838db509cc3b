import type { UpstreamCallRecord } from "./call-record.js";

/**
 * The cancellation of one request's backend call: the server cancels it when the client goes away, the
 * call in flight listens. Not AbortController: Node's AbortSignal is an EventTarget, and making one per
 * request with a listener costs ~5 µs of CPU (bench/README.md) — a request's whole HPACK and framing work
 * costs less. This is the part of it the gateway uses.
 */
export class Cancellation {
  /**
   * The request's backend call once it ended, kept here by the telemetry interceptor for the access-log
   * line: the one per-request object the upstream sees, instead of a WeakMap keyed by it (issue 14).
   */
  lastCall: UpstreamCallRecord | undefined = undefined;
  #cancelled = false;
  #listeners: Array<() => void> | undefined;

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Cancels once; listeners run in the order they were added. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /** Runs `listener` when cancelled (never if it is removed first); returns the removal. */
  onCancel(listener: () => void): () => void {
    if (this.#cancelled) return noop;
    this.#listeners ??= [];
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.#listeners!.splice(index, 1);
    };
  }
}

const noop = (): void => {};
