import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import type { BackendInstance } from "../registry/registry.js";

/**
 * Unary gRPC calls written directly on node:http2, for the gateway's hot path. Hand-written on purpose:
 * a grpc-js unary call costs 168–192 µs of client CPU on this project's benchmark machine, the same call
 * on node:http2 75 µs (bench/README.md), and a gateway makes one per request. It covers what a unary
 * call needs — request headers and metadata, the 5-byte message framing, deadline (grpc-timeout plus a
 * local timer), cancellation, trailers-only answers, the HTTP-status mapping of the gRPC spec — and
 * nothing else: streams, TLS, compression to backends and reflection stay on grpc-js (ChannelPool).
 * PROTOCOL-HTTP2.md (grpc/grpc) is the reference for every rule below.
 */

export interface H2UnaryOptions {
  metadata: grpc.Metadata;
  /** Absolute deadline (epoch ms); undefined = none. */
  deadline: number | undefined;
  signal: AbortSignal | undefined;
  /** Largest response message accepted, bytes. */
  maxResponseBytes: number;
}

export interface H2UnaryResult {
  message: Buffer;
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
}

/** A failed call, shaped like grpc-js's ServiceError so the rest of the upstream layer treats both alike. */
export interface H2CallError extends grpc.ServiceError {
  /** No byte of the request can have reached the backend: the call may be sent to another instance. */
  notDelivered: boolean;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

interface Session {
  session: http2.ClientHttp2Session;
  connected: boolean;
}

/** One HTTP/2 session per instance, opened on first use and replaced when it closes or goes away. */
export class H2UnaryTransport {
  readonly #sessions = new Map<string, Session>();

  close(): void {
    for (const { session } of this.#sessions.values()) session.close();
    this.#sessions.clear();
  }

  /** Closes the session of an instance that left the registry. */
  forget(address: string): void {
    this.#sessions.get(address)?.session.close();
    this.#sessions.delete(address);
  }

  #session(address: string): Session {
    const existing = this.#sessions.get(address);
    if (existing && !existing.session.closed && !existing.session.destroyed) return existing;
    const session = http2.connect(`http://${address}`, { settings: { enablePush: false } });
    const entry: Session = { session, connected: false };
    const drop = (): void => {
      if (this.#sessions.get(address) === entry) this.#sessions.delete(address);
    };
    session.once("connect", () => {
      entry.connected = true;
    });
    // Errors reach the streams too; here the session only has to be forgotten so the next call reconnects.
    session.on("error", drop);
    session.once("close", drop);
    session.once("goaway", drop);
    session.unref();
    this.#sessions.set(address, entry);
    return entry;
  }

  call(
    instance: BackendInstance,
    path: string,
    request: Uint8Array,
    options: H2UnaryOptions,
  ): Promise<H2UnaryResult> {
    return new Promise((resolve, reject) => {
      const entry = this.#session(instance.address);
      const headers: http2.OutgoingHttpHeaders = {
        ...options.metadata.toHttp2Headers(),
        ":method": "POST",
        ":path": path,
        ":authority": instance.metadata.authority ?? instance.address,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-accept-encoding": "identity,gzip",
        "user-agent": "refract-gateway",
      };
      let timer: NodeJS.Timeout | undefined;
      if (options.deadline !== undefined) {
        const remaining = Math.max(0, Math.ceil(options.deadline - Date.now()));
        headers["grpc-timeout"] = `${Math.min(remaining, 99_999_999)}m`;
      }
      let stream: http2.ClientHttp2Stream;
      try {
        stream = entry.session.request(headers, { endStream: false });
      } catch (error) {
        reject(callError(grpc.status.UNAVAILABLE, (error as Error).message, undefined, !entry.connected));
        return;
      }
      let responseHeaders: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      let local: H2CallError | undefined;
      let streamError: Error | undefined;
      const onAbort = (): void => {
        local ??= callError(grpc.status.CANCELLED, "Cancelled on client", undefined, false);
        stream.close(NGHTTP2_CANCEL);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.deadline !== undefined) {
        timer = setTimeout(
          () => {
            local ??= callError(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded", undefined, false);
            stream.close(NGHTTP2_CANCEL);
          },
          Math.max(0, options.deadline - Date.now()),
        );
      }
      stream.on("response", (h) => {
        responseHeaders = h;
      });
      stream.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > options.maxResponseBytes + 5 && !local) {
          local = callError(
            grpc.status.RESOURCE_EXHAUSTED,
            `Received message larger than max (${received - 5} vs. ${options.maxResponseBytes})`,
            undefined,
            false,
          );
          stream.close(NGHTTP2_CANCEL);
          return;
        }
        chunks.push(chunk);
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("error", (error) => {
        streamError = error;
      });
      stream.on("close", () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (local) return reject(local);
        const outcome = settle(responseHeaders, trailers, chunks, received, options.maxResponseBytes);
        if ("error" in outcome) {
          if (outcome.error.code === grpc.status.UNAVAILABLE && responseHeaders === undefined) {
            // The stream never got an answer: refused before processing (REFUSED_STREAM, RFC 9113 §8.7)
            // or no connection at all — safe to send elsewhere.
            outcome.error.notDelivered = !entry.connected || stream.rstCode === NGHTTP2_REFUSED_STREAM;
            if (streamError) outcome.error.details = `${outcome.error.details}: ${streamError.message}`;
          }
          return reject(outcome.error);
        }
        resolve(outcome.result);
      });
      stream.end(frame(request));
    });
  }
}

/** One length-prefixed message (compressed flag 0). */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

type Outcome = { result: H2UnaryResult } | { error: H2CallError };

function settle(
  headers: http2.IncomingHttpHeaders | undefined,
  trailers: http2.IncomingHttpHeaders | undefined,
  chunks: Buffer[],
  received: number,
  maxResponseBytes: number,
): Outcome {
  if (headers === undefined)
    return { error: callError(grpc.status.UNAVAILABLE, "No response from the backend", undefined, true) };
  const httpStatus = Number(headers[":status"]);
  // A trailers-only answer carries grpc-status in the headers.
  const statusSource = trailers ?? (headers["grpc-status"] !== undefined ? headers : undefined);
  if (statusSource === undefined) {
    if (httpStatus !== 200)
      return {
        error: callError(codeFromHttpStatus(httpStatus), `HTTP status ${httpStatus}`, undefined, false),
      };
    return {
      error: callError(grpc.status.INTERNAL, "Stream closed without a gRPC status", undefined, false),
    };
  }
  const metadata = grpc.Metadata.fromHttp2Headers(statusSource);
  const code = Number(statusSource["grpc-status"]);
  if (!Number.isInteger(code)) {
    return {
      error: callError(
        httpStatus === 200 ? grpc.status.UNKNOWN : codeFromHttpStatus(httpStatus),
        "Missing grpc-status",
        metadata,
        false,
      ),
    };
  }
  if (code !== grpc.status.OK) {
    return { error: callError(code, decodeMessage(statusSource["grpc-message"]), metadata, false) };
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
  if (body.length < 5)
    return { error: callError(grpc.status.INTERNAL, "Response had no message", metadata, false) };
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) {
    return {
      error: callError(grpc.status.INTERNAL, "Response framing does not match its length", metadata, false),
    };
  }
  let message = body.subarray(5);
  if (body[0] === 1) {
    if (headers["grpc-encoding"] !== "gzip") {
      return {
        error: callError(
          grpc.status.INTERNAL,
          `Unsupported message encoding ${String(headers["grpc-encoding"])}`,
          metadata,
          false,
        ),
      };
    }
    message = gunzipSync(message, { maxOutputLength: maxResponseBytes });
  }
  return {
    result: {
      message,
      headers: grpc.Metadata.fromHttp2Headers(headers),
      trailers: metadata,
    },
  };
}

// PROTOCOL-HTTP2.md: a response without grpc-status maps its HTTP status to a gRPC code.
function codeFromHttpStatus(status: number): grpc.status {
  switch (status) {
    case 400:
      return grpc.status.INTERNAL;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.UNKNOWN;
  }
}

/** grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md, "Status-Message"). */
function decodeMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function callError(
  code: grpc.status,
  details: string,
  metadata: grpc.Metadata | undefined,
  notDelivered: boolean,
): H2CallError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: metadata ?? new grpc.Metadata(),
    notDelivered,
  });
}
