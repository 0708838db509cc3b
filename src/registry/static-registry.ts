import { GatewayConfigError } from "../config/config-error.js";
import type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry.js";

/** One `--backend name=host:port` entry (or a config-file `backends` item). */
export interface StaticBackend {
  name: string;
  address: string;
  /** Dial with TLS (`name=grpcs://host:port` on the command line). Default false. */
  tls?: boolean;
  /** `:authority` and TLS server name to use instead of the address. */
  authority?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ADDRESS_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

const SCHEME_RE = /^(grpcs?):\/\//;

/**
 * Parses `name=host:port`, `name=grpc://host:port` or `name=grpcs://host:port` (TLS); throws a
 * GatewayConfigError naming the problem. The scheme is the one flag-sized way to say "TLS" per backend;
 * certificates are gateway-wide (`--backend-ca`, `--backend-cert`, `--backend-key`).
 */
export function parseBackendFlag(value: string): StaticBackend {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new GatewayConfigError("backend", `"${value}" is not name=host:port`);
  const name = value.slice(0, eq);
  const target = value.slice(eq + 1);
  const scheme = SCHEME_RE.exec(target)?.[1];
  const address = scheme === undefined ? target : target.slice(scheme.length + 3);
  if (!NAME_RE.test(name)) throw new GatewayConfigError("backend", `invalid backend name "${name}"`);
  const match = ADDRESS_RE.exec(address);
  if (!match || Number(match[2]) > 65535) {
    throw new GatewayConfigError(
      "backend",
      `invalid address "${address}" for backend "${name}" (want host:port)`,
    );
  }
  return scheme === "grpcs" ? { name, address, tls: true } : { name, address };
}

/** A fixed set of instances given on the command line: loaded at start, never changes. */
export function createStaticRegistry(entries: readonly StaticBackend[]): Registry {
  const grouped = new Map<string, BackendInstance[]>();
  for (const entry of entries) {
    const list = grouped.get(entry.name) ?? [];
    if (!list.some((i) => i.address === entry.address)) {
      list.push({
        backend: entry.name,
        id: entry.address,
        address: entry.address,
        metadata: {
          ...(entry.tls === undefined ? {} : { tls: entry.tls }),
          ...(entry.authority === undefined ? {} : { authority: entry.authority }),
        },
      });
    }
    grouped.set(entry.name, list);
  }
  const backends: BackendSet = grouped;
  let started = false;
  return {
    async start() {
      started = true;
    },
    current: () => backends,
    onChange: () => () => {},
    health(): RegistryHealth {
      return { loaded: started, connected: true, detail: `static: ${entries.length} instance(s)` };
    },
    async close() {},
  };
}
