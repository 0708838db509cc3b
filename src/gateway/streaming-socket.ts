import { Code, errors, GatewayError, toGatewayError } from "../errors.js";
import type { Gateway, HttpExchange, ResolvedRoute } from "./gateway.js";
import { type JsonStream, messageError, openJsonStream, type StreamContext } from "./streaming.js";

/**
 * Every call kind over one WebSocket (CONTRACT.md §5), framework-free: one JSON message per text frame
 * each way. For unary and server streaming the first client frame is the request; for client and bidi
 * streaming every non-empty text frame is a request message and an empty one half-closes. The gateway
 * closes with 1000 on OK, otherwise 4000 + the gRPC code and the status message as the reason; a bad
 * frame (binary, malformed JSON, a second request) closes with 4003 naming the frame number. The client
 * closing the socket cancels the call. WebSocket has no place for response metadata after the upgrade,
 * so header and trailer metadata are not sent on this transport.
 */

/** The socket as the session needs it (the server adapts `ws` to it). */
export interface FrameSocket {
  /** Sends one text frame; `sent` runs once it was handed to the OS (or failed). */
  send(text: string, sent: () => void): void;
  /** Bytes accepted by `send` but not yet written to the socket. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
  /** Stops reading frames (TCP backpressure to the client) until `resume`. */
  pause(): void;
  resume(): void;
}

export interface SocketSession {
  /** One frame from the client: its text, or undefined for a binary frame. */
  frame(text: string | undefined): void;
  /** The socket closed (the client closed it or the connection dropped). */
  closed(): void;
}

export interface SocketSessionOptions {
  context: StreamContext;
  /** The upgrade request; its cancellation is cancelled by the caller when the socket closes. */
  exchange: HttpExchange;
  socket: FrameSocket;
  /** The route, when the upgrade already resolved it (and its policy chain admitted it). Default: resolved here. */
  route?: ResolvedRoute;
  /** The method was resolved (for the access log). */
  onRoute?(route: ResolvedRoute): void;
  /** The session is over: undefined when the call ended OK. */
  onEnd?(error: GatewayError | undefined): void;
}

/** Pause the backend call above this many unsent bytes; resume below the low mark. */
const SEND_HIGH_WATER_BYTES = 512 * 1024;
const SEND_LOW_WATER_BYTES = 128 * 1024;
/** RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of them the close code. */
const MAX_CLOSE_REASON_BYTES = 123;

export function openSocketSession(options: SocketSessionOptions): SocketSession {
  const { context, exchange, socket } = options;
  let frames = 0;
  let finished = false;
  let stream: JsonStream | undefined;
  let requestTaken = false;
  let halfClosed = false;
  let readingPaused = false;
  let sendingPaused = false;

  const finish = (error: GatewayError | undefined): void => {
    if (finished) return;
    finished = true;
    if (error) socket.close(closeCodeFor(error.code), closeReason(error.message));
    else socket.close(1000, "");
    options.onEnd?.(error);
  };
  const fail = (error: GatewayError): void => {
    stream?.cancel();
    finish(error);
  };

  let route: ResolvedRoute;
  try {
    route = options.route ?? resolveSocketRoute(context.gateway, exchange);
  } catch (error) {
    finish(toGatewayError(error));
    return { frame() {}, closed() {} };
  }
  options.onRoute?.(route);
  if (route.method.policies.length > 0 && exchange.policy === undefined) {
    // The method gained policies between the upgrade's check and now (a config change): never unchecked.
    finish(new GatewayError(Code.UNAVAILABLE, "the method's policies changed during the upgrade; reconnect"));
    return { frame() {}, closed() {} };
  }
  const { kind } = route.method;
  const oneRequest = kind === "unary" || kind === "server-streaming";

  const open = (request: string | undefined): JsonStream =>
    openJsonStream(context, exchange, route, request, {
      onMessage(json) {
        if (finished) return;
        socket.send(json, onSent);
        if (!sendingPaused && socket.bufferedAmount > SEND_HIGH_WATER_BYTES) {
          sendingPaused = true;
          stream?.pause();
        }
      },
      onDrain() {
        if (readingPaused) {
          readingPaused = false;
          socket.resume();
        }
      },
      onEnd: (outcome) => finish(outcome.ok ? undefined : outcome.error),
    });
  const onSent = (): void => {
    if (sendingPaused && socket.bufferedAmount <= SEND_LOW_WATER_BYTES) {
      sendingPaused = false;
      stream?.resume();
    }
  };

  const callUnary = (text: string): void => {
    context.gateway.unary({ ...exchange, body: text }, route).then(
      (reply) => {
        if (finished) return;
        socket.send(reply.body, () => {});
        finish(undefined);
      },
      (error: unknown) => finish(toGatewayError(error)),
    );
  };

  // Client and bidi streams start at once, so the backend sees the call (and its metadata) on open.
  if (!oneRequest) stream = open(undefined);

  return {
    frame(text) {
      if (finished) return;
      const n = ++frames;
      if (text === undefined) {
        fail(
          messageError("frame", n, errors.invalidArgument("binary frames are not supported; send JSON text")),
        );
        return;
      }
      if (oneRequest) {
        if (!requestTaken) {
          requestTaken = true;
          if (kind === "unary") return callUnary(text);
          try {
            stream = open(text);
          } catch (error) {
            fail(messageError("frame", n, error));
          }
          return;
        }
        // An empty frame after the request is a redundant half-close; anything else is a second request.
        if (text !== "") {
          fail(
            messageError(
              "frame",
              n,
              errors.invalidArgument(`${route.method.fullName} takes one request message`),
            ),
          );
        }
        return;
      }
      if (text === "") {
        if (!halfClosed) {
          halfClosed = true;
          stream?.end();
        }
        return;
      }
      if (halfClosed) {
        fail(
          messageError("frame", n, errors.invalidArgument("message sent after the half-close (empty frame)")),
        );
        return;
      }
      try {
        if (stream && !stream.write(text) && !readingPaused) {
          readingPaused = true;
          socket.pause();
        }
      } catch (error) {
        fail(messageError("frame", n, error));
      }
    },
    closed() {
      if (finished) return;
      finished = true;
      stream?.cancel();
      options.onEnd?.(new GatewayError(Code.CANCELLED, "the client closed the WebSocket"));
    },
  };
}

/**
 * The method a WebSocket upgrade (always a GET) addresses: a default route (`/pkg.Svc/Method`, a POST
 * route for plain HTTP), else a REST binding for GET, else the one binding of that path if it has a
 * single verb (so `POST /v1/books:import` can be streamed over a socket too).
 */
export function resolveSocketRoute(
  gateway: Gateway,
  exchange: Pick<HttpExchange, "path" | "query">,
): ResolvedRoute {
  const { path, query } = exchange;
  if (gateway.snapshot().methodsByPath.has(path)) return gateway.resolve({ verb: "POST", path, query });
  try {
    return gateway.resolve({ verb: "GET", path, query });
  } catch (error) {
    const allow = error instanceof GatewayError && error.httpStatus === 405 ? error.headers.allow : undefined;
    const verbs = typeof allow === "string" ? allow.split(",").map((v) => v.trim()) : [];
    if (verbs.length === 1 && verbs[0]) return gateway.resolve({ verb: verbs[0], path, query });
    throw error;
  }
}

/** 1000 for OK, 4000 + the gRPC code otherwise (4005 NOT_FOUND); private-use range per RFC 6455 §7.4.2. */
export function closeCodeFor(code: number): number {
  return code === Code.OK ? 1000 : 4000 + code;
}

/** The status message cut to fit a close frame (≤ 123 bytes of UTF-8), never inside a character. */
export function closeReason(message: string): string {
  if (Buffer.byteLength(message) <= MAX_CLOSE_REASON_BYTES) return message;
  let bytes = 0;
  let out = "";
  for (const char of message) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    bytes += size;
    out += char;
  }
  return out;
}
