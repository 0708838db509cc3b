import type { FastifyInstance, FastifyPluginCallback } from "fastify";
import { Code, GatewayError } from "../errors.js";

/**
 * Browsers do not apply CORS to WebSockets: any page may open one to any host, and cookies go along
 * (cross-site WebSocket hijacking). The browser does send `Origin`, so upgrades are checked here against
 * the same allow-list as CORS: the gateway's own origin (same Host) and the `--cors-origin` entries pass,
 * other origins get 403 before the upgrade. Clients that send no Origin (not browsers) are not affected.
 */
export function registerWebSocketOriginCheck(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  const any = allowedOrigins.includes("*");
  const exact = new Set(allowedOrigins);
  const plugin: FastifyPluginCallback = (instance, _options, done) => {
    instance.addHook("onRequest", (request, reply, next) => {
      const origin = request.headers.origin;
      // Only a request Node hands over as an upgrade: one that merely carries `Upgrade: websocket` (no
      // `Connection: upgrade`, or not a GET; see listener.ts) is served as plain HTTP/1.1 and keeps its
      // connection. (`upgrade` is absent on HTTP/2 and injected requests.)
      const isWebSocket =
        (request.raw as { upgrade?: boolean }).upgrade !== false &&
        String(request.headers.upgrade).toLowerCase() === "websocket";
      // An upgrade refused here or by a later hook (403, the 503 of the concurrency limit) is answered
      // with a plain HTTP response before @fastify/websocket's own hooks run, and nobody owns its socket
      // afterwards (an upgrade socket is half-open: it would keep the server from closing). An upgrade
      // that succeeds never finishes this response: ws writes the 101 to the socket itself.
      if (isWebSocket) reply.raw.once("finish", () => request.raw.socket.destroy());
      if (
        !isWebSocket ||
        origin === undefined ||
        any ||
        exact.has(origin) ||
        sameHost(origin, request.headers.host)
      ) {
        return next();
      }
      next(
        new GatewayError(Code.PERMISSION_DENIED, `origin ${origin} may not open WebSockets to this gateway`),
      );
    });
    done();
  };
  Object.assign(plugin, { [Symbol.for("skip-override")]: true });
  app.register(plugin);
}

/** The page was served by this gateway: its origin names the host the request was sent to. */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // `null` (sandboxed frames, file:) and malformed origins
  }
}
