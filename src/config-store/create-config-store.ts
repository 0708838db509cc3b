import type { Logger } from "pino";
import type { GatewayConfig } from "../config/config.js";
import { GatewayConfigError } from "../errors.js";
import { normalizePrefix } from "../registry/registry-value.js";
import type { ConfigSource } from "./config-source.js";
import { ConfigStore, type ConfigStoreMetrics } from "./config-store.js";
import { createEtcdConfigSource } from "./etcd-config-source.js";
import { createFileConfigSource } from "./file-config-source.js";
import type { PolicyTypeSchema } from "./validate-documents.js";

export interface ConfigStoreFromConfigOptions {
  types: readonly PolicyTypeSchema[];
  logger: Logger;
  metrics?: ConfigStoreMetrics;
}

/**
 * The store of a gateway's configuration: the `--config` file's lists when there is a file, etcd under
 * `--config-prefix` when `--etcd` is set (same endpoints and timeouts as the registry). Nothing is read or
 * opened before start(). Throws GatewayConfigError when the config prefix and the registry prefix overlap
 * (each watch would read the other's keys).
 */
export function createConfigStore(config: GatewayConfig, options: ConfigStoreFromConfigOptions): ConfigStore {
  const sources: ConfigSource[] = [];
  if (config.configFile !== undefined) {
    sources.push(createFileConfigSource({ path: config.configFile, logger: options.logger }));
  }
  if (config.etcd.length > 0) {
    const configPrefix = normalizePrefix(config.configPrefix);
    const registryPrefix = normalizePrefix(config.etcdPrefix);
    if (configPrefix.startsWith(registryPrefix) || registryPrefix.startsWith(configPrefix)) {
      throw new GatewayConfigError(
        "configPrefix",
        `"${configPrefix}" overlaps the backend registry prefix "${registryPrefix}"; use separate prefixes`,
      );
    }
    sources.push(
      createEtcdConfigSource({
        endpoints: config.etcd,
        prefix: configPrefix,
        logger: options.logger,
        dialTimeoutMs: config.etcdDialTimeoutMs,
        startTimeoutMs: config.etcdStartTimeoutMs,
        retryInitialMs: config.etcdRetryInitialMs,
        retryMaxMs: config.etcdRetryMaxMs,
        unreachableRetryMaxMs: config.etcdUnreachableRetryMaxMs,
      }),
    );
  }
  return new ConfigStore({
    types: options.types,
    sources,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}
