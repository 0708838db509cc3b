import type * as grpc from "@grpc/grpc-js";
import type { CatalogMethod } from "../catalog/catalog.js";
import { GatewayError, toGatewayError } from "../errors.js";
import type { StreamingCall } from "../upstream/streaming-calls.js";
import type { Gateway, HttpExchange, ResolvedRoute } from "./gateway.js";

/**
 * The framework-free core shared by the streaming front ends (HTTP in streaming-http.ts, WebSocket in
 * streaming-socket.ts): starting a backend call for a resolved route with the request's metadata and
 * deadline (CONTRACT.md §4 — the same policy as unary calls, so streams too get the default deadline
 * unless the client sends Grpc-Timeout), mapping its end to the client-facing error, and counting
 * messages for metrics. The backend call itself is the upstream's (`Upstream.stream`), timed by its
 * telemetry interceptor like a unary call.
 */

/** Metrics hooks of the streaming paths (the server maps them onto GatewayMetrics). */
export interface StreamObserver {
  /** A message crossed a stream: `received` from the client, `sent` to it. */
  message(method: CatalogMethod, direction: "sent" | "received"): void;
}

export const NOOP_STREAM_OBSERVER: StreamObserver = Object.freeze({
  message() {},
});

/** What the streaming front ends need besides the request itself. */
export interface StreamContext {
  gateway: Gateway;
  observer: StreamObserver;
  /** Longest accepted request line (NDJSON) or frame, in bytes: the request body limit. */
  maxMessageBytes: number;
}

/** How a stream ended, as the client sees it. */
export type StreamOutcome =
  | {
      readonly ok: true;
      readonly headers: grpc.Metadata | undefined;
      readonly trailers: grpc.Metadata;
      readonly instanceAddress: string;
    }
  | { readonly ok: false; readonly error: GatewayError };

export interface StreamEvents {
  onHeaders?(headers: grpc.Metadata): void;
  /** One response message, already decoded to JSON text (`response_body` applied). */
  onMessage(json: string): void;
  onDrain?(): void;
  /** Exactly once, last; errors are already client-facing (Grpc-Trailer-* headers, no causes). */
  onEnd(outcome: StreamOutcome): void;
}

/** A started streaming call that speaks JSON text; `write` takes the request message's JSON text. */
export interface JsonStream {
  readonly method: CatalogMethod;
  /**
   * Encodes and sends one request message; throws the codec's 400 (the caller adds the line or frame
   * number). Returns false when the caller should wait for `onDrain`.
   */
  write(jsonText: string): boolean;
  end(): void;
  cancel(): void;
  pause(): void;
  resume(): void;
}

/**
 * Starts the backend call of `route`. For server streaming `request` is the JSON text of the one request
 * message (encoded here, so a bad body throws before anything is sent); the other kinds take messages
 * through `write`.
 */
export function openJsonStream(
  context: StreamContext,
  exchange: HttpExchange,
  route: ResolvedRoute,
  request: string | undefined,
  events: StreamEvents,
): JsonStream {
  const { gateway, observer } = context;
  const { method } = route;
  const requestBytes = method.kind === "server-streaming" ? route.encode(request) : undefined;
  const metadata = gateway.metadata(exchange);
  const deadline = gateway.deadline(exchange, true);
  let headers: grpc.Metadata | undefined;
  let ended = false;
  const end = (outcome: StreamOutcome): void => {
    if (ended) return;
    ended = true;
    events.onEnd(outcome);
  };
  // Handlers never run synchronously inside Upstream.stream, so they may use `call`.
  const call: StreamingCall = gateway.upstream.stream(
    method,
    requestBytes,
    { metadata, deadline, cancellation: exchange.cancellation },
    {
      onHeaders(received) {
        headers = received;
        events.onHeaders?.(received);
      },
      onMessage(message) {
        if (ended) return;
        let json: string;
        try {
          json = route.decode(message);
        } catch (error) {
          // A response the backend's own schema cannot render: the stream cannot go on truthfully.
          call.cancel();
          end({ ok: false, error: toGatewayError(error) });
          return;
        }
        observer.message(method, "sent");
        events.onMessage(json);
      },
      onDrain() {
        events.onDrain?.();
      },
      onEnd(result) {
        if (result.ok) {
          end({ ok: true, headers, trailers: result.trailers, instanceAddress: result.instance.address });
        } else end({ ok: false, error: clientFacing(gateway, method, result.error) });
      },
    },
  );
  return {
    method,
    write(jsonText) {
      const bytes = route.encode(jsonText);
      observer.message(method, "received");
      return call.write(bytes);
    },
    end: () => call.end(),
    cancel: () => call.cancel(),
    pause: () => call.pause(),
    resume: () => call.resume(),
  };
}

function clientFacing(gateway: Gateway, method: CatalogMethod, error: unknown): GatewayError {
  const mapped = gateway.callFailed(method, error);
  return mapped instanceof GatewayError ? mapped : toGatewayError(mapped);
}

/** A 400 (or the codec's own code) for request message number `n`: "line 3: …", "frame 2: …". */
export function messageError(unit: "line" | "frame", n: number, error: unknown): GatewayError {
  const cause = toGatewayError(error);
  return new GatewayError(cause.code, `${unit} ${n}: ${cause.message}`, {
    details: cause.details,
    httpStatus: cause.httpStatus,
    cause: error,
  });
}
