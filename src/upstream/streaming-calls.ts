import * as grpc from "@grpc/grpc-js";
import type { CatalogMethod } from "../catalog/catalog.js";
import { Code, GatewayError } from "../errors.js";
import type { BackendInstance } from "../registry/registry.js";
import { failureFromGrpcJs, UpstreamError } from "./call-errors.js";
import type { Cancellation } from "./cancellation.js";
import { allUnreachable, tryAnotherInstance } from "./reachability.js";

/**
 * Server-, client- and bidi-streaming calls to backends with raw protobuf bytes each way, behind one
 * push-style interface: the caller writes request messages, gets response messages, headers and exactly
 * one end. Flow control is explicit — `write()` returns false until `onDrain`, and `pause()`/`resume()`
 * stop grpc-js from reading, which lets HTTP/2 flow control slow the backend down.
 *
 * Started by `Upstream.stream`, which picks the instances (picker.ts). A call moves to the next instance
 * only by the upstream's one retry rule (reachability.ts): it cannot have reached the backend — it failed
 * as "never connected" (call-errors.ts) before any response headers. The request messages written until
 * then are replayed there, so they are kept while the instance's channel is not READY — bounded by
 * MAX_REPLAY_BYTES; past that the call is not retried. (Write callbacks cannot tell delivery: grpc-js's
 * own retry layer acknowledges writes into its buffer before any transport exists.)
 */

/** Request bytes kept for a replay on another instance; beyond this the call is not moved. */
const MAX_REPLAY_BYTES = 1024 * 1024;

export interface StreamingCallOptions {
  metadata: grpc.Metadata;
  /** Absolute deadline (epoch ms); undefined = none. */
  deadline: number | undefined;
  /** Cancelled when the client goes away: the call is cancelled at once. */
  cancellation?: Cancellation;
}

/** How a call ended: OK with the backend's trailers, or the error the client should see. */
export type StreamEnd =
  | { readonly ok: true; readonly trailers: grpc.Metadata; readonly instance: BackendInstance }
  | { readonly ok: false; readonly error: GatewayError; readonly instance: BackendInstance | undefined };

export interface StreamingCallHandlers {
  /** The backend's response header metadata; once, before the first message. */
  onHeaders?(headers: grpc.Metadata, instance: BackendInstance): void;
  /** One response message (for client streaming: the single response, just before `onEnd`). */
  onMessage(message: Buffer): void;
  /** The call accepts writes again after `write()` returned false. */
  onDrain?(): void;
  /** Exactly once, after every message. */
  onEnd(end: StreamEnd): void;
}

/** An open streaming call. */
export interface StreamingCall {
  /** Sends one request message; false = wait for `onDrain` before writing more. */
  write(message: Uint8Array): boolean;
  /** Half-closes: no more request messages. */
  end(): void;
  /** Cancels the call (CANCELLED); `onEnd` follows without the messages still buffered. */
  cancel(): void;
  /** Stops delivering response messages (the backend is slowed by HTTP/2 flow control). */
  pause(): void;
  resume(): void;
}

/** What a streaming call needs of the upstream: the instances to try, in order, and their channels. */
export interface StreamChannels {
  /** Throws the 503 when no instance serves the method. */
  candidates(method: CatalogMethod): BackendInstance[];
  client(instance: BackendInstance): grpc.Client;
}

/** What one attempt (one instance) saw: headers mean it was delivered; the error grpc-js reported. */
interface Attempt {
  headers: grpc.Metadata | undefined;
  error: unknown;
}

type GrpcStream =
  | grpc.ClientReadableStream<Buffer>
  | grpc.ClientWritableStream<Uint8Array>
  | grpc.ClientDuplexStream<Uint8Array, Buffer>;

// Raw bytes in and out: the codec already produced protobuf bytes, so grpc-js must not touch them.
const passThrough = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
const keepBytes = (bytes: Buffer): Buffer => bytes;

/**
 * Starts a streaming call of `method` (its kind decides the grpc-js call shape). For server streaming,
 * `request` is the one request message and `write`/`end` must not be used.
 */
export function startStreamingCall(
  upstream: StreamChannels,
  method: CatalogMethod,
  request: Uint8Array | undefined,
  options: StreamingCallOptions,
  handlers: StreamingCallHandlers,
): StreamingCall {
  return new RetryingStreamingCall(upstream, method, request, options, handlers);
}

class RetryingStreamingCall implements StreamingCall {
  readonly #upstream: StreamChannels;
  readonly #method: CatalogMethod;
  readonly #request: Uint8Array | undefined;
  readonly #options: StreamingCallOptions;
  readonly #handlers: StreamingCallHandlers;
  readonly #candidates: BackendInstance[] = [];
  #attempt = -1;
  #call: GrpcStream | undefined;
  /**
   * Request messages written while the call may not have reached an instance; undefined once the
   * channel was READY at a write (nothing to replay: a failure then is no "never connected"), or when
   * the messages outgrew MAX_REPLAY_BYTES (then the call cannot move).
   */
  #replay: Uint8Array[] | undefined = [];
  #replayBytes = 0;
  #halfClosed = false;
  #paused = false;
  #cancelled = false;
  #finished = false;

  constructor(
    upstream: StreamChannels,
    method: CatalogMethod,
    request: Uint8Array | undefined,
    options: StreamingCallOptions,
    handlers: StreamingCallHandlers,
  ) {
    this.#upstream = upstream;
    this.#method = method;
    this.#request = request;
    this.#options = options;
    this.#handlers = handlers;
    try {
      this.#candidates = upstream.candidates(method);
    } catch (error) {
      // No instance at all: report through onEnd, like every other failure, but not re-entrantly.
      queueMicrotask(() => this.#finish({ ok: false, error: error as GatewayError, instance: undefined }));
      return;
    }
    if (options.cancellation?.cancelled) {
      queueMicrotask(() => this.cancel());
      return;
    }
    this.#stopListening = options.cancellation?.onCancel(this.#onAbort);
    this.#next();
  }

  write(message: Uint8Array): boolean {
    if (this.#finished || this.#call === undefined || !("write" in this.#call)) return true;
    if (this.#replay !== undefined) this.#keepForReplay(message);
    return this.#call.write(message);
  }

  end(): void {
    if (this.#halfClosed) return;
    this.#halfClosed = true;
    if (!this.#finished && this.#call !== undefined && "end" in this.#call) this.#call.end();
  }

  cancel(): void {
    this.#cancelled = true;
    if (this.#call === undefined) {
      this.#finish({ ok: false, error: new GatewayError(Code.CANCELLED, "cancelled"), instance: undefined });
      return;
    }
    this.#call.cancel();
  }

  pause(): void {
    this.#paused = true;
    if (this.#call !== undefined && "pause" in this.#call) this.#call.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#call !== undefined && "resume" in this.#call) this.#call.resume();
  }

  #stopListening: (() => void) | undefined;
  readonly #onAbort = (): void => this.cancel();

  /** Starts the call on the next candidate instance and replays what was written so far. */
  #next(): void {
    this.#attempt++;
    const instance = this.#candidates[this.#attempt]!;
    const client = this.#upstream.client(instance);
    const callOptions: grpc.CallOptions = {};
    if (this.#options.deadline !== undefined) callOptions.deadline = this.#options.deadline;
    const metadata = this.#options.metadata.clone();
    const path = this.#method.path;
    // One attempt's state: events of an abandoned attempt must not reach the handlers.
    const attempt: Attempt = { headers: undefined, error: undefined };
    let call: GrpcStream;
    let response: Buffer | undefined;
    let status: grpc.StatusObject | undefined;
    let readEnded = false;
    const isCurrent = (): boolean => this.#call === call;
    const settle = (): void => {
      if (!isCurrent() || status === undefined) return;
      // Messages already buffered are delivered before the end, unless the caller cancelled.
      if (!readEnded && !this.#cancelled && "read" in call) return;
      if (response !== undefined) this.#handlers.onMessage(response);
      this.#ended(instance, status, attempt);
    };

    switch (this.#method.kind) {
      case "server-streaming":
        call = client.makeServerStreamRequest<Uint8Array, Buffer>(
          path,
          passThrough,
          keepBytes,
          this.#request ?? new Uint8Array(),
          metadata,
          callOptions,
        );
        break;
      case "client-streaming":
        call = client.makeClientStreamRequest<Uint8Array, Buffer>(
          path,
          passThrough,
          keepBytes,
          metadata,
          callOptions,
          (error, message) => {
            if (error) attempt.error = error;
            else response = message;
          },
        );
        break;
      default:
        call = client.makeBidiStreamRequest<Uint8Array, Buffer>(
          path,
          passThrough,
          keepBytes,
          metadata,
          callOptions,
        );
    }
    this.#call = call;
    call.on("metadata", (headers: grpc.Metadata) => {
      attempt.headers = headers;
      if (!isCurrent()) return;
      this.#replay = undefined; // answered: this call can no longer move
      this.#handlers.onHeaders?.(headers, instance);
    });
    call.on("error", (error: unknown) => {
      attempt.error = error;
    });
    call.on("status", (received: grpc.StatusObject) => {
      status = received;
      settle();
    });
    if ("read" in call) {
      call.on("data", (message: Buffer) => {
        if (isCurrent()) this.#handlers.onMessage(message);
      });
      call.on("end", () => {
        readEnded = true;
        settle();
      });
      if (this.#paused) call.pause();
    }
    if ("write" in call) {
      call.on("drain", () => {
        if (isCurrent()) this.#handlers.onDrain?.();
      });
      let accepting = true;
      for (const message of this.#replay ?? []) accepting = call.write(message);
      if (this.#halfClosed) call.end();
      // A caller waiting for a drain of the abandoned attempt would otherwise wait forever.
      if (accepting && this.#attempt > 0) queueMicrotask(() => this.#handlers.onDrain?.());
    }
  }

  #keepForReplay(message: Uint8Array): void {
    const instance = this.#candidates[this.#attempt]!;
    const ready =
      this.#upstream.client(instance).getChannel().getConnectivityState(false) ===
      grpc.connectivityState.READY;
    if (ready || this.#replayBytes + message.length > MAX_REPLAY_BYTES) {
      this.#replay = undefined;
      return;
    }
    this.#replay!.push(message);
    this.#replayBytes += message.length;
  }

  #ended(instance: BackendInstance, status: grpc.StatusObject, attempt: Attempt): void {
    if (status.code === grpc.status.OK) {
      this.#finish({ ok: true, trailers: status.metadata, instance });
      return;
    }
    const failure = failureFromGrpcJs(serviceError(attempt.error, status), attempt.headers !== undefined);
    // Moving also needs every request message written so far (see #replay).
    if (
      this.#replay !== undefined &&
      !this.#cancelled &&
      tryAnotherInstance(failure, this.#options.cancellation)
    ) {
      if (this.#attempt + 1 < this.#candidates.length) {
        this.#next();
        return;
      }
      this.#finish({
        ok: false,
        error: allUnreachable(this.#method, this.#candidates.length),
        instance: undefined,
      });
      return;
    }
    this.#finish({ ok: false, error: new UpstreamError(failure, instance), instance });
  }

  #finish(end: StreamEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#replay = undefined;
    this.#stopListening?.();
    this.#handlers.onEnd(end);
  }
}

/** The ServiceError grpc-js reported, or one made from the status (grpc-js emits 'error' before 'status'). */
function serviceError(error: unknown, status: grpc.StatusObject): grpc.ServiceError {
  if (error instanceof Error && typeof (error as grpc.ServiceError).code === "number") {
    return error as grpc.ServiceError;
  }
  return Object.assign(new Error(`${status.code} ${grpc.status[status.code]}: ${status.details}`), {
    code: status.code,
    details: status.details,
    metadata: status.metadata,
  });
}
