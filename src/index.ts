/** Refract's public API. */

export type { JsonOptions } from "./codec/codec.js";
export { DEFAULT_CONFIG, type GatewayConfig } from "./config/config.js";
export { Code, GatewayError, httpStatusFromCode } from "./errors.js";
export { createEtcdRegistry, type EtcdRegistryOptions } from "./registry/etcd-registry.js";
export {
  type RegisterBackendOptions,
  type Registration,
  registerBackend,
} from "./registry/register-backend.js";
export type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry/registry.js";
export { createStaticRegistry } from "./registry/static-registry.js";
export { type CreateGatewayOptions, createGateway, type RunningGateway } from "./server/create-gateway.js";
