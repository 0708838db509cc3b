import { randomUUID } from "node:crypto";
import websocket from "@fastify/websocket";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { ChildLoggerOptions, Logger } from "pino";
import { type DocsRoutesOptions, registerDocsRoutes } from "../docs/docs-routes.js";
import { Code, errorResponse, errors, GatewayError, toGatewayError } from "../errors.js";
import type { Gateway, HttpExchange } from "../gateway/gateway.js";
import { NOOP_METRICS } from "../telemetry/gateway-metrics.js";
import { lazyChildLogger } from "../telemetry/logger.js";
import {
  installRequestTelemetry,
  type RequestTelemetry,
  type RequestTelemetryOptions,
} from "../telemetry/request-telemetry.js";
import { Cancellation } from "../upstream/cancellation.js";
import {
  createRouteMemo,
  createStreamContext,
  registerBodyParsers,
  serveStreamingRequest,
  splitUrl,
} from "./body-parsers-and-streams.js";
import { type FrontOptions, frontServerOptions, registerFrontPlugins } from "./front-plugins.js";
import {
  type AdmittedUpgrade,
  admitUpgrade,
  answerBadHandshakes,
  serveWebSocket,
  websocketPluginOptions,
} from "./websocket.js";

export interface PublicAppOptions {
  gateway: Gateway;
  logger: Logger;
  /** Request body limit in bytes (413 above it). */
  maxRequestBytes: number;
  /** Metrics and access-log inputs (one log line per request is written either way). */
  telemetry?: RequestTelemetryOptions;
  /** Serve `GET /openapi.json` and `GET /docs` (CONTRACT.md §1). Default: not served. */
  docs?: DocsRoutesOptions;
  /** HTTP/2, TLS, CORS, compression and limits of the public port. Default: plain Fastify HTTP/1.1. */
  front?: FrontOptions;
}

const JSON_TYPES = ["application/json"];
const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/;

/**
 * The public listener: one catch-all route that hands every request to the gateway core, plus the
 * mapping of framework errors (body too large, bad content type) onto the contract's error bodies.
 * Tests use `app.inject()` or a real socket; the CLI calls `listen`.
 */
export function buildPublicApp(options: PublicAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.maxRequestBytes,
    // X-Request-Id is taken from the client when it is sane, generated otherwise, and echoed back.
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, childOptions) =>
      lazyChildLogger(logger as Logger, bindings, childOptions as ChildLoggerOptions),
    return503OnClosing: true,
    // Errors Fastify raises while routing (a path whose percent-encoding is malformed, …) get the
    // contract's google.rpc.Status body like every other error.
    frameworkErrors: (error, request, reply) => {
      const gatewayError =
        error.code === "FST_ERR_BAD_URL"
          ? errors.invalidArgument(`the path has malformed percent-encoding: ${error.message}`, error)
          : fromFrameworkError(error, options.maxRequestBytes);
      // Not noted: these come from the router, before the onRequest hooks, so the telemetry never sees
      // the response close and a note would count the request in flight forever.
      sendError(request, reply, gatewayError, undefined);
    },
    ...frontServerOptions(options.front, options.logger),
  }) as unknown as FastifyInstance;

  // Bodies stay text: the codec parses JSON itself (with paths in its errors), never twice. Client and
  // bidi streams get the raw request stream instead (NDJSON, one message per line, read as it arrives).
  app.removeAllContentTypeParsers();
  const routeOf = createRouteMemo(options.gateway);
  registerBodyParsers(app, { routeOf, maxRequestBytes: options.maxRequestBytes });
  app.addContentTypeParser("*", (request, _payload, done) => {
    done(errors.unsupportedMediaType(String(request.headers["content-type"]), JSON_TYPES), undefined);
  });

  // Callback style, not async: a hook on every request should not cost a promise.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  const telemetry = installRequestTelemetry(app, options.telemetry ?? { metrics: NOOP_METRICS });
  // Before any route: compression attaches its hooks to routes as they are declared.
  registerFrontPlugins(app, options.front);
  // Registered before the catch-all's requests arrive; static routes win over `/*` in find-my-way.
  if (options.docs) registerDocsRoutes(app, options.docs);

  app.setErrorHandler((error, request, reply) =>
    sendError(request, reply, fromFrameworkError(error, options.maxRequestBytes), telemetry),
  );

  const streams = createStreamContext({
    gateway: options.gateway,
    metrics: options.telemetry?.metrics ?? NOOP_METRICS,
    maxRequestBytes: options.maxRequestBytes,
  });
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const cancellation = new Cancellation();
    telemetry.note(request, { cancellation });
    // A client that goes away before the answer cancels the backend call at once.
    // (The request stream's own 'close' fires once its body is read; the response's fires on disconnect.)
    const onClose = (): void => {
      if (!reply.raw.writableEnded) cancellation.cancel();
    };
    const { path, query } = splitUrl(request.url);
    const exchange: HttpExchange = {
      verb: request.method,
      path,
      query,
      headers: request.headers,
      body: typeof request.body === "string" ? request.body : undefined,
      requestId: request.id,
      remoteAddress: request.ip,
      cancellation,
      log: request.log,
    };
    // Resolved once: by the body parser when there was a body, else here (404/405 thrown).
    const route = routeOf(request);
    // Noted before the call, so that an error's log line and metrics name the method and route too.
    telemetry.note(request, { method: route.method, route: route.pattern });
    reply.raw.once("close", onClose);
    if (route.method.kind !== "unary") {
      // Streams keep the close listener to the end: a disconnect mid-stream cancels the call.
      const streamed = serveStreamingRequest(streams, request, reply, exchange, route, {
        noteError: (error) => telemetry.note(request, { error }),
      });
      // The access log names who called (issue 15), refused or not; only methods with policies know.
      return route.method.policies.length === 0
        ? streamed
        : streamed.finally(() => noteIdentity(telemetry, request, exchange));
    }
    const called = options.gateway.unary(exchange, route);
    const result = await (route.method.policies.length === 0
      ? called
      : called.finally(() => noteIdentity(telemetry, request, exchange))
    ).finally(() => reply.raw.off("close", onClose));
    // The access-log line is written by the telemetry hook when the response closes.
    reply.code(200).headers(result.headers).header("content-type", "application/json; charset=utf-8");
    return result.body;
  };
  // Fastify routes only the methods it knows; the rest (SEARCH, PROPFIND, PURGE, …) land here and get
  // the gateway's own answer like any request: 405 with Allow on a known path, 404 elsewhere.
  app.setNotFoundHandler(handle);
  // WebSocket upgrades (GET + Upgrade on any gateway path) are routed like requests; the plugin must be
  // loaded before the routes are added so that it sees them, hence the nested register.
  app.register(websocket, websocketPluginOptions(options.maxRequestBytes));
  // Upgrades the policy chain let through, until their socket opens.
  const admittedUpgrades = new WeakMap<FastifyRequest, AdmittedUpgrade>();
  const admittedByRaw = new WeakMap<FastifyRequest["raw"], AdmittedUpgrade>();
  app.register(async (scope) => {
    answerBadHandshakes(scope.websocketServer);
    // Response headers the chain added (RateLimit-*) go on the 101 like on any answer.
    scope.websocketServer.on("headers", (headers: string[], raw: FastifyRequest["raw"]) => {
      const added = admittedByRaw.get(raw)?.exchange.policy?.context.responseHeaders;
      if (added) for (const [name, value] of Object.entries(added)) headers.push(`${name}: ${value}`);
    });
    scope.route({ method: scope.supportedMethods.filter((m) => m !== "GET"), url: "/*", handler: handle });
    scope.route({
      method: "GET",
      url: "/*",
      exposeHeadRoute: false,
      // A WebSocket upgrade passes its method's policy chain before the handshake is answered: a
      // refusal is an HTTP answer (401, 403, 429) instead of 101. Synchronous for plain GETs.
      preValidation: (request, _reply, done) => {
        if (!request.ws) {
          done();
          return;
        }
        admitUpgrade(streams, request).then(
          (admitted) => {
            if (admitted) {
              admittedUpgrades.set(request, admitted);
              admittedByRaw.set(request.raw, admitted);
              noteIdentity(telemetry, request, admitted.exchange);
            }
            done();
          },
          (error: Error) => done(error),
        );
      },
      handler: handle,
      wsHandler: (socket, request) =>
        serveWebSocket(
          streams,
          socket,
          request,
          {
            start: (cancellation) => telemetry.note(request, { cancellation }),
            method: (method) => telemetry.note(request, { method }),
            error: (error) => telemetry.note(request, { error }),
          },
          admittedUpgrades.get(request),
        ),
    });
  });
  return app;
}

/** The caller the policy chain identified, for the access-log line (never a credential). */
function noteIdentity(telemetry: RequestTelemetry, request: FastifyRequest, exchange: HttpExchange): void {
  const identity = exchange.policy?.context.identity;
  if (identity !== undefined) telemetry.note(request, { identity });
}

function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: GatewayError,
  telemetry: RequestTelemetry | undefined,
): FastifyReply {
  // Logged (with the cause) once the response closes, like every other request.
  telemetry?.note(request, { error });
  const response = errorResponse(error);
  return reply.code(response.status).headers(response.headers).send(response.body);
}

/** Fastify's own errors (body limit, content type, …) as the contract's statuses; everything else as is. */
function fromFrameworkError(error: unknown, maxRequestBytes: number): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = (error as { code?: string }).code;
  switch (code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errors.bodyTooLarge(maxRequestBytes);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errors.unsupportedMediaType("unknown", JSON_TYPES);
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return errors.invalidArgument((error as Error).message, error);
    default: {
      // Fastify's other refusals of a request (a QUERY without Content-Type, RFC 10008 §2, …) keep their
      // 4xx status and message (they name the request's fault, nothing internal); the rest is a 500.
      const statusCode = (error as { statusCode?: number }).statusCode;
      if (code?.startsWith("FST_") && statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
        return new GatewayError(Code.INVALID_ARGUMENT, (error as Error).message, {
          httpStatus: statusCode,
          cause: error,
        });
      }
      return toGatewayError(error);
    }
  }
}
