import { GatewayConfigError } from "../config/config-error.js";
import type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry.js";

/** One `--backend name=host:port` entry. */
export interface StaticBackend {
  name: string;
  address: string;
  tls?: boolean;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ADDRESS_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

/** Parses `name=host:port`; throws a GatewayConfigError naming the problem. */
export function parseBackendFlag(value: string): StaticBackend {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new GatewayConfigError("backend", `"${value}" is not name=host:port`);
  const name = value.slice(0, eq);
  const address = value.slice(eq + 1);
  if (!NAME_RE.test(name)) throw new GatewayConfigError("backend", `invalid backend name "${name}"`);
  const match = ADDRESS_RE.exec(address);
  if (!match || Number(match[2]) > 65535) {
    throw new GatewayConfigError(
      "backend",
      `invalid address "${address}" for backend "${name}" (want host:port)`,
    );
  }
  return { name, address };
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
        metadata: entry.tls === undefined ? {} : { tls: entry.tls },
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
