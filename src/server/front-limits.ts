import type { FastifyInstance, FastifyPluginCallback } from "fastify";
import { Code, GatewayError } from "../errors.js";

/** Seconds a client told "saturated" should wait: in-flight calls usually end well within it. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Caps the requests in flight at once (unary calls, streams and WebSockets alike: each holds a backend
 * call and its buffers). Above the cap a request is answered at once with 503, `Retry-After` and a
 * google.rpc.Status body (code 14), before its body is read.
 *
 * A counter rather than @fastify/under-pressure: under-pressure samples event-loop delay, heap, RSS and
 * ELU on a timer (and its custom `healthCheck` is polled on that timer too), so it cannot say "N requests
 * are in flight" at the moment a request arrives. Event-loop pressure is not the failure mode here: a
 * gateway waits on backends, and too many waiting calls exhaust memory and backend capacity long before
 * the loop is busy.
 *
 * Registered after CORS so that a browser can read the 503 (it carries the CORS headers).
 */
export function registerConcurrencyLimit(app: FastifyInstance, maxInFlight: number): void {
  if (maxInFlight <= 0) return;
  let inFlight = 0;
  const plugin: FastifyPluginCallback = (instance, _options, done) => {
    instance.addHook("onRequest", (request, reply, next) => {
      if (inFlight >= maxInFlight) {
        request.log.warn({ inFlight, maxInFlight }, "gateway saturated; request refused");
        next(
          new GatewayError(
            Code.UNAVAILABLE,
            `gateway saturated: ${inFlight} requests in flight (limit ${maxInFlight}); retry later`,
            { headers: { "retry-after": String(RETRY_AFTER_SECONDS) } },
          ),
        );
        return;
      }
      inFlight++;
      let counted = true;
      // 'close' ends every response: sent, failed, aborted by the client, or a WebSocket that closed
      // (its response is bound to the upgraded socket). 'finish' too, for injected requests.
      const release = (): void => {
        if (!counted) return;
        counted = false;
        inFlight--;
      };
      reply.raw.once("close", release);
      reply.raw.once("finish", release);
      next();
    });
    done();
  };
  Object.assign(plugin, { [Symbol.for("skip-override")]: true });
  app.register(plugin);
}
