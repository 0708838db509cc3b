/** Refract's public API. */
export { DEFAULT_CONFIG, type GatewayConfig } from "./config/config.js";
export { Code, GatewayError, httpStatusFromCode } from "./errors.js";
export type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry/registry.js";
export { createStaticRegistry } from "./registry/static-registry.js";
export { type CreateGatewayOptions, createGateway, type RunningGateway } from "./server/create-gateway.js";
