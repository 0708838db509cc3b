import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { GatewayConfig } from "../config/config.js";
import { GatewayConfigError } from "../errors.js";
import type { ChannelPoolOptions } from "./channel-pool.js";

/** Files that make the credentials for TLS backends (all PEM). */
export interface BackendTlsFiles {
  /** CA bundle the backends' certificates must chain to. Default: the system roots. */
  caFile?: string | undefined;
  /** Client certificate (chain) presented to backends that ask for one (mTLS); with `keyFile`. */
  certFile?: string | undefined;
  /** Private key of `certFile`. */
  keyFile?: string | undefined;
}

/**
 * Channel credentials for every instance whose registry entry says `tls` (static `grpcs://`, config-file
 * `tls: true`, or etcd metadata). Built once at start-up: the files are read here, so a missing or
 * unreadable file fails start-up naming the option rather than the first call to a TLS backend.
 */
export function createBackendCredentials(files: BackendTlsFiles): grpc.ChannelCredentials {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new GatewayConfigError(
      files.certFile === undefined ? "backend-key" : "backend-cert",
      "--backend-cert and --backend-key go together (the client certificate and its key)",
    );
  }
  const ca = files.caFile === undefined ? null : readPem(files.caFile, "backend-ca");
  const cert = files.certFile === undefined ? null : readPem(files.certFile, "backend-cert");
  const key = files.keyFile === undefined ? null : readPem(files.keyFile, "backend-key");
  try {
    return grpc.credentials.createSsl(ca, key, cert);
  } catch (error) {
    throw new GatewayConfigError("backend-cert", `unusable TLS material: ${(error as Error).message}`);
  }
}

/** The ChannelPool options the configuration asks for: TLS credentials, server name, compression. */
export function backendChannelOptions(config: GatewayConfig): ChannelPoolOptions {
  return {
    maxResponseBytes: config.maxResponseBytes,
    maxBackendHeaderBytes: config.maxBackendHeaderBytes,
    tlsCredentials: createBackendCredentials({
      caFile: config.backendCa,
      certFile: config.backendCert,
      keyFile: config.backendKey,
    }),
    ...(config.backendServerName === undefined ? {} : { tlsServerName: config.backendServerName }),
    ...(config.backendCompression === "none" ? {} : { compression: config.backendCompression }),
  };
}

function readPem(path: string, option: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new GatewayConfigError(option, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  if (!pem.includes("-----BEGIN ")) throw new GatewayConfigError(option, `${path} is not a PEM file`);
  return pem;
}
