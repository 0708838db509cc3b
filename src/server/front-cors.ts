import cors, { type FastifyCorsOptions } from "@fastify/cors";
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { Code, GatewayError } from "../errors.js";

/** Which browsers may call the gateway from other origins (CONTRACT.md §7 `--cors-origin`). */
export interface CorsSettings {
  /** Exact origins (`https://app.example.com`), or `*` for any (never with credentials). */
  origins: readonly string[];
  /** Send `Access-Control-Allow-Credentials: true`. */
  credentials: boolean;
  /** `Access-Control-Max-Age` of preflight answers, seconds. */
  maxAgeSeconds: number;
}

// Every verb a REST route (google.api.http) can bind, plus the default routes' POST.
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

// Response headers a script may read only when they are listed in Access-Control-Expose-Headers.
// `*` there does not work with credentials and nothing can match the open-ended `Grpc-Metadata-*`
// names, so each response lists the ones it actually carries.
const EXPOSED_NAMES = new Set([
  "x-request-id",
  "retry-after",
  "www-authenticate",
  "allow",
  // The rate-limit policy's answer headers (on allowed answers too), for clients that pace themselves.
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
]);
const isExposed = (name: string): boolean => name.startsWith("grpc-") || EXPOSED_NAMES.has(name);

/**
 * CORS through @fastify/cors, with three choices of ours:
 * - origins are matched exactly per request (the plugin's delegator), so the answer names the caller's
 *   origin and carries `Vary: Origin`;
 * - a preflight from an origin that is not allowed gets a 403 google.rpc.Status body (the browser fails
 *   it either way; the body tells the developer why). Other requests from such origins are served
 *   without CORS headers, so the browser hides the answer from the page — as every CORS server does;
 * - `Access-Control-Expose-Headers` is computed per response (see EXPOSED_NAMES).
 *
 * The plugin also declares an `OPTIONS *` route so that preflights have a route; the gateway's
 * catch-all route already takes OPTIONS on every path (declaring both is a conflict in find-my-way), and
 * the preflight is answered in the plugin's onRequest hook before any route handler runs. So the plugin
 * is given the instance with `options()` (route declaration) dropped.
 */
export function registerCors(app: FastifyInstance, settings: CorsSettings): void {
  const any = settings.origins.includes("*");
  const exact = new Set(settings.origins);
  const allowed: FastifyCorsOptions = {
    credentials: settings.credentials,
    methods: METHODS,
    maxAge: settings.maxAgeSeconds,
    // allowedHeaders left unset: the requested headers are allowed as asked (Grpc-Metadata-*,
    // Grpc-Timeout, Authorization, …); which origins may ask is what the policy restricts.
    strictPreflight: false,
  };
  const decide = (request: FastifyRequest): FastifyCorsOptions | GatewayError => {
    const origin = request.headers.origin;
    if (origin === undefined) return { origin: false };
    // OPTIONS without Access-Control-Request-Method is no preflight: it goes on to the route (405).
    const preflight =
      request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    if (any || exact.has(origin)) return { ...allowed, origin: any ? "*" : origin, preflight };
    if (!preflight) return { origin: false };
    return new GatewayError(
      Code.PERMISSION_DENIED,
      `origin ${origin} is not allowed by this gateway's CORS policy`,
    );
  };
  const delegator = (
    request: FastifyRequest,
    callback: (error: Error | null, options?: FastifyCorsOptions) => void,
  ): void => {
    const decision = decide(request);
    if (decision instanceof GatewayError) callback(decision);
    else callback(null, decision);
  };

  const plugin: FastifyPluginCallback = (instance, _options, done) => {
    const withoutRoutes = new Proxy(instance, {
      get: (target, key) => (key === "options" ? () => target : Reflect.get(target, key)),
    });
    cors(withoutRoutes, { delegator }, (error?: Error) => {
      if (error) return done(error);
      instance.addHook("onSend", exposeHeaders);
      done();
    });
  };
  // What fastify-plugin sets: the hooks apply to the whole app, not to an encapsulated child.
  Object.assign(plugin, { [Symbol.for("skip-override")]: true });
  app.register(plugin);
}

function exposeHeaders(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (error: Error | null, payload?: unknown) => void,
): void {
  if (reply.hasHeader("access-control-allow-origin")) {
    const names = Object.keys(reply.getHeaders()).filter(isExposed);
    if (names.length > 0) reply.header("access-control-expose-headers", names.join(", "));
  }
  done(null, payload);
}

/** Rejects settings browsers would refuse anyway: `*` with credentials (Fetch standard, CORS check). */
export function corsProblem(settings: CorsSettings): string | undefined {
  if (settings.credentials && settings.origins.includes("*")) {
    return "`*` cannot be combined with --cors-credentials: list the origins";
  }
  return undefined;
}
