import * as grpc from "@grpc/grpc-js";
import type { CatalogMethod } from "../catalog/catalog.js";
import { type Code, errors, GatewayError } from "../errors.js";
import type { BackendInstance } from "../registry/registry.js";
import type { Cancellation } from "./cancellation.js";
import type { ChannelPool } from "./channel-pool.js";
import type { H2CallError } from "./h2-unary.js";

/** A failed backend call: the gRPC status as a GatewayError, with the trailers the backend sent. */
export class UpstreamError extends GatewayError {
  readonly trailers: grpc.Metadata;
  readonly instance: BackendInstance | undefined;
  constructor(error: grpc.ServiceError, instance: BackendInstance | undefined) {
    super(error.code as Code, error.details || grpc.status[error.code] || "backend error", { cause: error });
    this.trailers = error.metadata ?? new grpc.Metadata();
    this.instance = instance;
  }
}

export interface UnaryCallOptions {
  metadata: grpc.Metadata;
  /** Absolute deadline (epoch ms); undefined = none. */
  deadline: number | undefined;
  /** Cancelled when the HTTP client goes away: the gRPC call is cancelled at once. */
  cancellation?: Cancellation;
}

export interface UnaryResult {
  message: Buffer;
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
  instance: BackendInstance;
}

// Raw bytes in and out: the codec already produced protobuf bytes, so grpc-js must not touch them.
const passThrough = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
const keepBytes = (bytes: Buffer): Buffer => bytes;

/**
 * Calls backends: picks an instance that serves the method (round robin, skipping channels that are
 * failing to connect) and retries on another instance only when the call cannot have reached the
 * backend — a connection that was never established — never after a request may have been delivered.
 */
export class Upstream {
  readonly #pool: ChannelPool;
  readonly #cursor = new Map<string, number>();

  constructor(pool: ChannelPool) {
    this.#pool = pool;
  }

  /** Instances to try for one call, in order: the round-robin choice first, failing channels last. */
  candidates(method: CatalogMethod): BackendInstance[] {
    const all = method.instances;
    if (all.length === 0) throw errors.noInstance(method.service, "no instance serves this method");
    if (all.length === 1) return all as BackendInstance[];
    const start = (this.#cursor.get(method.path) ?? 0) % all.length;
    this.#cursor.set(method.path, start + 1);
    // One pass, round-robin order from `start`, channels that are failing to connect moved to the end.
    const healthy: BackendInstance[] = [];
    const failing: BackendInstance[] = [];
    for (let i = 0; i < all.length; i++) {
      const instance = all[(start + i) % all.length]!;
      (this.#pool.isFailing(instance) ? failing : healthy).push(instance);
    }
    return failing.length === 0 ? healthy : healthy.concat(failing);
  }

  client(instance: BackendInstance): grpc.Client {
    return this.#pool.client(instance);
  }

  async unary(method: CatalogMethod, request: Uint8Array, options: UnaryCallOptions): Promise<UnaryResult> {
    const candidates = this.candidates(method);
    let lastError: unknown;
    for (const instance of candidates) {
      try {
        return await this.#unaryOnce(instance, method.path, request, options);
      } catch (error) {
        lastError = error;
        if (!(error instanceof NotDeliveredError) || options.cancellation?.cancelled) break;
      }
    }
    if (lastError instanceof NotDeliveredError) {
      throw errors.noInstance(method.service, `${candidates.length} instance(s) unreachable`);
    }
    throw lastError;
  }

  #unaryOnce(
    instance: BackendInstance,
    path: string,
    request: Uint8Array,
    options: UnaryCallOptions,
  ): Promise<UnaryResult> {
    const lean = this.#pool.unaryTransport(instance);
    if (lean) {
      return lean
        .call(instance, path, request, {
          metadata: options.metadata,
          deadline: options.deadline,
          cancellation: options.cancellation,
          maxResponseBytes: this.#pool.maxResponseBytes,
        })
        .then(
          (result) => ({ ...result, instance }),
          (error: H2CallError) => {
            throw error.notDelivered ? new NotDeliveredError(error) : new UpstreamError(error, instance);
          },
        );
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
          reject(
            headers === undefined && neverConnected(error)
              ? new NotDeliveredError(error)
              : new UpstreamError(error, instance),
          );
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

/** The call failed before a connection to the instance existed: safe to send elsewhere. */
class NotDeliveredError extends Error {
  constructor(cause: grpc.ServiceError) {
    super(cause.details, { cause });
  }
}

// grpc-js reports a call that never got a transport as UNAVAILABLE "No connection established" (the
// channel is in TRANSIENT_FAILURE) or with the connect error itself; a dropped connection says otherwise.
function neverConnected(error: grpc.ServiceError): boolean {
  return (
    error.code === grpc.status.UNAVAILABLE &&
    /No connection established|ECONNREFUSED|connect E|Name resolution failed|getaddrinfo/i.test(
      error.details ?? "",
    )
  );
}
