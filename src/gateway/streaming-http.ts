import { Readable } from "node:stream";
import type { CatalogMethod } from "../catalog/catalog.js";
import { type GatewayError, statusJson } from "../errors.js";
import { type HttpExchange, type ResolvedRoute, type UnaryReply, withPolicyHeaders } from "./gateway.js";
import { headersFromMetadata } from "./metadata.js";
import {
  type JsonStream,
  messageError,
  openJsonStream,
  type StreamContext,
  type StreamOutcome,
} from "./streaming.js";
import { type LineReader, readLines } from "./streaming-lines.js";

/**
 * Streams over plain HTTP/1.1 (CONTRACT.md §5), framework-free:
 *
 * - Server streaming (and bidi): `200` with one NDJSON line `{"result": …}` per message, or Server-Sent
 *   Events (`data: …`) when the client accepts `text/event-stream`. The status line is committed with the
 *   first message — as grpc-gateway does — so a call that fails before it gets a normal error response
 *   with the right status and its trailers as `Grpc-Trailer-*` headers. After that, a failure is a last
 *   `{"error": <Status>}` line or `event: error`. HTTP/1.1 offers no trailers a fetch or EventSource
 *   client can read, so the trailers of a committed stream are not sent (they are in the Status of the
 *   error line when the backend puts details there); its header metadata is sent as Grpc-Metadata-*.
 *   SSE streams that end OK finish with `event: end` so an EventSource can close instead of reconnecting
 *   (and replaying the call).
 * - Client streaming (and bidi): the body is NDJSON, one message per line, sent to the backend as each
 *   line arrives; a bad line ends the call with 400 "line N: …" (a last error line once committed).
 * Backpressure runs end to end: a full response socket pauses the gRPC call, a backend that does not
 * drain pauses the request socket. A client that goes away cancels the call (via the exchange's cancellation).
 */

export type StreamFormat = "ndjson" | "sse";

/** A batch of framed messages is pushed once it reaches this size (UTF-16 units, about 16 KiB). */
const FLUSH_AT_CHARS = 16 * 1024;

/** A streaming response, ready to send: the status is 200, the body a byte stream. */
export interface StreamedReply {
  /** Content type, cache rules and the backend's header metadata (plus trailers if it already ended). */
  headers: Record<string, string | string[]>;
  body: Readable;
  method: CatalogMethod;
  /**
   * Calls `listener` when the stream is over (undefined on OK, else the error that ended it), before the
   * body's last bytes are queued: the access-log line is written when the response closes, which can
   * happen in the same tick, before any promise callback would run.
   */
  onEnded(listener: (error: GatewayError | undefined) => void): void;
}

interface Framing {
  headers: Record<string, string>;
  message(json: string): string;
  error(error: GatewayError): string;
  /** Written after the last message of an OK stream. */
  end: string;
}

const FRAMINGS: Record<StreamFormat, Framing> = {
  ndjson: {
    headers: { "content-type": "application/x-ndjson" },
    message: (json) => `{"result":${json}}\n`,
    error: (error) => `{"error":${statusJson(error)}}\n`,
    end: "",
  },
  sse: {
    // x-accel-buffering: nginx would otherwise hold events back.
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" },
    message: (json) => `data: ${sseData(json)}\n\n`,
    error: (error) => `event: error\ndata: ${statusJson(error)}\n\n`,
    end: "event: end\ndata: {}\n\n",
  },
};

// The codec writes compact JSON, but a line break would end an SSE field; continue it as the spec allows.
function sseData(json: string): string {
  return /[\r\n]/.test(json) ? json.replace(/\r\n|\r|\n/g, "\ndata: ") : json;
}

/** Whether the client asked for Server-Sent Events (`Accept: text/event-stream`, not with q=0). */
export function wantsEventStream(accept: string | string[] | undefined): boolean {
  const value = Array.isArray(accept) ? accept.join(",") : (accept ?? "");
  return value.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    return type === "text/event-stream" && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

/** Server streaming: the request message is the body (JSON), the response a stream. */
export function serveServerStream(
  context: StreamContext,
  exchange: HttpExchange,
  route: ResolvedRoute,
  format: StreamFormat,
): Promise<StreamedReply> {
  // The policy chain runs first (issue 15); a method with none goes straight on.
  if (route.method.policies.length > 0) {
    return context.gateway
      .admit(exchange, route)
      .then((admitted) => streamResponse(context, exchange, admitted, format, undefined));
  }
  return streamResponse(context, exchange, route, format, undefined);
}

/** Bidi over HTTP/1.1: NDJSON lines in, a stream out, both at once (the client must read while writing). */
export function serveBidiStream(
  context: StreamContext,
  exchange: HttpExchange,
  route: ResolvedRoute,
  body: Readable | undefined,
  format: StreamFormat,
): Promise<StreamedReply> {
  if (route.method.policies.length > 0) {
    return context.gateway
      .admit(exchange, route)
      .then((admitted) => streamResponse(context, exchange, admitted, format, body ?? null));
  }
  return streamResponse(context, exchange, route, format, body ?? null);
}

/** Client streaming: NDJSON lines in, one JSON response (with trailers as Grpc-Trailer-* headers). */
export function serveClientStream(
  context: StreamContext,
  exchange: HttpExchange,
  route: ResolvedRoute,
  body: Readable | undefined,
): Promise<UnaryReply> {
  if (route.method.policies.length > 0) {
    // The body is not read until the chain let the call through.
    return context.gateway
      .admit(exchange, route)
      .then((admitted) => clientStream(context, exchange, admitted, body));
  }
  return clientStream(context, exchange, route, body);
}

function clientStream(
  context: StreamContext,
  exchange: HttpExchange,
  route: ResolvedRoute,
  body: Readable | undefined,
): Promise<UnaryReply> {
  return new Promise((resolve, reject) => {
    let response: string | undefined;
    let lines: LineReader | undefined;
    let done = false;
    const finish = (outcome: StreamOutcome): void => {
      if (done) return;
      done = true;
      lines?.stop();
      if (!outcome.ok) {
        reject(withPolicyHeaders(outcome.error, exchange));
        return;
      }
      resolve({
        headers: {
          ...headersFromMetadata(outcome.headers, outcome.trailers),
          ...exchange.policy?.context.responseHeaders,
        },
        body: response ?? "{}",
        method: route.method,
        instanceAddress: outcome.instanceAddress,
      });
    };
    const stream = openJsonStream(context, exchange, route, undefined, {
      onMessage: (json) => {
        response = json;
      },
      onDrain: () => lines?.resume(),
      onEnd: finish,
    });
    lines = sendLines(context, stream, body, (error) => {
      stream.cancel();
      finish({ ok: false, error });
    });
  });
}

/**
 * The response side shared by server and bidi streaming. `body` is the NDJSON request body of a bidi
 * call (null when it has none), undefined for server streaming, whose request is `exchange.body`.
 */
function streamResponse(
  context: StreamContext,
  exchange: HttpExchange,
  route: ResolvedRoute,
  format: StreamFormat,
  body: Readable | null | undefined,
): Promise<StreamedReply> {
  const framing = FRAMINGS[format];
  return new Promise((resolve, reject) => {
    let endedWith: { error: GatewayError | undefined } | undefined;
    let onEnded: ((error: GatewayError | undefined) => void) | undefined;
    const settle = (error: GatewayError | undefined): void => {
      endedWith = { error };
      onEnded?.(error);
    };
    const out = new ResponseBody();
    let committed = false;
    let done = false;
    let lines: LineReader | undefined;
    const commit = (headers: Record<string, string[]>): void => {
      committed = true;
      resolve({
        headers: { ...headers, ...framing.headers, ...exchange.policy?.context.responseHeaders },
        body: out,
        method: route.method,
        onEnded(listener) {
          if (endedWith) listener(endedWith.error);
          else onEnded = listener;
        },
      });
    };
    let responseHeaders: Record<string, string[]> = {};
    const finish = (outcome: StreamOutcome): void => {
      if (done) return;
      done = true;
      lines?.stop();
      if (outcome.ok) {
        if (!committed) commit(headersFromMetadata(outcome.headers, outcome.trailers));
        settle(undefined);
        out.finish(framing.end);
      } else {
        settle(outcome.error);
        if (committed) out.finish(framing.error(outcome.error));
        else reject(withPolicyHeaders(outcome.error, exchange));
      }
    };
    let stream: JsonStream;
    try {
      stream = openJsonStream(context, exchange, route, exchange.body, {
        onHeaders: (headers) => {
          responseHeaders = headersFromMetadata(headers, undefined);
        },
        onMessage: (json) => {
          if (done) return;
          if (!committed) commit(responseHeaders);
          out.add(framing.message(json));
        },
        onDrain: () => lines?.resume(),
        onEnd: finish,
      });
    } catch (error) {
      // The request message did not encode: nothing was sent to a backend.
      reject(withPolicyHeaders(error, exchange));
      return;
    }
    out.control(stream);
    if (body !== undefined) {
      lines = sendLines(context, stream, body ?? undefined, (error) => {
        stream.cancel();
        finish({ ok: false, error });
      });
    }
  });
}

/** Feeds NDJSON request lines to the call, pausing the body while the call does not drain. */
function sendLines(
  context: StreamContext,
  stream: JsonStream,
  body: Readable | undefined,
  fail: (error: GatewayError) => void,
): LineReader | undefined {
  if (body === undefined) {
    stream.end();
    return undefined;
  }
  const reader: LineReader = readLines(body, context.maxMessageBytes, {
    onLine(line, lineNumber) {
      let accepted: boolean;
      try {
        accepted = stream.write(line);
      } catch (error) {
        fail(messageError("line", lineNumber, error));
        return;
      }
      if (!accepted) reader.pause();
    },
    onEnd: () => stream.end(),
    onError: fail,
  });
  return reader;
}

/**
 * The response body: framed text pushed as messages arrive. When the consumer (the socket, through
 * pipe) stops reading, the call is paused, and resumed when it asks for more; destroyed before the end
 * (the client went away) it cancels the call.
 *
 * Messages that arrive in the same turn of the event loop leave in one chunk: one chunk per message
 * costs a chunked-encoding frame and a writev per message, which profiling showed to dominate (about
 * half of the gateway's CPU on a stream of small messages). A message waits at most until setImmediate.
 */
class ResponseBody extends Readable {
  #call: Pick<JsonStream, "pause" | "resume" | "cancel"> | undefined;
  #callPaused = false;
  #finished = false;
  #pending = "";
  #flushScheduled = false;

  constructor() {
    super({ highWaterMark: 64 * 1024 });
  }

  control(call: Pick<JsonStream, "pause" | "resume" | "cancel">): void {
    this.#call = call;
  }

  add(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= FLUSH_AT_CHARS) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushLater);
    }
  }

  finish(text: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#pending += text;
    this.#flush();
    this.push(null);
  }

  readonly #flushLater = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#pending === "" || this.destroyed) return;
    const chunk = this.#pending;
    this.#pending = "";
    if (!this.push(chunk) && !this.#callPaused) {
      this.#callPaused = true;
      this.#call?.pause();
    }
  }

  override _read(): void {
    if (this.#callPaused) {
      this.#callPaused = false;
      this.#call?.resume();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#pending = "";
    if (!this.#finished) {
      this.#finished = true;
      this.#call?.cancel();
    }
    callback(error);
  }
}
