import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { registerCompression } from "./front-compression.js";
import { registerCors } from "./front-cors.js";
import { registerConcurrencyLimit } from "./front-limits.js";
import type { FrontOptions } from "./front-options.js";
import { registerWebSocketOriginCheck } from "./front-websocket-origin.js";
import { type ListenerServerOptions, listenerServerOptions } from "./listener.js";

export type { FrontOptions } from "./front-options.js";

/** Fastify constructor options for the public server (its server factory); none without front options. */
export function frontServerOptions(front: FrontOptions | undefined, logger: Logger): ListenerServerOptions {
  return listenerServerOptions(front?.listener, logger);
}

/**
 * Registers the front plugins on the public app. @fastify/compress attaches its hooks to each route as
 * it is declared (onRoute), and plugins load when the app boots, so the routes must be declared in a
 * `register` made after this call, not synchronously on the root instance.
 * Order matters: CORS answers preflights first and marks every response; WebSocket upgrades from other
 * origins are refused; the concurrency limit then refuses what is over the cap (with CORS headers, so
 * browsers can read the 503).
 */
export function registerFrontPlugins(app: FastifyInstance, front: FrontOptions | undefined): void {
  if (front === undefined) return;
  if (front.cors) registerCors(app, front.cors);
  registerWebSocketOriginCheck(app, front.cors?.origins ?? []);
  registerConcurrencyLimit(app, front.maxConcurrentRequests);
  registerCompression(app, front.compression);
}
