import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CatalogMethod } from "../catalog/catalog.js";
import { Code, codeName, type GatewayError } from "../errors.js";
import type { Identity } from "../policy/policy.js";
import type { Cancellation } from "../upstream/cancellation.js";
import { type GatewayMetrics, UNMATCHED } from "./gateway-metrics.js";

/** How a request routed to the gateway core ended, as the handler or the error handler knows it. */
export interface RequestOutcome {
  /** The method that served it (success) — for errors it is looked up, see RequestTelemetryOptions. */
  method?: CatalogMethod;
  /** The route pattern that matched (`/v1/{name=shelves/*}`); default: the method's gRPC path. */
  route?: string;
  /** The per-request cancellation handed to the gateway: it carries the backend call's record (measured-upstream.ts). */
  cancellation?: Cancellation;
  error?: GatewayError;
  /** The call's final gRPC code when the HTTP status cannot tell it (a stream that failed after its first byte, a WebSocket). */
  grpcCode?: number;
  /** Who called, as the policy chain's authenticate phase established it (consumer, subject). */
  identity?: Identity;
}

export interface RequestTelemetryOptions {
  metrics: GatewayMetrics;
  /** The method a request routes to (default or REST route), to label errors raised before any backend call. */
  methodFor?: (verb: string, path: string) => CatalogMethod | undefined;
  /** The REST template a request matched, for its log line (only asked for non-default paths). */
  routeOf?: (verb: string, path: string) => string | undefined;
}

export interface RequestTelemetry {
  /** Records how a gateway request ended; requests never noted (docs, assets) are logged but not counted. */
  note(request: FastifyRequest, outcome: RequestOutcome): void;
}

const HTTP_CLIENT_CLOSED = 499;
/** The request decoration holding what the gateway noted about the request. */
const OUTCOME = "refractOutcome";

/**
 * One access-log line and one set of metric observations per request, written when the response
 * closes — after it finished or when the client went away — so every request is accounted for exactly
 * once, whichever path (handler, error handler, framework error, abort) produced its answer.
 */
export function installRequestTelemetry(
  app: FastifyInstance,
  options: RequestTelemetryOptions,
): RequestTelemetry {
  const { metrics } = options;
  // Each request's outcome lives on the request itself (a Fastify decoration keeps the object's shape
  // stable), not in a WeakMap: one insertion per request there showed in the profile.
  app.decorateRequest(OUTCOME, null);
  const outcomeOf = (request: FastifyRequest): NotedOutcome | undefined =>
    (request as unknown as Record<typeof OUTCOME, NotedOutcome | null>)[OUTCOME] ?? undefined;
  // The access line carries only the scalar fields below — no headers, no metadata — so it skips the
  // logger's secret redaction, which profiling showed costing more than the whole JSON codec per request.
  // Lines with an error cause keep going through the redacting request logger.
  const accessLog = app.log.child({}, { redact: { paths: [] } });

  const finish = (request: FastifyRequest, reply: FastifyReply, started: number): void => {
    const durationMs = performance.now() - started;
    const outcome = outcomeOf(request);
    // A note after this (an upload the client abandoned fails its body read after its response closed)
    // must not count the request in flight: nothing would count it out again (issue 13, point 7).
    if (outcome === undefined)
      (request as unknown as Record<typeof OUTCOME, NotedOutcome>)[OUTCOME] = FINISHED;
    // Kept there by the upstream's telemetry interceptor (measured-upstream.ts) when the call ended.
    const call = outcome?.cancellation?.lastCall;
    const path = pathOf(request.url);
    const method =
      outcome?.method ?? call?.method ?? (outcome ? options.methodFor?.(request.method, path) : undefined);
    // An upgraded WebSocket never "finishes" its HTTP response: its socket closing ends it.
    const upgraded = !reply.raw.writableFinished && isUpgrade(request);
    const aborted = !reply.raw.writableFinished && !upgraded;
    const status = upgraded ? 101 : aborted ? HTTP_CLIENT_CLOSED : reply.raw.statusCode;
    const grpcCode =
      outcome?.grpcCode ??
      outcome?.error?.code ??
      (aborted ? Code.CANCELLED : status < 400 ? Code.OK : Code.UNKNOWN);
    if (outcome) {
      metrics.requestFinished({
        service: method?.service ?? UNMATCHED,
        method: method?.name ?? UNMATCHED,
        httpStatus: status,
        grpcCode,
        durationSeconds: durationMs / 1000,
      });
    }
    const fields = {
      route: outcome
        ? routeOf(request.method, path, outcome, method)
        : (request.routeOptions.url ?? UNMATCHED),
      rpc: method?.fullName,
      method: request.method,
      path,
      status,
      grpcCode,
      grpcStatus: codeName(grpcCode),
      upstream: call?.instanceAddress,
      upstreamMs: call ? round(call.durationMs) : undefined,
      durationMs: round(durationMs),
      error: outcome?.error?.message,
      aborted: aborted || undefined,
      // Names only (issue 15): never the token, key or cookie that established them.
      consumer: outcome?.identity?.consumer?.name,
      subject: outcome?.identity?.subject,
      // The cause (stack, backend address) goes to the log only, never to the client (CONTRACT.md §3).
      err: outcome?.error?.cause ?? undefined,
    };
    const level = status >= 500 && status !== HTTP_CLIENT_CLOSED ? "warn" : "info";
    if (fields.err === undefined) accessLog[level]({ reqId: request.id, ...fields }, "request completed");
    else request.log[level](fields, "request completed");
  };

  const routeOf = (verb: string, path: string, outcome: NotedOutcome, method: CatalogMethod | undefined) => {
    if (outcome.route) return outcome.route;
    if (!method) return UNMATCHED;
    if (path === method.path) return method.path;
    return options.routeOf?.(verb, path) ?? method.path;
  };

  // Callback style, not async: this runs for every request, and a promise per hook is measurable.
  app.addHook("onRequest", (request, reply, done) => {
    const started = performance.now();
    // 'close' fires once per response, after 'finish' or on a client abort: exactly one line each.
    reply.raw.once("close", () => finish(request, reply, started));
    done();
  });

  return {
    note(request, outcome) {
      // The gateway's handlers (and its error paths) note their requests; docs and asset routes never do,
      // so they are logged but not counted. The first note counts the request in flight; finish() pairs it.
      let noted = outcomeOf(request);
      if (noted === FINISHED) return;
      if (noted === undefined) {
        noted = new NotedOutcome();
        (request as unknown as Record<typeof OUTCOME, NotedOutcome>)[OUTCOME] = noted;
        metrics.requestStarted();
      }
      // Field by field into one shape (not Object.assign of varying shapes): this runs twice per request.
      if (outcome.method !== undefined) noted.method = outcome.method;
      if (outcome.route !== undefined) noted.route = outcome.route;
      if (outcome.cancellation !== undefined) noted.cancellation = outcome.cancellation;
      if (outcome.error !== undefined) noted.error = outcome.error;
      if (outcome.grpcCode !== undefined) noted.grpcCode = outcome.grpcCode;
      if (outcome.identity !== undefined) noted.identity = outcome.identity;
    },
  };
}

/** What was noted about one request, in one object shape for all requests. */
class NotedOutcome {
  method: CatalogMethod | undefined = undefined;
  route: string | undefined = undefined;
  cancellation: Cancellation | undefined = undefined;
  error: GatewayError | undefined = undefined;
  grpcCode: number | undefined = undefined;
  identity: Identity | undefined = undefined;
}

/** Marks a request whose response closed before anything was noted: later notes are ignored. */
const FINISHED = new NotedOutcome();

function isUpgrade(request: FastifyRequest): boolean {
  return String(request.headers.upgrade ?? "").toLowerCase() === "websocket";
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
