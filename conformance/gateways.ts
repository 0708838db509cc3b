import type { Logger } from "pino";
import type { RunningBackend } from "../fixtures/backends.js";
import { startConformanceBackend } from "../fixtures/conformance-backend.js";
import { createGateway, DEFAULT_CONFIG, type JsonOptions, type RunningGateway } from "../src/index.js";
import { createLogger } from "../src/telemetry/logger.js";
import type { GatewayUrls } from "./answer.js";

/** Which JSON options the testee's gateways run with. */
export type OptionProfile =
  /**
   * What the suite expects of a proto3 JSON printer: unpopulated fields left out
   * (`emitUnpopulated: false`); everything else the gateway default.
   */
  | "canonical"
  /** The gateway's defaults as they are (`emitUnpopulated: true`: defaults printed, unset messages `null`). */
  | "defaults";

export interface ConformanceGateways {
  readonly urls: GatewayUrls;
  readonly backend: RunningBackend;
  /** Closes both gateways, then the backend. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the echo backend and two real gateways in front of it (static backend, free loopback ports,
 * schema learnt through server reflection): one with the profile's options, one that also discards
 * unknown fields. Logs go to stderr (stdout carries the protocol) at `logLevel` (default "error": a 500 the suite provokes on purpose is logged as a warning).
 */
export async function startConformanceGateways(
  options: { profile?: OptionProfile; logLevel?: string; logger?: Logger } = {},
): Promise<ConformanceGateways> {
  const logger =
    options.logger ?? createLogger({ level: options.logLevel ?? "error", destination: process.stderr });
  const base: Partial<JsonOptions> = options.profile === "defaults" ? {} : { emitUnpopulated: false };
  const opened: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of opened.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    const backend = await startConformanceBackend();
    opened.push(() => backend.close());
    const start = async (json: Partial<JsonOptions>): Promise<string> => {
      const gateway: RunningGateway = await createGateway({
        port: 0,
        adminPort: 0,
        host: "127.0.0.1",
        adminHost: "127.0.0.1",
        refreshIntervalMs: 0,
        docs: false,
        compression: false,
        backends: [{ name: "conformance", address: backend.address }],
        json: { ...DEFAULT_CONFIG.json, ...base, ...json },
        logger,
      });
      opened.push(() => gateway.close());
      return (await gateway.start()).publicUrl;
    };
    const strict = await start({});
    const lenient = await start({ discardUnknownFields: true });
    let closing: Promise<void> | undefined;
    return { urls: { strict, lenient }, backend, close: () => (closing ??= closeAll()) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
