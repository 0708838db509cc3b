import type { CatalogMethod } from "../catalog/catalog.js";
import { Code, GatewayError } from "../errors.js";
import type { Cancellation } from "../upstream/cancellation.js";
import { type UnaryCallOptions, type UnaryResult, Upstream, UpstreamError } from "../upstream/upstream.js";
import type { GatewayMetrics } from "./gateway-metrics.js";

/** What one request's backend call did: for its access-log line and error-path metric labels. */
export interface UpstreamCallRecord {
  readonly method: CatalogMethod;
  /** Address of the instance that answered (or failed); undefined when none was reached. */
  readonly instanceAddress: string | undefined;
  readonly grpcCode: number;
  readonly durationMs: number;
}

/**
 * An Upstream that times every call into `refract_upstream_*` and remembers, per request, which
 * method and instance it called. Requests are told apart by their Cancellation (one per HTTP request,
 * created by the server), so neither the gateway core nor the Upstream API has to carry telemetry.
 */
export class MeasuredUpstream extends Upstream {
  readonly #metrics: GatewayMetrics;
  readonly #calls = new WeakMap<Cancellation, UpstreamCallRecord>();

  constructor(pool: ConstructorParameters<typeof Upstream>[0], metrics: GatewayMetrics) {
    super(pool);
    this.#metrics = metrics;
  }

  /** The backend call made for the request that owns `cancellation`, if one was made. */
  callFor(cancellation: Cancellation): UpstreamCallRecord | undefined {
    return this.#calls.get(cancellation);
  }

  override async unary(
    method: CatalogMethod,
    request: Uint8Array,
    options: UnaryCallOptions,
  ): Promise<UnaryResult> {
    const started = performance.now();
    let grpcCode: number = Code.OK;
    let instanceAddress: string | undefined;
    try {
      const result = await super.unary(method, request, options);
      instanceAddress = result.instance.address;
      return result;
    } catch (error) {
      grpcCode = error instanceof GatewayError ? error.code : Code.UNKNOWN;
      if (error instanceof UpstreamError) instanceAddress = error.instance?.address;
      throw error;
    } finally {
      const durationMs = performance.now() - started;
      this.#metrics.upstreamFinished({
        service: method.service,
        method: method.name,
        grpcCode,
        durationSeconds: durationMs / 1000,
      });
      if (options.cancellation) {
        this.#calls.set(options.cancellation, { method, instanceAddress, grpcCode, durationMs });
      }
    }
  }
}
