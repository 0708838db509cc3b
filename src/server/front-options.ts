import { readFileSync } from "node:fs";
import type { GatewayConfig } from "../config/config.js";
import { GatewayConfigError } from "../errors.js";
import type { CompressionSettings } from "./front-compression.js";
import { type CorsSettings, corsProblem } from "./front-cors.js";
import type { ListenerOptions } from "./listener.js";

/** Everything about the public port that is not the gateway itself: protocols, browsers, limits. */
export interface FrontOptions {
  /** Absent: no CORS headers at all, every cross-origin browser call is refused (the default). */
  cors?: CorsSettings | undefined;
  compression: CompressionSettings;
  /** Requests in flight at once; 0 = no limit. */
  maxConcurrentRequests: number;
  listener: ListenerOptions;
}

/**
 * The front options a configuration asks for. TLS files are read here, once, so that a missing file
 * fails start-up with the option's name. Throws GatewayConfigError for combinations that cannot work.
 */
export function frontOptionsFromConfig(config: GatewayConfig): FrontOptions {
  const cors: CorsSettings | undefined =
    config.corsOrigins.length === 0
      ? undefined
      : {
          origins: config.corsOrigins,
          credentials: config.corsCredentials,
          maxAgeSeconds: Math.round(config.corsMaxAgeMs / 1000),
        };
  const problem = cors && corsProblem(cors);
  if (problem) throw new GatewayConfigError("cors-origin", problem);
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new GatewayConfigError(
      config.tlsCert === undefined ? "tls-key" : "tls-cert",
      "--tls-cert and --tls-key go together",
    );
  }
  // Node refuses a headers timeout longer than the request timeout (ERR_OUT_OF_RANGE at start-up).
  if (config.requestTimeoutMs > 0 && config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new GatewayConfigError("headers-timeout", "must not be longer than --request-timeout");
  }
  const tls =
    config.tlsCert === undefined || config.tlsKey === undefined
      ? undefined
      : { cert: readFile(config.tlsCert, "tls-cert"), key: readFile(config.tlsKey, "tls-key") };
  return {
    cors,
    compression: { enabled: config.compression, thresholdBytes: config.compressionThresholdBytes },
    maxConcurrentRequests: config.maxConcurrentRequests,
    listener: {
      tls,
      http2: config.http2,
      maxHeaderBytes: config.maxHeaderBytes,
      maxHeaderCount: config.maxHeaderCount,
      maxConcurrentStreams: config.maxConcurrentStreams,
      idleTimeoutMs: config.idleTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
    },
  };
}

function readFile(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new GatewayConfigError(option, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
}
