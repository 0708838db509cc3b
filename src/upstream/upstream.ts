import * as grpc from "@grpc/grpc-js";
import type { CatalogMethod } from "../catalog/catalog.js";
import { Code, GatewayError } from "../errors.js";
import type { BackendInstance, BackendSet } from "../registry/registry.js";
import { type CallFailure, failureFromGrpcJs, UpstreamError } from "./call-errors.js";
import { UpstreamCallRecord } from "./call-record.js";
import type { Cancellation } from "./cancellation.js";
import type { ChannelPool } from "./channel-pool.js";
import type { H2UnaryResult } from "./h2-unary.js";
import { InstancePicker } from "./picker.js";
import { allUnreachable, tryAnotherInstance } from "./reachability.js";
import {
  type StreamChannels,
  type StreamingCall,
  type StreamingCallHandlers,
  type StreamingCallOptions,
  startStreamingCall,
} from "./streaming-calls.js";

export { UpstreamError } from "./call-errors.js";
export { UpstreamCallRecord } from "./call-record.js";

export interface UnaryCallOptions {
  metadata: grpc.Metadata;
  /** Absolute deadline (epoch ms); undefined = none. */
  deadline: number | undefined;
  /** Cancelled when the HTTP client goes away: the gRPC call is cancelled at once. */
  cancellation?: Cancellation | undefined;
}

/** A unary call's answer: the response message, header and trailer metadata, the instance that answered. */
export type UnaryResult = H2UnaryResult;

/**
 * Watches the backend calls of the upstream (telemetry; later policies): attached once, told about every
 * call, unary or stream, instead of wrapping or subclassing the Upstream.
 */
export interface UpstreamInterceptor {
  /**
   * A call ended, after any retries: exactly once per call, also when no instance was reached.
   * `cancellation` is the request's (one per HTTP request), where per-request observations are kept.
   */
  onCallEnd(call: UpstreamCallRecord, cancellation: Cancellation | undefined): void;
}

export interface UpstreamOptions {
  pool: ChannelPool;
  /** Told about every call's end. Default none. */
  interceptors?: readonly UpstreamInterceptor[];
}

// Raw bytes in and out: the codec already produced protobuf bytes, so grpc-js must not touch them.
const passThrough = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
const keepBytes = (bytes: Buffer): Buffer => bytes;

/**
 * The one call stack to backends, unary and streaming: one instance picker (picker.ts), one retry rule
 * (reachability.ts), one error classification (call-errors.ts) and the interceptors. Unary calls to
 * plaintext instances travel on the own HTTP/2 client (h2-unary.ts), everything else on grpc-js
 * (channel-pool.ts); instances are ranked by the health of the connection the call will use.
 */
export class Upstream {
  readonly #pool: ChannelPool;
  readonly #picker = new InstancePicker();
  readonly #interceptors: readonly UpstreamInterceptor[];
  readonly #streamChannels: StreamChannels;

  constructor(options: UpstreamOptions) {
    this.#pool = options.pool;
    this.#interceptors = options.interceptors ?? [];
    const { pool } = options;
    this.#streamChannels = {
      candidates: (method) => this.#picker.candidates(method, pool.isChannelFailing),
      client: (instance) => pool.client(instance),
    };
  }

  async unary(method: CatalogMethod, request: Uint8Array, options: UnaryCallOptions): Promise<UnaryResult> {
    const started = performance.now();
    try {
      const candidates = this.#picker.candidates(method, this.#pool.isUnaryFailing);
      for (const instance of candidates) {
        let failure: unknown;
        try {
          const result = await this.#unaryOnce(instance, method.path, request, options);
          this.#ended(method, instance, Code.OK, started, false, options.cancellation);
          return result;
        } catch (error) {
          failure = error;
        }
        if ((failure as Partial<CallFailure>).notDelivered !== true) {
          throw new UpstreamError(failure as CallFailure, instance);
        }
        if (!tryAnotherInstance(failure, options.cancellation)) break;
      }
      throw allUnreachable(method, candidates.length);
    } catch (error) {
      const code = error instanceof GatewayError ? error.code : Code.UNKNOWN;
      const instance = error instanceof UpstreamError ? error.instance : undefined;
      this.#ended(method, instance, code, started, false, options.cancellation);
      throw error;
    }
  }

  /**
   * Starts a server-, client- or bidi-streaming call (its kind decides the shape; streaming-calls.ts).
   * For server streaming, `request` is the one request message and `write`/`end` must not be used.
   */
  stream(
    method: CatalogMethod,
    request: Uint8Array | undefined,
    options: StreamingCallOptions,
    handlers: StreamingCallHandlers,
  ): StreamingCall {
    if (this.#interceptors.length === 0) {
      return startStreamingCall(this.#streamChannels, method, request, options, handlers);
    }
    const started = performance.now();
    const { onEnd } = handlers;
    return startStreamingCall(this.#streamChannels, method, request, options, {
      ...handlers,
      onEnd: (end) => {
        const code = end.ok ? Code.OK : end.error.code;
        this.#ended(method, end.instance, code, started, true, options.cancellation);
        onEnd.call(handlers, end);
      },
    });
  }

  /** Closes the connections of instances no longer in the set. */
  retain(backends: BackendSet): void {
    this.#pool.retain(backends);
  }

  #ended(
    method: CatalogMethod,
    instance: BackendInstance | undefined,
    grpcCode: number,
    started: number,
    streaming: boolean,
    cancellation: Cancellation | undefined,
  ): void {
    const interceptors = this.#interceptors;
    if (interceptors.length === 0) return;
    const record = new UpstreamCallRecord(
      method,
      instance?.address,
      grpcCode,
      performance.now() - started,
      streaming,
    );
    for (const interceptor of interceptors) interceptor.onCallEnd(record, cancellation);
  }

  #unaryOnce(
    instance: BackendInstance,
    path: string,
    request: Uint8Array,
    options: UnaryCallOptions,
  ): Promise<UnaryResult> {
    const own = this.#pool.unaryTransport(instance);
    if (own) {
      return own.call(instance, path, request, {
        metadata: options.metadata,
        deadline: options.deadline,
        cancellation: options.cancellation,
        maxResponseBytes: this.#pool.maxResponseBytes,
      });
    }
    return new Promise((resolve, reject) => {
      let headers: grpc.Metadata | undefined;
      let outcome: { error: grpc.ServiceError | null; response: Buffer | undefined } | undefined;
      const callOptions: grpc.CallOptions = {};
      if (options.deadline !== undefined) callOptions.deadline = options.deadline;
      const call = this.#pool
        .client(instance)
        .makeUnaryRequest<Uint8Array, Buffer>(
          path,
          passThrough,
          keepBytes,
          request,
          options.metadata,
          callOptions,
          (error, response) => {
            outcome = { error, response };
          },
        );
      call.on("metadata", (metadata: grpc.Metadata) => {
        headers = metadata;
      });
      // grpc-js calls the callback before it emits 'status', and only the status carries the trailers:
      // the call is settled here, with everything the backend sent.
      call.on("status", (status: grpc.StatusObject) => {
        stopListening?.();
        const error = outcome?.error;
        if (error) {
          reject(failureFromGrpcJs(error, headers !== undefined));
          return;
        }
        resolve({
          message: outcome!.response!,
          headers: headers ?? new grpc.Metadata(),
          trailers: status.metadata,
          instance,
        });
      });
      const stopListening = options.cancellation?.onCancel(() => call.cancel());
    });
  }
}
