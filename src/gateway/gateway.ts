import type { Logger } from "pino";
import type { CatalogMethod, CatalogSnapshot } from "../catalog/catalog.js";
import type { HttpRule } from "../catalog/http-rule.js";
import { Code, errors, GatewayError } from "../errors.js";
import { bindRequest } from "../router/index.js";
import { type Upstream, UpstreamError } from "../upstream/upstream.js";
import { type DeadlinePolicy, effectiveTimeoutMs } from "./deadline.js";
import { type HttpHeaders, headersFromMetadata, metadataFromHeaders } from "./metadata.js";
import { type RoutedSnapshot, routeSnapshot } from "./routing.js";
import type { SchemaSync } from "./schema-sync.js";

/** One HTTP request as the gateway core sees it: no framework types. */
export interface HttpExchange {
  verb: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  /** Raw query string without `?` ("" when none). */
  query: string;
  headers: HttpHeaders;
  /** The request body as text; undefined when there was none. */
  body: string | undefined;
  requestId: string;
  remoteAddress: string | undefined;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  log: RequestLog;
}

/** The per-request logger (a pino child carrying the request id). */
export type RequestLog = Pick<Logger, "debug" | "info" | "warn" | "error">;

/** A successful unary answer, ready to write. */
export interface UnaryReply {
  headers: Record<string, string | string[]>;
  body: string;
  /** For the access log: which method and instance served it. */
  method: CatalogMethod;
  instanceAddress: string;
}

export interface GatewayOptions {
  schemaSync: SchemaSync;
  /** Rules from the `--http-rules` file (override the descriptors' rules of the same selector). */
  fileRules: readonly HttpRule[];
  /** Skip unknown query parameters on REST routes instead of answering 400. Default false. */
  ignoreUnknownQueryParameters?: boolean;
  logger: Logger;
  upstream: Upstream;
  deadlines: DeadlinePolicy;
  /** Request headers forwarded as they are (lower case). */
  forwardHeaders: ReadonlySet<string>;
}

/** A resolved route: the method, the encoded request, and which response field is the body. */
interface ResolvedCall {
  method: CatalogMethod;
  /** Protobuf bytes of the request message. */
  request: Uint8Array;
  /** `response_body` of the matched REST binding ("" = the whole message). */
  responseBody: string;
}

/**
 * The request pipeline, framework-free: route → JSON to bytes → gRPC call → bytes to JSON, with the
 * metadata and deadline rules of the contract. Fastify only adapts it (src/server).
 */
export class Gateway {
  readonly #options: GatewayOptions;

  #routed: RoutedSnapshot;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#routed = this.#route(options.schemaSync.current());
    options.schemaSync.onSnapshot((snapshot) => {
      this.#routed = this.#route(snapshot);
    });
  }

  /** The catalog snapshot and route table requests are served from now. */
  routed(): RoutedSnapshot {
    return this.#routed;
  }

  #route(snapshot: CatalogSnapshot): RoutedSnapshot {
    const previous = new Set(this.#routed?.problems ?? []);
    const routed = routeSnapshot(snapshot, this.#options.fileRules);
    for (const problem of routed.problems) {
      if (!previous.has(problem)) this.#options.logger.warn({ problem }, "http rule problem");
    }
    return routed;
  }

  async unary(exchange: HttpExchange): Promise<UnaryReply> {
    const { method, request, responseBody } = this.#resolve(this.#routed, exchange);
    if (method.kind !== "unary") {
      throw new GatewayError(
        Code.UNIMPLEMENTED,
        `${method.fullName} is ${method.kind}; call it over WebSocket or with streaming framing`,
      );
    }
    const timeoutMs = effectiveTimeoutMs(
      headerValue(exchange.headers["grpc-timeout"]),
      this.#options.deadlines,
    );
    const metadata = metadataFromHeaders(exchange.headers, {
      requestId: exchange.requestId,
      remoteAddress: exchange.remoteAddress,
      forwardHeaders: this.#options.forwardHeaders,
      onDropped: (key, reason) => exchange.log.warn({ key, reason }, "request header not forwarded"),
    });
    try {
      const result = await this.#options.upstream.unary(method, request, {
        metadata,
        deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
        signal: exchange.signal,
      });
      return {
        headers: headersFromMetadata(result.headers, result.trailers),
        body:
          responseBody === ""
            ? method.responseCodec.binaryToJson(result.message)
            : selectResponseField(method, result.message, responseBody),
        method,
        instanceAddress: result.instance.address,
      };
    } catch (error) {
      if (error instanceof GatewayError && error.code === Code.UNIMPLEMENTED) {
        // The instance may have been redeployed without this method: look again soon.
        this.#options.schemaSync.requestRefresh(method.backend);
      }
      if (error instanceof UpstreamError) {
        // The backend's trailers reach the client on errors too (Grpc-Trailer-*).
        throw new GatewayError(error.code, error.message, {
          headers: headersFromMetadata(undefined, error.trailers),
          details: error.details,
          cause: error.cause,
        });
      }
      throw error;
    }
  }

  #resolve({ snapshot, routes }: RoutedSnapshot, exchange: HttpExchange): ResolvedCall {
    const method = snapshot.methodsByPath.get(exchange.path);
    if (method) {
      if (exchange.verb !== "POST") throw errors.methodNotAllowed(exchange.verb, exchange.path, ["POST"]);
      return { method, request: method.requestCodec.jsonToBinary(exchange.body ?? ""), responseBody: "" };
    }
    const match = routes.match(exchange.verb, exchange.path);
    if (match.kind === "method-not-allowed")
      throw errors.methodNotAllowed(exchange.verb, exchange.path, match.allow);
    if (match.kind === "not-found") throw this.#notFound(snapshot, exchange);
    const target = match.target;
    const value = bindRequest(
      {
        type: target.requestType,
        binding: match.binding,
        pathParams: match.pathParams,
        query: exchange.query,
        body: parseBody(exchange.body, match.binding.body),
      },
      { ignoreUnknownQueryParameters: this.#options.ignoreUnknownQueryParameters ?? false },
    );
    return {
      method: target,
      request: target.requestCodec.valueToBinary(value),
      responseBody: match.binding.responseBody,
    };
  }

  /** 404 for an unknown path; for an unknown method of a known service, also look at its backend again. */
  #notFound(snapshot: CatalogSnapshot, exchange: HttpExchange): GatewayError {
    const match = /^\/([^/]+)\/([^/]+)$/.exec(exchange.path);
    if (match) {
      const [, service, name] = match as unknown as [string, string, string];
      const backend = snapshot.serviceBackends.get(service);
      if (backend !== undefined) {
        this.#options.schemaSync.requestRefresh(backend);
        return new GatewayError(Code.NOT_FOUND, `service ${service} has no method ${name}`);
      }
    }
    return errors.routeNotFound(exchange.verb, exchange.path);
  }
}

/** The JSON body of a REST request; a body where the rule maps none is a client mistake. */
function parseBody(text: string | undefined, bodyRule: string): unknown {
  if (text === undefined || text.trim() === "") return undefined;
  if (bodyRule === "") throw errors.invalidArgument("this route takes no request body");
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw errors.invalidArgument(`malformed JSON: ${(cause as Error).message}`, cause);
  }
}

/** `response_body`: the JSON of one top-level response field instead of the whole message. */
function selectResponseField(method: CatalogMethod, message: Uint8Array, fieldName: string): string {
  const value = method.responseCodec.binaryToValue(message) as Record<string, unknown>;
  const field = method.responseType.fields[fieldName];
  const key = method.jsonOptions.useProtoNames ? fieldName : (field?.jsonName ?? fieldName);
  return JSON.stringify(value[key] ?? null);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
