import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Catalog, CatalogMethod, CatalogSnapshot } from "../catalog/catalog.js";
import { Code, errors, GatewayError, httpStatusFromCode } from "../errors.js";
import type { CidrSet } from "../policy/cidr.js";
import { clientAddress } from "../policy/client-ip.js";
import type { PolicyChain } from "../policy/compile.js";
import type { PolicyContext } from "../policy/policy.js";
import { NOOP_POLICY_OBSERVER, type PolicyDecisionObserver, runChain } from "../policy/run-chain.js";
import { bindRequest } from "../router/index.js";
import type { Cancellation } from "../upstream/cancellation.js";
import { type Upstream, UpstreamError } from "../upstream/upstream.js";
import { type DeadlinePolicy, effectiveTimeoutMs } from "./deadline.js";
import { type HttpHeaders, headersFromMetadata, metadataFromHeaders } from "./metadata.js";
import { decodeStatusDetails } from "./status-details.js";

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
  /** Cancelled when the client goes away. */
  cancellation: Cancellation;
  log: RequestLog;
  /**
   * What the method's policy chain decided, set by `Gateway.admit` (only when the chain is not empty):
   * the identity, the metadata to set and remove, the response headers to add.
   */
  policy?: AdmittedPolicy;
}

/** A request the chain let through (or refused: the context is kept for the access log). */
export interface AdmittedPolicy {
  readonly context: PolicyContext;
  readonly chain: PolicyChain;
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
  /** The live catalog: every request reads one of its snapshots (methods, codecs, instances, routes). */
  catalog: Catalog;
  /** Skip unknown query parameters on REST routes instead of answering 400. Default false. */
  ignoreUnknownQueryParameters?: boolean;
  upstream: Upstream;
  deadlines: DeadlinePolicy;
  /** Request headers forwarded as they are (lower case). */
  forwardHeaders: ReadonlySet<string>;
  /**
   * How long a call waits for a pending schema fetch of its backend (or, for a path no schema knows yet,
   * of any backend) before answering 503 (404 for the unknown path). Default 2000 (`PENDING_SCHEMA_WAIT_MS`).
   */
  pendingSchemaWaitMs?: number;
  /**
   * `--trusted-proxy` ranges: a peer in them has its X-Forwarded-For believed (walked right to left
   * through trusted hops) for the client address policies see. Default none: the socket's address.
   */
  trustedProxies?: CidrSet;
  /** Counts each policy decision (`refract_policy_decisions_total`). Default: none. */
  policyObserver?: PolicyDecisionObserver;
}

/** Default of `GatewayOptions.pendingSchemaWaitMs`. */
export const PENDING_SCHEMA_WAIT_MS = 2000;

/** `#pendingTarget`: the path matches nothing yet, but a backend is being fetched. */
const UNKNOWN_PATH = Symbol("unknown path");

/** A request matched to a method: default route or REST binding. */
export interface ResolvedRoute {
  readonly method: CatalogMethod;
  /** `response_body` of the matched REST binding ("" = the whole message). */
  readonly responseBody: string;
  /** What matched, for logs and metrics: the gRPC path, or the REST template (`/v1/{name=shelves/*}`). */
  readonly pattern: string;
  /**
   * Encodes one request message from JSON text: on the default route the text is the message; on a REST
   * route path variables and query parameters are bound too (per message, for client streams).
   */
  encode(jsonText: string | undefined): Uint8Array;
  /** The JSON text of one response message (applies `response_body`). */
  decode(message: Uint8Array): string;
  /**
   * The same route binding a query without these parameters (ones a policy consumed: an API key or a
   * token in the URL). Absent on default routes, whose query is not bound.
   */
  withoutQueryParameters?(names: ReadonlySet<string>): ResolvedRoute;
}

/**
 * The request pipeline, framework-free: route → JSON to bytes → gRPC call → bytes to JSON, with the
 * metadata and deadline rules of the contract. Fastify only adapts it (src/server).
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #catalog: Catalog;
  readonly #pendingWaitMs: number;

  /** Resolved at the next swap; made only when a call waits for one. */
  #swapped: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#catalog = options.catalog;
    this.#pendingWaitMs = options.pendingSchemaWaitMs ?? PENDING_SCHEMA_WAIT_MS;
    options.catalog.onSnapshot(() => {
      const swapped = this.#swapped;
      this.#swapped = undefined;
      swapped?.resolve();
    });
  }

  /** The catalog snapshot (methods and route table) requests are served from now. */
  snapshot(): CatalogSnapshot {
    return this.#catalog.current();
  }

  /** The backend caller; streaming calls (src/gateway/streaming*.ts) are started on it directly. */
  get upstream(): Upstream {
    return this.#options.upstream;
  }

  async unary(exchange: HttpExchange, route: ResolvedRoute = this.resolve(exchange)): Promise<UnaryReply> {
    let { method } = route;
    // A snapshot swapped in after `whenRoutable` let the request on may hold the method with no ready
    // instance (a rolling deploy): wait for its backend's fetch like `whenRoutable` does.
    if (method.instances.length === 0) method = await this.#servedMethod(method);
    if (method.kind !== "unary") {
      throw new GatewayError(
        Code.UNIMPLEMENTED,
        `${method.fullName} is ${method.kind}; call it over WebSocket or with streaming framing`,
      );
    }
    // The chain runs before the request is bound or encoded; a method with none pays this length check.
    if (method.policies.length > 0) {
      const admitted = this.admitNow(exchange, route);
      route = admitted instanceof Promise ? await admitted : admitted;
    }
    const request = route.encode(exchange.body);
    const metadata = this.metadata(exchange);
    try {
      const result = await this.#options.upstream.unary(method, request, {
        metadata,
        deadline: this.deadline(exchange),
        cancellation: exchange.cancellation,
      });
      const headers: Record<string, string | string[]> = headersFromMetadata(result.headers, result.trailers);
      if (exchange.policy) Object.assign(headers, exchange.policy.context.responseHeaders);
      return {
        headers,
        body: route.decode(result.message),
        method,
        instanceAddress: result.instance.address,
      };
    } catch (error) {
      throw withPolicyHeaders(this.callFailed(method, error), exchange);
    }
  }

  /**
   * Runs the method's policy chain for a request (issue 15), once: unary calls, HTTP streams and WebSocket
   * upgrades call it before anything is bound, encoded or sent. Returns the route to go on with (without
   * the query parameters a policy consumed); a refusal is the policy's GatewayError, with the response
   * headers policies added merged in. Callers check `method.policies.length` first, so a method without
   * policies allocates nothing here.
   */
  async admit(exchange: HttpExchange, route: ResolvedRoute): Promise<ResolvedRoute> {
    return this.admitNow(exchange, route);
  }

  /**
   * `admit`, without a promise when every policy of the chain answered synchronously (cached tokens,
   * local limits, transforms): the unary path then pays no extra turn of the event loop.
   */
  admitNow(exchange: HttpExchange, route: ResolvedRoute): ResolvedRoute | Promise<ResolvedRoute> {
    const chain = route.method.policies;
    if (chain.length === 0) return route;
    if (exchange.policy !== undefined) return this.#afterChain(exchange, route);
    const { method } = route;
    const context: PolicyContext = {
      method: { backend: method.backend, selector: method.path.slice(1) },
      headers: exchange.headers,
      query: exchange.query,
      clientIp: clientAddress(
        exchange.remoteAddress,
        exchange.headers["x-forwarded-for"],
        this.#options.trustedProxies,
      ),
      identity: undefined,
      setMetadata: new Map(),
      removeMetadata: new Set(),
      removeHeaders: new Set(),
      responseHeaders: {},
      removeQueryParameters: new Set(),
      log: exchange.log,
    };
    exchange.policy = { context, chain };
    let running: void | Promise<void>;
    try {
      running = runChain(chain, context, this.#options.policyObserver ?? NOOP_POLICY_OBSERVER);
    } catch (error) {
      throw withPolicyHeaders(error, exchange);
    }
    if (running === undefined) return this.#afterChain(exchange, route);
    return running.then(
      () => this.#afterChain(exchange, route),
      (error: unknown) => {
        throw withPolicyHeaders(error, exchange);
      },
    );
  }

  /** The route to go on with: without the query parameters a policy consumed (a jwt `{query}` token). */
  #afterChain(exchange: HttpExchange, route: ResolvedRoute): ResolvedRoute {
    const consumed = exchange.policy?.context.removeQueryParameters;
    return consumed && consumed.size > 0 && route.withoutQueryParameters
      ? route.withoutQueryParameters(consumed)
      : route;
  }

  /** The gRPC metadata for a request (CONTRACT.md §4), with what its policy chain set and removed. */
  metadata(exchange: HttpExchange): grpc.Metadata {
    const admitted = exchange.policy;
    return metadataFromHeaders(exchange.headers, {
      requestId: exchange.requestId,
      remoteAddress: exchange.remoteAddress,
      forwardHeaders: this.#options.forwardHeaders,
      onDropped: (key, reason) => exchange.log.warn({ key, reason }, "request header not forwarded"),
      // Without a chain: one check, nothing allocated.
      policy:
        admitted === undefined
          ? undefined
          : {
              removeHeaders: admitted.context.removeHeaders,
              removeMetadata: admitted.context.removeMetadata,
              setsMetadata: admitted.chain.setsMetadata,
              setMetadata: admitted.context.setMetadata,
            },
    });
  }

  /**
   * The absolute deadline (epoch ms) of a request, or undefined; 400 on a malformed Grpc-Timeout.
   * Streams have their own default (none unless configured), unary calls the gateway default.
   */
  deadline(exchange: HttpExchange, streaming = false): number | undefined {
    const timeoutMs = effectiveTimeoutMs(
      headerValue(exchange.headers["grpc-timeout"]),
      this.#options.deadlines,
      streaming,
    );
    return timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  }

  /**
   * Turns a failed backend call into the error the client sees: the backend's trailers as
   * Grpc-Trailer-* headers; UNIMPLEMENTED also asks for a schema refresh (the instance may have been
   * redeployed without the method).
   */
  callFailed(method: CatalogMethod, error: unknown): unknown {
    if (error instanceof GatewayError && error.code === Code.UNIMPLEMENTED) {
      this.#catalog.requestRefresh(method.backend);
    }
    if (error instanceof UpstreamError) {
      const headers = headersFromMetadata(undefined, error.trailers);
      let details = error.details;
      const detailsBin = error.trailers.get("grpc-status-details-bin")[0];
      if (Buffer.isBuffer(detailsBin)) {
        const decoded = decodeStatusDetails(detailsBin, method.statusCodec);
        details = decoded.details;
        // RetryInfo tells clients when to come back; HTTP says it with Retry-After (RFC 9110 §10.2.3).
        const status = httpStatusFromCode(error.code);
        if (decoded.retryAfterSeconds !== undefined && (status === 429 || status === 503)) {
          headers["retry-after"] = [String(decoded.retryAfterSeconds)];
        }
      }
      return new GatewayError(error.code, error.message, { headers, details, cause: error.cause });
    }
    return error;
  }

  /**
   * Matches a request to a method, against one snapshot: the default route first (an exact lookup),
   * then the REST route table. Throws 404 or 405 (with Allow).
   */
  resolve(exchange: Pick<HttpExchange, "verb" | "path" | "query">): ResolvedRoute {
    const snapshot = this.#catalog.current();
    const method = snapshot.methodsByPath.get(exchange.path);
    if (method) {
      if (exchange.verb !== "POST") throw errors.methodNotAllowed(exchange.verb, exchange.path, ["POST"]);
      return {
        method,
        responseBody: "",
        pattern: method.path,
        encode: (text) => method.requestCodec.jsonToBinary(text ?? ""),
        decode: (bytes) => method.responseCodec.binaryToJson(bytes),
      };
    }
    const match = snapshot.routes.match(exchange.verb, exchange.path);
    if (match.kind === "method-not-allowed")
      throw errors.methodNotAllowed(exchange.verb, exchange.path, match.allow);
    if (match.kind === "not-found") throw this.#notFound(snapshot, exchange);
    const { target, binding, pathParams } = match;
    const ignoreUnknownQueryParameters = this.#options.ignoreUnknownQueryParameters ?? false;
    const restRoute = (query: string): ResolvedRoute => ({
      method: target,
      responseBody: binding.responseBody,
      pattern: binding.pattern,
      encode: (text) =>
        target.requestCodec.valueToBinary(
          bindRequest(
            {
              type: target.requestType,
              binding,
              pathParams,
              query,
              body: parseBody(text, binding.body),
            },
            { ignoreUnknownQueryParameters },
          ),
        ),
      decode: (bytes) =>
        binding.responseBody === ""
          ? target.responseCodec.binaryToJson(bytes)
          : selectResponseField(target, bytes, binding.responseBody),
      withoutQueryParameters: (names) => restRoute(withoutParameters(query, names)),
    });
    return restRoute(exchange.query);
  }

  /**
   * Issue 13, point 10: a request that could be served once a pending schema fetch ends waits for it
   * (at most `pendingSchemaWaitMs`) instead of failing at once — a method known from a departed
   * instance's schema whose backend's registered instances are still being fetched, or a path no schema
   * knows while some backend's first fetch runs (start-up, a backend just registered). Runs before the
   * request is routed (the body parser needs the method). Returns undefined, allocating nothing, when
   * no backend is being fetched: the usual case. Rejects with 503 when the wait for a method's backend
   * runs out; an unknown path goes on to its 404.
   */
  whenRoutable(verb: string, url: string): Promise<void> | undefined {
    const pending = this.#catalog.current().pendingBackends;
    if (pending === undefined || pending.size === 0) return undefined;
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (this.#pendingTarget(verb, path) === undefined) return undefined;
    return this.#awaitRoutable(verb, path);
  }

  /** What a request waits for on the current snapshot: a method with no ready instance, a path no schema knows, or nothing. */
  #pendingTarget(verb: string, path: string): CatalogMethod | typeof UNKNOWN_PATH | undefined {
    const snapshot = this.#catalog.current();
    const pending = snapshot.pendingBackends;
    if (pending === undefined || pending.size === 0) return undefined;
    let method = snapshot.methodsByPath.get(path);
    if (method === undefined) {
      try {
        const match = snapshot.routes.match(verb, path);
        if (match.kind === "not-found") return UNKNOWN_PATH;
        if (match.kind === "match") method = match.target;
      } catch {
        return undefined; // malformed percent-encoding: routing answers 400
      }
    }
    return method && method.instances.length === 0 && pending.has(method.backend) ? method : undefined;
  }

  async #awaitRoutable(verb: string, path: string): Promise<void> {
    const deadline = Date.now() + this.#pendingWaitMs;
    for (;;) {
      const target = this.#pendingTarget(verb, path);
      if (target === undefined) return;
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        if (target === UNKNOWN_PATH) return;
        throw errors.noInstance(target.service, "its instances' schemas are still being fetched");
      }
      await this.#nextSwap(remainingMs);
    }
  }

  /** The current snapshot's version of a method with no ready instance, once its backend's fetch ends. */
  async #servedMethod(method: CatalogMethod): Promise<CatalogMethod> {
    const pending = this.#catalog.current().pendingBackends;
    if (pending === undefined || !pending.has(method.backend)) return method; // the upstream answers 503
    await this.#awaitRoutable("POST", method.path);
    const current = this.#catalog.current().methodsByPath.get(method.path);
    if (current === undefined)
      throw new GatewayError(Code.NOT_FOUND, `service ${method.service} has no method ${method.name}`);
    return current;
  }

  /** Resolves at the next snapshot swap or after `timeoutMs`. */
  async #nextSwap(timeoutMs: number): Promise<void> {
    if (this.#swapped === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#swapped = { promise, resolve };
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.#swapped.promise, expired]);
    clearTimeout(timer);
  }

  /** 404 for an unknown path; for an unknown method of a known service, also look at its backend again. */
  #notFound(snapshot: CatalogSnapshot, exchange: Pick<HttpExchange, "verb" | "path">): GatewayError {
    const match = /^\/([^/]+)\/([^/]+)$/.exec(exchange.path);
    if (match) {
      const [, service, name] = match as unknown as [string, string, string];
      const backend = snapshot.serviceBackends.get(service);
      if (backend !== undefined) {
        this.#catalog.requestRefresh(backend);
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
  return method.responseCodec.fieldToJson(message, fieldName);
}

/** The query string without the named parameters (compared after percent-decoding their names). */
function withoutParameters(query: string, names: ReadonlySet<string>): string {
  return query
    .split("&")
    .filter((pair) => {
      const eq = pair.indexOf("=");
      const raw = eq === -1 ? pair : pair.slice(0, eq);
      try {
        return !names.has(decodeURIComponent(raw.replace(/\+/g, " ")));
      } catch {
        return true; // malformed: left for the binder to refuse
      }
    })
    .join("&");
}

/**
 * An error with the response headers the request's policies added (RateLimit-*, …): a refusal and a
 * failed backend call carry them like an answer does. The error's own headers win.
 */
export function withPolicyHeaders(error: unknown, exchange: Pick<HttpExchange, "policy">): unknown {
  const added = exchange.policy?.context.responseHeaders;
  if (added === undefined || !(error instanceof GatewayError)) return error;
  let any = false;
  for (const _ in added) {
    any = true;
    break;
  }
  if (!any) return error;
  return new GatewayError(error.code, error.message, {
    details: error.details,
    headers: { ...added, ...error.headers },
    httpStatus: error.httpStatus,
    cause: error.cause,
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
