import type { Duplex } from "node:stream";
import type { WebsocketPluginOptions } from "@fastify/websocket";
import type { FastifyRequest } from "fastify";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import type { CatalogMethod } from "../catalog/catalog.js";
import { Code, GatewayError } from "../errors.js";
import type { HttpExchange, ResolvedRoute } from "../gateway/gateway.js";
import type { StreamContext } from "../gateway/streaming.js";
import { type FrameSocket, openSocketSession, resolveSocketRoute } from "../gateway/streaming-socket.js";
import { Cancellation } from "../upstream/cancellation.js";
import { splitUrl } from "./body-parsers-and-streams.js";
import { answerOnSocket } from "./listener-errors.js";

/**
 * The WebSocket adapter: `GET` + `Upgrade` on any gateway path opens a socket whose frames are handed
 * to the framework-free session (src/gateway/streaming-socket.ts). @fastify/websocket runs the upgrade
 * through Fastify's routing first, so hooks (request id, telemetry) see it like any request.
 */

/** Options of @fastify/websocket: frames above the body limit are refused by `ws` (close 1009). */
export function websocketPluginOptions(maxRequestBytes: number): WebsocketPluginOptions {
  return {
    options: { maxPayload: maxRequestBytes },
    // A client that vanishes without a close frame is ordinary; not an error-level event.
    errorHandler(error, socket, request) {
      request.log.info({ err: error }, "websocket error");
      socket.terminate();
    },
  };
}

/**
 * Handshakes `ws` refuses (a missing or malformed Sec-WebSocket-Key, an unknown version, a bad
 * subprotocol list) get a Status body (CONTRACT.md §3) instead of ws's plain-text one. With a
 * 'wsClientError' listener ws leaves the answer to it; the socket is closed either way.
 */
export function answerBadHandshakes(server: WebSocketServer): void {
  server.on("wsClientError", (error: Error, socket: Duplex) => {
    // RFC 6455 §4.4: a refused version is answered with the versions the server speaks.
    const headers = /version/i.test(error.message) ? { "sec-websocket-version": "13, 8" } : undefined;
    const message = `WebSocket handshake refused: ${error.message}`;
    answerOnSocket(socket, new GatewayError(Code.INVALID_ARGUMENT, message, headers ? { headers } : {}));
  });
}

export interface SocketTelemetry {
  /** The request's cancellation: lets the telemetry find the backend call of a unary method. */
  start(cancellation: Cancellation): void;
  method(method: CatalogMethod): void;
  error(error: GatewayError): void;
}

/** The exchange of a WebSocket upgrade request (its cancellation is cancelled when the socket closes). */
function socketExchange(request: FastifyRequest): HttpExchange {
  const { path, query } = splitUrl(request.url);
  return {
    verb: "GET",
    path,
    query,
    headers: request.headers,
    body: undefined,
    requestId: request.id,
    remoteAddress: request.ip,
    cancellation: new Cancellation(),
    log: request.log,
  };
}

/** An upgrade the policy chain let through (issue 15): the exchange and route the socket goes on with. */
export interface AdmittedUpgrade {
  readonly exchange: HttpExchange;
  readonly route: ResolvedRoute;
}

/**
 * Runs the policy chain of the method a WebSocket upgrade addresses, before the upgrade (issue 15: for
 * WebSockets, at the start): a refusal is thrown, so the handshake is answered with the refusal's status,
 * headers (`WWW-Authenticate`, `Retry-After`) and Status body instead of `101`. Returns undefined — and
 * costs nothing more — when the path routes to no method (the session reports that after the upgrade, as
 * before) or the method has no policies.
 */
export async function admitUpgrade(
  context: StreamContext,
  request: FastifyRequest,
): Promise<AdmittedUpgrade | undefined> {
  const exchange = socketExchange(request);
  let route: ResolvedRoute;
  try {
    route = resolveSocketRoute(context.gateway, exchange);
  } catch {
    return undefined;
  }
  if (route.method.policies.length === 0) return undefined;
  return { exchange, route: await context.gateway.admit(exchange, route) };
}

/** Serves one upgraded socket until the call ends or the client goes away. */
export function serveWebSocket(
  context: StreamContext,
  socket: WebSocket,
  request: FastifyRequest,
  telemetry: SocketTelemetry,
  admitted?: AdmittedUpgrade,
): void {
  const exchange = admitted?.exchange ?? socketExchange(request);
  const { cancellation } = exchange;
  telemetry.start(cancellation);
  // Frames sent in one turn of the event loop leave in one writev: `ws` writes each frame on its own,
  // which costs a syscall per message (half of the CPU on streams of small messages, when profiled).
  // `_socket` is ws's underlying net.Socket — not public API, so batching is skipped if it is absent.
  const raw = (socket as unknown as { _socket?: Duplex })._socket;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    raw?.uncork();
  };
  const frames: FrameSocket = {
    send: (text, sent) => {
      if (raw && !corked) {
        corked = true;
        raw.cork();
        setImmediate(uncork);
      }
      socket.send(text, () => sent());
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    close: (code, reason) => socket.close(code, reason),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
  const session = openSocketSession({
    context,
    exchange,
    socket: frames,
    ...(admitted ? { route: admitted.route } : {}),
    onRoute: (route) => telemetry.method(route.method),
    onEnd: (error) => {
      if (error) telemetry.error(error);
    },
  });
  socket.on("message", (data: RawData, isBinary: boolean) => {
    session.frame(isBinary ? undefined : textOf(data));
  });
  socket.on("close", () => {
    cancellation.cancel();
    session.closed();
  });
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
