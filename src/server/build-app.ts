import { randomUUID } from "node:crypto";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import { errors, GatewayError, toGatewayError } from "../errors.js";
import type { Gateway } from "../gateway/gateway.js";

export interface PublicAppOptions {
  gateway: Gateway;
  logger: Logger;
  /** Request body limit in bytes (413 above it). */
  maxRequestBytes: number;
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

  app.setErrorHandler((error, request, reply) =>
    sendError(request, reply, fromFrameworkError(error, options.maxRequestBytes)),
  );

  app.all("/*", async (request, reply) => {
    const started = performance.now();
    const abort = new AbortController();
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
    request.log.info(
      {
        route: result.method.path,
        method: request.method,
        url: request.url,
        status: 200,
        grpcCode: 0,
        upstream: result.instanceAddress,
        durationMs: +(performance.now() - started).toFixed(3),
      },
      "request completed",
    );
    reply.code(200).headers(result.headers).header("content-type", "application/json; charset=utf-8");
    return result.body;
  });
  return app;
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: GatewayError): FastifyReply {
  const level = error.httpStatus >= 500 ? "warn" : "info";
  request.log[level](
    {
      method: request.method,
      url: request.url,
      status: error.httpStatus,
      grpcCode: error.code,
      err: error.cause ?? undefined,
    },
    error.message,
  );
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
