import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { FastifyServerFactory, FastifyServerFactoryHandler } from "fastify";
import type { Logger } from "pino";
import type { GatewayError } from "../errors.js";
import {
  createClientErrorHandler,
  expectationFailed,
  headerListBytes,
  headersTooLarge,
  missingHost,
  refuseRequest,
  tooManyHeaders,
} from "./listener-errors.js";

/** How the public port accepts connections. */
export interface ListenerOptions {
  /** Serve TLS with this certificate chain and key (PEM); absent = cleartext. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Serve HTTP/2 besides HTTP/1.1: ALPN `h2` with TLS, prior-knowledge h2c in cleartext. */
  http2: boolean;
  /** Largest request head accepted: HTTP/1.1 answers 431 above it, HTTP/2 advertises it as SETTINGS_MAX_HEADER_LIST_SIZE. */
  maxHeaderBytes: number;
  /**
   * Header fields an HTTP/1.1 request may have (`--max-header-count`, default 1000: Node's own count).
   * Node keeps at most its `maxHeadersCount` and drops the rest without a word, so the server keeps one
   * more than this and a request that has it is refused with 431 rather than served without some of its
   * headers.
   */
  maxHeaderCount: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of each HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** Idle keep-alive connections (HTTP/1.1) and idle HTTP/2 sessions are closed after this long. */
  idleTimeoutMs: number;
  /** Time to receive the request head; also the time a new connection gets for its TLS handshake or, in
   * cleartext, to show its protocol. */
  headersTimeoutMs: number;
  /** Time to receive a whole HTTP/1.1 request; 0 = no limit. */
  requestTimeoutMs: number;
}

/** Fastify constructor options that make its server. */
export interface ListenerServerOptions {
  serverFactory?: FastifyServerFactory;
  /** HTTP/1.1 errors before routing (431, 408, 400) with a google.rpc.Status body. */
  clientErrorHandler?: ReturnType<typeof createClientErrorHandler>;
  /** Only so that `listen()` reports an `https://` URL; the factory makes the server. */
  https?: true;
}

// RFC 9113 §3.4: a prior-knowledge HTTP/2 client starts with this preface, which no HTTP/1.1 request can.
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** What the listener adds to its server for Fastify's close and the gateway's drain. */
interface FrontServer {
  /** Fastify calls it on close: GOAWAY to every HTTP/2 session; their open streams may finish. */
  closeHttp2Sessions(): void;
}

/**
 * The public server: one port for HTTP/1.1 and HTTP/2. Fastify gets an `http.Server` (or `https.Server`)
 * so that everything built on it keeps working — WebSocket upgrades, `closeIdleConnections`, the
 * HTTP/1.1 timeouts and 431 — and HTTP/2 connections are handed from it to an internal `http2` server
 * with the same request handler:
 *
 * - TLS: ALPN offers `h2` and `http/1.1`; a socket that agreed on `h2` goes to the HTTP/2 server. (Node's
 *   `createSecureServer({ allowHTTP1 })` does the same, but then TLS and cleartext would be two different
 *   server types with different upgrade, timeout and close behaviour; this way both are the same.)
 * - Cleartext: Node 20's `http2.createServer` cannot take HTTP/1.1 (`allowHTTP1` is TLS-only), so the
 *   first bytes of each connection are read: the HTTP/2 preface goes to the HTTP/2 server, anything
 *   else to HTTP/1.1. The bytes read are put back (`unshift`); Node's HTTP/2 session reads bytes already
 *   buffered on the socket (nodejs/node#34532), so nothing is lost. h2c by `Upgrade: h2c` is not offered
 *   (RFC 9113 deprecates it); clients use prior knowledge.
 */
export function listenerServerOptions(
  options: ListenerOptions | undefined,
  logger: Logger,
): ListenerServerOptions {
  if (options === undefined) return {};
  const serverFactory: FastifyServerFactory = (handler) => createFrontServer(options, handler, logger);
  const clientErrorHandler = createClientErrorHandler(options.maxHeaderBytes);
  return options.tls
    ? { serverFactory, clientErrorHandler, https: true }
    : { serverFactory, clientErrorHandler };
}

const UPGRADE = Symbol("upgrade");

/**
 * Node hands every request with `Upgrade` and `Connection: upgrade` to the 'upgrade' listeners (here:
 * WebSockets), which answer anything but a WebSocket handshake with a plain-text 400 or 405. A server may
 * ignore an Upgrade it does not take (RFC 9110 §7.8), so these are served as the HTTP/1.1 requests they
 * also are: `Upgrade: h2c` (`curl --http2 http://…`, RFC 7540 §3.2, removed in RFC 9113) and any upgrade
 * on a method other than GET (RFC 6455 §4.1: a WebSocket handshake is a GET). Node reads `upgrade` once
 * the headers are in, hence the accessor. Node's parser still treats bytes after such a request as the
 * upgraded protocol's, so its connection is closed after the response (a pipelined request behind it
 * would otherwise be lost).
 */
class FrontIncomingMessage extends http.IncomingMessage {
  declare [UPGRADE]: boolean | undefined;
  get upgrade(): boolean {
    return this[UPGRADE] === true && !this.ignoresUpgrade;
  }
  /** An upgrade request served as HTTP/1.1 (see above). */
  get ignoresUpgrade(): boolean {
    return (
      this[UPGRADE] === true &&
      (this.method !== "GET" || String(this.headers.upgrade).toLowerCase() === "h2c")
    );
  }
  set upgrade(value: boolean) {
    this[UPGRADE] = value;
  }
}

function createFrontServer(
  options: ListenerOptions,
  handler: FastifyServerFactoryHandler,
  logger: Logger,
): http.Server {
  const http1: http.ServerOptions = {
    IncomingMessage: FrontIncomingMessage,
    maxHeaderSize: options.maxHeaderBytes,
    // Node checks the headers and request timeouts on this timer (default every 30 s, so a 10 s headers
    // timeout could take 40 s to bite); once a second is cheap and keeps the timeouts close to their values.
    connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs),
    // Node answers a missing Host itself with an empty 400; checked below to answer with a Status body.
    requireHostHeader: false,
  };
  const refuse = (response: http.ServerResponse, error: GatewayError): void => {
    logger.debug({ status: error.httpStatus, error: error.message }, "request refused before routing");
    refuseRequest(response, error);
  };
  const maxRawHeaders = options.maxHeaderCount * 2;
  const http1Handler: FastifyServerFactoryHandler = (request, response) => {
    // Errors of the head that Node lets through, checked here, once per request, not in a Fastify hook:
    // an array length and a property that Fastify reads anyway.
    if (request.rawHeaders.length > maxRawHeaders) {
      refuse(response, tooManyHeaders(options.maxHeaderCount));
      return;
    }
    if (
      request.headers.host === undefined &&
      request.httpVersionMajor === 1 &&
      request.httpVersionMinor === 1
    ) {
      refuse(response, missingHost());
      return;
    }
    if ((request as FrontIncomingMessage).ignoresUpgrade) response.shouldKeepAlive = false;
    handler(request, response);
  };
  const server = options.tls
    ? https.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ALPNProtocols: options.http2 ? ["h2", "http/1.1"] : ["http/1.1"],
          // A client that stalls the handshake is as slow as one that stalls its headers (default 120 s).
          handshakeTimeout: options.headersTimeoutMs,
          ...http1,
        },
        http1Handler,
      )
    : http.createServer(http1, http1Handler);
  server.keepAliveTimeout = options.idleTimeoutMs;
  server.headersTimeout = options.headersTimeoutMs;
  server.requestTimeout = options.requestTimeoutMs;
  // One more than the limit is kept, so that a request over it can be told from one at it.
  server.maxHeadersCount = options.maxHeaderCount + 1;
  // Without a listener Node answers a bad `Expect` with an empty 417.
  server.on("checkExpectation", (_request: http.IncomingMessage, response: http.ServerResponse) =>
    refuse(response, expectationFailed()),
  );
  if (!options.http2) return server;

  const toFastify = handler as unknown as (
    request: http2.Http2ServerRequest,
    response: http2.Http2ServerResponse,
  ) => void;
  const h2 = http2.createServer(
    {
      settings: {
        maxConcurrentStreams: options.maxConcurrentStreams,
        maxHeaderListSize: options.maxHeaderBytes,
      },
    },
    (request, response) => {
      // Node resets a stream whose header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE (ENHANCE_YOUR_CALM),
      // but only once the client has acknowledged our SETTINGS; requests sent before that get through.
      if (headerListBytes(request.rawHeaders) > options.maxHeaderBytes) {
        refuseRequest(response, headersTooLarge(options.maxHeaderBytes));
      } else toFastify(request, response);
    },
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    // close(), not destroy(): an idle session gets GOAWAY; a long quiet stream on it still finishes.
    session.setTimeout(options.idleTimeoutMs, () => session.close());
  });
  h2.on("sessionError", (error) => logger.debug({ err: error }, "HTTP/2 session error"));

  // Sockets whose first bytes have not arrived yet (cleartext only): idle by definition.
  const sniffing = new Set<Socket>();
  const toHttp1 = takeListener(server, options.tls ? "secureConnection" : "connection");
  if (options.tls) {
    server.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else toHttp1.call(server, socket);
    });
  } else {
    server.on("connection", (socket: Socket) =>
      sniffProtocol(socket, {
        timeoutMs: options.headersTimeoutMs,
        pending: sniffing,
        http1: (s) => toHttp1.call(server, s),
        http2: (s) => h2.emit("connection", s),
      }),
    );
  }

  const front = server as http.Server & FrontServer;
  front.closeHttp2Sessions = () => {
    for (const session of sessions) session.close();
  };
  const closeIdle = server.closeIdleConnections.bind(server);
  front.closeIdleConnections = () => {
    closeIdle();
    for (const socket of sniffing) socket.destroy();
  };
  // The gateway's drain calls this when the shutdown grace is over: cut HTTP/2 streams too.
  const closeAll = server.closeAllConnections.bind(server);
  front.closeAllConnections = () => {
    closeAll();
    for (const socket of sniffing) socket.destroy();
    for (const session of sessions) session.destroy();
  };
  return front;
}

/** Removes and returns Node's own connection listener, so that connections go through ours first. */
function takeListener(server: http.Server, event: "connection" | "secureConnection") {
  const listeners = server.listeners(event) as Array<(socket: Socket) => void>;
  const [listener] = listeners;
  if (listeners.length !== 1 || listener === undefined) {
    throw new Error(`expected one '${event}' listener on a new server, found ${listeners.length}`);
  }
  server.off(event, listener);
  return listener;
}

interface SniffTargets {
  timeoutMs: number;
  pending: Set<Socket>;
  http1(socket: Socket): void;
  http2(socket: Socket): void;
}

/**
 * Reads until the bytes either differ from the HTTP/2 preface (HTTP/1.1) or are the whole preface
 * (HTTP/2), then hands the socket over with the bytes put back. A connection that shows nothing within
 * the headers timeout is closed, like an HTTP/1.1 connection that sends no request head.
 */
function sniffProtocol(socket: Socket, targets: SniffTargets): void {
  let head: Buffer = Buffer.alloc(0);
  targets.pending.add(socket);
  // Until a protocol owns the socket, a reset must not become an unhandled 'error' event.
  const onError = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(() => socket.destroy(), targets.timeoutMs);
  const settle = (): void => {
    clearTimeout(timer);
    targets.pending.delete(socket);
    socket.off("data", onData);
    socket.off("close", settle);
    socket.off("error", onError);
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const compared = Math.min(head.length, H2_PREFACE.length);
    const isHttp2 = head.subarray(0, compared).equals(H2_PREFACE.subarray(0, compared));
    if (isHttp2 && compared < H2_PREFACE.length) return;
    settle();
    socket.pause();
    socket.unshift(head);
    if (isHttp2) {
      // The session reads the buffered bytes itself; resuming here would emit them to nobody.
      targets.http2(socket);
    } else {
      targets.http1(socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("close", settle);
  socket.on("error", onError);
  // HTTP servers allow half-open sockets; one that ends before saying anything is of no use.
  socket.once("end", () => {
    if (targets.pending.has(socket)) socket.destroy();
  });
}
