import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { decodeUtf8Body } from "../codec/json-text.js";
import { Code, errors, GatewayError } from "../errors.js";
import type { Gateway, HttpExchange, ResolvedRoute } from "../gateway/gateway.js";
import type { StreamContext } from "../gateway/streaming.js";
import {
  type StreamedReply,
  serveBidiStream,
  serveClientStream,
  serveServerStream,
  wantsEventStream,
} from "../gateway/streaming-http.js";
import type { GatewayMetrics } from "../telemetry/gateway-metrics.js";

/**
 * Fastify adapters of the streaming core: the request-body parsers that hand client and bidi streams
 * the raw request stream (so NDJSON is read line by line as it arrives, never buffered whole), the
 * route memo that lets a request be resolved once (by the parser or by the handler), and the handlers
 * that send streamed replies.
 */

export const JSON_TYPES = ["application/json"];
export const NDJSON_TYPES = ["application/x-ndjson"];

/** The streaming core's context, with its metrics hooks mapped onto GatewayMetrics. */
export function createStreamContext(options: {
  gateway: Gateway;
  metrics: GatewayMetrics;
  maxRequestBytes: number;
}): StreamContext {
  const { metrics } = options;
  return {
    gateway: options.gateway,
    maxMessageBytes: options.maxRequestBytes,
    // The backend call's own metrics come from the upstream's telemetry interceptor.
    observer: {
      message: (method, direction) => metrics.streamMessage(method.service, method.name, direction),
    },
  };
}

/** Where a request URL's path ends and its query starts. */
export function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf("?");
  return q === -1 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** Resolves each request at most once: the body parser needs the method's kind before the handler runs. */
export function createRouteMemo(gateway: Gateway): (request: FastifyRequest) => ResolvedRoute {
  const routes = new WeakMap<FastifyRequest, ResolvedRoute>();
  return (request) => {
    let route = routes.get(request);
    if (route === undefined) {
      const { path, query } = splitUrl(request.url);
      route = gateway.resolve({ verb: request.method, path, query });
      routes.set(request, route);
    }
    return route;
  };
}

/** Client and bidi streams take their request messages from the body, one per line. */
function takesMessageStream(route: ResolvedRoute): boolean {
  const { kind } = route.method;
  return kind === "client-streaming" || kind === "bidi-streaming";
}

/**
 * JSON bodies stay text for the codec (it parses with JSON paths in its errors), except for client and
 * bidi streams, which get the raw stream. NDJSON is accepted for those streams only (CONTRACT.md §1).
 * A body of an unknown route fails with its 404/405 before it is read.
 */
export function registerBodyParsers(
  app: FastifyInstance,
  options: { routeOf: (request: FastifyRequest) => ResolvedRoute; maxRequestBytes: number },
): void {
  const { routeOf, maxRequestBytes } = options;
  type Done = (error: Error | null, body?: unknown) => void;
  // Both parsers hand client and bidi streams the raw request stream; they differ in what a unary or
  // server-streaming method does with its body: JSON is read whole, NDJSON is refused.
  const parser =
    (otherwise: (request: FastifyRequest, payload: Readable, done: Done) => void) =>
    (request: FastifyRequest, payload: Readable, done: Done): void => {
      let route: ResolvedRoute;
      try {
        route = routeOf(request);
      } catch (error) {
        done(error as Error, undefined);
        return;
      }
      if (takesMessageStream(route)) done(null, payload);
      else otherwise(request, payload, done);
    };
  app.addContentTypeParser(
    JSON_TYPES,
    parser((request, payload, done) => readText(request, payload, maxRequestBytes, done)),
  );
  app.addContentTypeParser(
    NDJSON_TYPES,
    parser((request, _payload, done) =>
      done(errors.unsupportedMediaType(String(request.headers["content-type"]), JSON_TYPES), undefined),
    ),
  );
}

/**
 * The whole body as UTF-8 text, as Fastify's `parseAs: "string"` reads it: 413 when the declared or
 * received length passes the limit, 400 when the received length is not the declared one.
 */
function readText(
  request: FastifyRequest,
  payload: Readable,
  limit: number,
  done: (error: Error | null, body?: unknown) => void,
): void {
  const declared = Number(request.headers["content-length"]);
  if (declared > limit) {
    done(errors.bodyTooLarge(limit), undefined);
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  const cleanup = (): void => {
    payload.off("data", onData);
    payload.off("end", onEnd);
    payload.off("error", onError);
  };
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    const encoded = (payload as { receivedEncodedLength?: number }).receivedEncodedLength ?? 0;
    // The decoded size counts, not only the wire size (a compressed "zip bomb").
    if (received > limit || encoded > limit) {
      cleanup();
      done(errors.bodyTooLarge(limit), undefined);
      return;
    }
    chunks.push(bytes);
  };
  const onEnd = (): void => {
    cleanup();
    const encoded = (payload as { receivedEncodedLength?: number }).receivedEncodedLength;
    if (!Number.isNaN(declared) && (encoded || received) !== declared) {
      done(errors.invalidArgument("request body length differs from Content-Length"), undefined);
      return;
    }
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
    // A fatal decoder: JSON is UTF-8 (RFC 8259 §8.1), and silently turning bad bytes into U+FFFD would
    // hand the backend text the client never sent.
    let text: string;
    try {
      text = decodeUtf8Body(body);
    } catch (cause) {
      done(errors.invalidArgument((cause as Error).message, cause), undefined);
      return;
    }
    done(null, text);
  };
  const onError = (error: Error): void => {
    cleanup();
    done(new GatewayError(Code.INVALID_ARGUMENT, "the request body broke off", { cause: error }));
  };
  payload.on("data", onData);
  payload.on("end", onEnd);
  payload.on("error", onError);
  payload.resume();
}

/** Hooks the handler gives the streaming paths for the access log. */
export interface StreamTelemetry {
  noteError(error: GatewayError): void;
}

/**
 * Serves a resolved server-, client- or bidi-streaming request. Errors before a response started are
 * thrown (the error handler writes them with their status); later ones end the stream's body.
 */
export async function serveStreamingRequest(
  context: StreamContext,
  request: FastifyRequest,
  reply: FastifyReply,
  exchange: HttpExchange,
  route: ResolvedRoute,
  telemetry: StreamTelemetry,
): Promise<FastifyReply | string> {
  const format = wantsEventStream(request.headers.accept) ? "sse" : "ndjson";
  const body = isReadable(request.body) ? request.body : undefined;
  switch (route.method.kind) {
    case "server-streaming":
      return sendStreamed(reply, await serveServerStream(context, exchange, route, format), telemetry);
    case "bidi-streaming":
      return sendStreamed(reply, await serveBidiStream(context, exchange, route, body, format), telemetry);
    default: {
      const result = await serveClientStream(context, exchange, route, body);
      reply.code(200).headers(result.headers).header("content-type", "application/json; charset=utf-8");
      return result.body;
    }
  }
}

function sendStreamed(
  reply: FastifyReply,
  streamed: StreamedReply,
  telemetry: StreamTelemetry,
): FastifyReply {
  streamed.onEnded((error) => {
    if (error) telemetry.noteError(error);
  });
  return reply.code(200).headers(streamed.headers).send(streamed.body);
}

function isReadable(value: unknown): value is Readable {
  return typeof value === "object" && value !== null && typeof (value as Readable).pipe === "function";
}
