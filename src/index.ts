/** Refract's public API. */

export type { BackendStatus, GatewayStatus, InstanceStatus } from "./admin/gateway-status.js";
export type { JsonOptions } from "./codec/codec.js";
export { DEFAULT_CONFIG, type GatewayConfig, type GatewayOptions } from "./config/config.js";
export { validateGatewayOptions } from "./config/validate-options.js";
export { Code, type ConfigProblem, GatewayConfigError, GatewayError, httpStatusFromCode } from "./errors.js";
export { createEtcdRegistry, type EtcdRegistryOptions } from "./registry/etcd-registry.js";
export {
  type RegisterBackendOptions,
  type Registration,
  registerBackend,
} from "./registry/register-backend.js";
export type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry/registry.js";
export { createStaticRegistry } from "./registry/static-registry.js";
export { type CreateGatewayOptions, createGateway, type RunningGateway } from "./server/create-gateway.js";
