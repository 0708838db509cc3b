import type { Cancellation } from "../upstream/cancellation.js";
import type { UpstreamCallRecord, UpstreamInterceptor } from "../upstream/upstream.js";
import type { GatewayMetrics } from "./gateway-metrics.js";

/**
 * The upstream's telemetry, attached as its interceptor: every backend call, unary or stream, is timed
 * into `refract_upstream_*`, and its record is kept on the request's Cancellation (one per HTTP
 * request, made by the server) for the access-log line — so neither the gateway core nor the Upstream
 * API carries telemetry.
 */
export function createUpstreamTelemetry(metrics: GatewayMetrics): UpstreamInterceptor {
  return {
    onCallEnd(call: UpstreamCallRecord, cancellation: Cancellation | undefined): void {
      metrics.upstreamFinished({
        service: call.method.service,
        method: call.method.name,
        grpcCode: call.grpcCode,
        durationSeconds: call.durationMs / 1000,
      });
      if (cancellation !== undefined) cancellation.lastCall = call;
    },
  };
}
