import { randomUUID } from "node:crypto";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import { NOOP_METRICS } from "../admin/gateway-metrics.js";
import { type DocsRoutesOptions, registerDocsRoutes } from "../admin/openapi/docs-routes.js";
import {
  installRequestTelemetry,
  type RequestTelemetry,
  type RequestTelemetryOptions,
} from "../admin/request-telemetry.js";
import { errors, GatewayError, toGatewayError } from "../errors.js";
import type { Gateway } from "../gateway/gateway.js";
import { type FrontOptions, frontServerOptions, registerFrontPlugins } from "./front-plugins.js";

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
    return503OnClosing: true,
    ...frontServerOptions(options.front, options.logger),
  }) as unknown as FastifyInstance;

  // Bodies stay text: the codec parses JSON itself (with paths in its errors), never twice.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: "string" }, (_request, body, done) => done(null, body));
  app.addContentTypeParser("*", (request, _payload, done) => {
    done(errors.unsupportedMediaType(String(request.headers["content-type"]), JSON_TYPES), undefined);
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  const telemetry = installRequestTelemetry(app, options.telemetry ?? { metrics: NOOP_METRICS });
  // Before any route: compression attaches its hooks to routes as they are declared.
  registerFrontPlugins(app, options.front);
  // Registered before the catch-all's requests arrive; static routes win over `/*` in find-my-way.
  if (options.docs) registerDocsRoutes(app, options.docs);

  app.setErrorHandler((error, request, reply) =>
    sendError(request, reply, fromFrameworkError(error, options.maxRequestBytes), telemetry),
  );

  app.all("/*", async (request, reply) => {
    const abort = new AbortController();
    telemetry.note(request, { signal: abort.signal });
    // A client that goes away before the answer cancels the backend call at once.
    // (The request stream's own 'close' fires once its body is read; the response's fires on disconnect.)
    const onClose = (): void => {
      if (!reply.raw.writableEnded) abort.abort();
    };
    reply.raw.once("close", onClose);
    const url = request.url;
    const q = url.indexOf("?");
    const result = await options.gateway
      .unary({
        verb: request.method,
        path: q === -1 ? url : url.slice(0, q),
        query: q === -1 ? "" : url.slice(q + 1),
        headers: request.headers,
        body: typeof request.body === "string" ? request.body : undefined,
        requestId: request.id,
        remoteAddress: request.ip,
        signal: abort.signal,
        log: request.log,
      })
      .finally(() => reply.raw.off("close", onClose));
    // The access-log line is written by the telemetry hook when the response closes.
    telemetry.note(request, { method: result.method });
    reply.code(200).headers(result.headers).header("content-type", "application/json; charset=utf-8");
    return result.body;
  });
  return app;
}

function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: GatewayError,
  telemetry: RequestTelemetry,
): FastifyReply {
  // Logged (with the cause) once the response closes, like every other request.
  telemetry.note(request, { error });
  const headers: Record<string, string | string[]> = { ...error.headers };
  if (error.httpStatus === 401) headers["www-authenticate"] ??= "Bearer";
  return reply
    .code(error.httpStatus)
    .headers(headers)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify(error.toStatusBody()));
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
    default:
      return toGatewayError(error);
  }
}
