import type http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import type { BackendInstance } from "../registry/registry.js";
import { type CallFailure, callFailure, codeFromResetCode, statusOfResponse } from "./call-errors.js";
import type { Cancellation } from "./cancellation.js";
import { H2Connection, H2Error, type H2Stream, headerBlock, type StreamEnd } from "./h2-connection.js";

/**
 * Unary gRPC calls on the gateway's own HTTP/2 connection (h2-connection.ts), for the hot path.
 * Hand-written on purpose: a grpc-js unary call costs 168–192 µs of client CPU on this project's
 * benchmark machine, the same call on node:http2 ~85 µs and on h2-connection.ts ~12 µs
 * (bench/README.md), and a gateway makes one per request. It covers what a unary call needs — request
 * headers and metadata, the 5-byte message framing, deadline (grpc-timeout plus a local timer),
 * cancellation, trailers-only answers, the HTTP-status mapping of the gRPC spec — and nothing else:
 * streams, TLS and compression to backends stay on grpc-js (ChannelPool), reflection has its own channels.
 * PROTOCOL-HTTP2.md (grpc/grpc) is the reference for every rule below.
 */

export interface H2UnaryOptions {
  metadata: grpc.Metadata;
  /** Absolute deadline (epoch ms); undefined = none. */
  deadline: number | undefined;
  cancellation: Cancellation | undefined;
  /** Largest response message accepted, bytes. */
  maxResponseBytes: number;
}

export interface H2UnaryResult {
  message: Buffer;
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
  /** The instance that answered. */
  instance: BackendInstance;
}

/** A failed call (call-errors.ts), shaped like grpc-js's ServiceError so both transports are treated alike. */
export type H2CallError = CallFailure;

interface ConnectionEntry {
  connection: H2Connection;
  /** Encoded `:authority` and the fixed request headers, for the authority last used. */
  authority: string;
  fixedFields: Buffer;
  /** RFC 9113 §6.5.2 size of the fields every call carries (those in fixedFields, :method, :scheme). */
  fixedListSize: number;
}

/** :method POST and :scheme http, both indexed from the HPACK static table (RFC 7541 Appendix A). */
const METHOD_AND_SCHEME = Buffer.from([0x83, 0x86]);
/** The fields every call carries after :authority. */
const FIXED_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ["grpc-accept-encoding", "identity,gzip"],
  ["user-agent", "refract-gateway"],
];
/** RFC 9113 §6.5.2: a field counts its name and value octets plus 32. */
const FIELD_OVERHEAD = 32;
const PATH_FIELD_SIZE = ":path".length + FIELD_OVERHEAD;

/** Reconnect backoff of a failing address (gRPC connection-backoff.md: 1 s initial, ×1.6, 120 s max, ±20 %). */
const RECONNECT_INITIAL_MS = 1_000;
const RECONNECT_MULTIPLIER = 1.6;
const RECONNECT_MAX_MS = 120_000;
const RECONNECT_JITTER = 0.2;

/** An address whose last connection never got established, until one does. */
interface Failing {
  attempts: number;
  /** The `:authority` the last connection used, for the reconnect. */
  authority: string;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One HTTP/2 connection per instance, opened on first use and replaced when it closes or goes away.
 * Its health is that connection's: an address whose last connection was never established is failing
 * (the instance picker tries it last) and is reconnected in the background with gRPC's backoff until a
 * connection succeeds — as a grpc-js channel in TRANSIENT_FAILURE does, so that a backend that comes
 * back is used again without a call having to find out.
 */
export class H2UnaryTransport {
  readonly #connections = new Map<string, ConnectionEntry>();
  readonly #failing = new Map<string, Failing>();
  readonly #maxHeaderListBytes: number | undefined;
  #closed = false;

  /** `maxHeaderListBytes`: largest response header list taken from a backend (H2Connection's default: 256 KiB). */
  constructor(options: { maxHeaderListBytes?: number | undefined } = {}) {
    this.#maxHeaderListBytes = options.maxHeaderListBytes;
  }

  close(): void {
    this.#closed = true;
    for (const { connection } of this.#connections.values()) connection.close();
    this.#connections.clear();
    for (const failing of this.#failing.values()) clearTimeout(failing.timer);
    this.#failing.clear();
  }

  /** Closes the connections (and stops the reconnects) of addresses no instance has any more. */
  retain(addresses: ReadonlySet<string>): void {
    for (const address of [...this.#connections.keys(), ...this.#failing.keys()]) {
      if (!addresses.has(address)) this.#forget(address);
    }
  }

  #forget(address: string): void {
    const entry = this.#connections.get(address);
    this.#connections.delete(address);
    entry?.connection.close();
    clearTimeout(this.#failing.get(address)?.timer);
    this.#failing.delete(address);
  }

  /** Whether the last connection to `address` was never established (and none has been since). */
  isFailing(address: string): boolean {
    return this.#failing.size !== 0 && this.#failing.has(address);
  }

  #connection(address: string, authority: string): ConnectionEntry {
    const existing = this.#connections.get(address);
    if (existing?.connection.usable) {
      if (existing.authority !== authority) {
        existing.authority = authority;
        existing.fixedFields = fixedFields(authority);
        existing.fixedListSize = fixedListSize(authority);
      }
      return existing;
    }
    const connection = new H2Connection({
      ...splitAddress(address),
      maxHeaderListBytes: this.#maxHeaderListBytes,
    });
    const entry: ConnectionEntry = {
      connection,
      authority,
      fixedFields: fixedFields(authority),
      fixedListSize: fixedListSize(authority),
    };
    connection.onConnect = () => {
      const failing = this.#failing.get(address);
      if (failing === undefined) return;
      clearTimeout(failing.timer);
      this.#failing.delete(address);
    };
    connection.onRetire = () => {
      if (this.#connections.get(address) !== entry) return;
      this.#connections.delete(address);
      if (!connection.connected) this.#connectFailed(address, entry.authority);
    };
    this.#connections.set(address, entry);
    return entry;
  }

  /** A connection to `address` ended without being established: failing, reconnect after the backoff. */
  #connectFailed(address: string, authority: string): void {
    if (this.#closed) return;
    let failing = this.#failing.get(address);
    if (failing === undefined) {
      failing = { attempts: 0, authority, timer: undefined };
      this.#failing.set(address, failing);
    }
    failing.authority = authority;
    clearTimeout(failing.timer);
    const ceiling = Math.min(
      RECONNECT_MAX_MS,
      RECONNECT_INITIAL_MS * RECONNECT_MULTIPLIER ** failing.attempts,
    );
    failing.attempts++;
    const delay = ceiling * (1 + RECONNECT_JITTER * (Math.random() * 2 - 1));
    const state = failing;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      const entry = this.#connections.get(address);
      // A call may have opened a connection meanwhile; else open one with the authority last used.
      if (this.#failing.get(address) === state && entry === undefined) {
        this.#connection(address, state.authority);
      }
    }, delay).unref();
  }

  call(
    instance: BackendInstance,
    path: string,
    request: Uint8Array,
    options: H2UnaryOptions,
  ): Promise<H2UnaryResult> {
    return new Promise((resolve, reject) => {
      if (options.cancellation?.cancelled) {
        reject(callFailure(grpc.status.CANCELLED, "Cancelled on client", undefined, false));
        return;
      }
      const entry = this.#connection(instance.address, instance.metadata.authority ?? instance.address);
      const { connection } = entry;
      const perCall: Array<[string, string]> = [];
      // Counted as the fields are gathered; the connection checks it against the backend's limit.
      let headerListSize = entry.fixedListSize + PATH_FIELD_SIZE + path.length;
      if (options.deadline !== undefined) {
        const remaining = Math.max(0, Math.ceil(options.deadline - Date.now()));
        const timeout = `${Math.min(remaining, 99_999_999)}m`;
        perCall.push(["grpc-timeout", timeout]);
        headerListSize += "grpc-timeout".length + timeout.length + FIELD_OVERHEAD;
      }
      const metadata = options.metadata.toHttp2Headers();
      for (const name in metadata) {
        const value = metadata[name];
        if (Array.isArray(value)) {
          for (const one of value) {
            perCall.push([name, one]);
            headerListSize += name.length + one.length + FIELD_OVERHEAD;
          }
        } else if (value !== undefined) {
          const one = String(value);
          perCall.push([name, one]);
          headerListSize += name.length + one.length + FIELD_OVERHEAD;
        }
      }
      const block = Buffer.concat([
        headerBlock([[":path", path]], METHOD_AND_SCHEME),
        entry.fixedFields,
        headerBlock(perCall),
      ]);
      let timer: NodeJS.Timeout | undefined;
      let local: CallFailure | undefined;
      const abandon = (error: CallFailure): void => {
        if (local) return;
        local = error;
        connection.cancel(stream);
        settleLocal();
      };
      let stopListening: (() => void) | undefined;
      const settleLocal = (): void => {
        clearTimeout(timer);
        stopListening?.();
        if (local) reject(local);
      };
      const stream: H2Stream = {
        id: 0,
        headerListSize,
        headers: undefined,
        trailers: undefined,
        chunks: [],
        received: 0,
        onEnd: (ended, end) => {
          if (local) return;
          clearTimeout(timer);
          stopListening?.();
          const outcome = settle(ended, end, instance, options.maxResponseBytes, connection.connected);
          if ("error" in outcome) reject(outcome.error);
          else resolve(outcome.result);
        },
      };
      stopListening = options.cancellation?.onCancel(() =>
        abandon(callFailure(grpc.status.CANCELLED, "Cancelled on client", undefined, false)),
      );
      if (options.deadline !== undefined) {
        timer = setTimeout(
          () => abandon(callFailure(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded", undefined, false)),
          Math.max(0, options.deadline - Date.now()),
        );
      }
      connection.request(stream, block, frame(request), options.maxResponseBytes + 5);
    });
  }
}

/** `:authority` and the headers every call carries, encoded once per connection. */
function fixedFields(authority: string): Buffer {
  return headerBlock([[":authority", authority], ...FIXED_FIELDS]);
}

/** The header list size of fixedFields(authority) plus :method POST and :scheme http. */
function fixedListSize(authority: string): number {
  let size = ":authority".length + authority.length + FIELD_OVERHEAD;
  const always: ReadonlyArray<readonly [string, string]> = [
    [":method", "POST"],
    [":scheme", "http"],
    ...FIXED_FIELDS,
  ];
  for (const [name, value] of always) size += name.length + value.length + FIELD_OVERHEAD;
  return size;
}

/** host:port, [v6]:port → connect options. */
function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  return {
    host: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host,
    port: Number(address.slice(colon + 1)),
  };
}

/** Decoded header fields (names and values alternating) as the header object grpc-js reads. */
function headerObject(fields: string[]): http2.IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[name] = [previous, value];
  }
  return out;
}

/** One length-prefixed message (compressed flag 0). */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

type Outcome = { result: H2UnaryResult } | { error: CallFailure };

function settle(
  stream: H2Stream,
  end: StreamEnd,
  instance: BackendInstance,
  maxResponseBytes: number,
  connected: boolean,
): Outcome {
  if (end.kind === "connection") {
    return { error: callFailure(grpc.status.UNAVAILABLE, end.message, undefined, end.notDelivered) };
  }
  if (end.kind === "headerListTooLarge") {
    // The client's headers are at fault, and any instance of the backend would refuse them alike: no
    // retry elsewhere. The message names the limit, not the backend.
    return {
      error: callFailure(
        grpc.status.INVALID_ARGUMENT,
        `Request headers of ${stream.headerListSize} bytes exceed the backend's limit of ${end.limit} bytes (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE)`,
        undefined,
        false,
      ),
    };
  }
  if (end.kind === "reset") {
    if (stream.received > maxResponseBytes + 5) {
      return {
        error: callFailure(
          grpc.status.RESOURCE_EXHAUSTED,
          `Received message larger than max (${stream.received - 5} vs. ${maxResponseBytes})`,
          undefined,
          false,
        ),
      };
    }
    // REFUSED_STREAM: the backend did not process the stream (RFC 9113 §8.7), safe to send elsewhere.
    const refused = end.code === H2Error.RefusedStream;
    if (stream.headers === undefined) {
      return {
        error: callFailure(
          grpc.status.UNAVAILABLE,
          `Stream reset by the backend (HTTP/2 error ${end.code})`,
          undefined,
          refused || !connected,
        ),
      };
    }
    if (stream.trailers === undefined) {
      return {
        error: callFailure(
          codeFromResetCode(end.code),
          `Stream reset by the backend (HTTP/2 error ${end.code})`,
          undefined,
          false,
        ),
      };
    }
  }
  if (stream.headers === undefined) {
    return { error: callFailure(grpc.status.INTERNAL, "Response without headers", undefined, false) };
  }
  const headers = headerObject(stream.headers);
  const status = statusOfResponse(
    headers,
    stream.trailers === undefined ? undefined : headerObject(stream.trailers),
  );
  if (!(status instanceof grpc.Metadata)) return { error: status };
  const { chunks, received } = stream;
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
  if (body.length < 5)
    return { error: callFailure(grpc.status.INTERNAL, "Response had no message", status, false) };
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) {
    return {
      error: callFailure(grpc.status.INTERNAL, "Response framing does not match its length", status, false),
    };
  }
  let message = body.subarray(5);
  if (body[0] === 1) {
    if (headers["grpc-encoding"] !== "gzip") {
      return {
        error: callFailure(
          grpc.status.INTERNAL,
          `Unsupported message encoding ${String(headers["grpc-encoding"])}`,
          status,
          false,
        ),
      };
    }
    message = gunzipSync(message, { maxOutputLength: maxResponseBytes });
  }
  return {
    result: { message, headers: grpc.Metadata.fromHttp2Headers(headers), trailers: status, instance },
  };
}
