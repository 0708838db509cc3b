import type { StaticBackend } from "../config/static-backend.js";
import type { BackendInstance, BackendSet, Registry, RegistryHealth } from "./registry.js";

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
