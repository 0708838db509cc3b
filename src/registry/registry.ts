/**
 * The registry: where backends and their instances come from. Static (`--backend name=host:port`) and
 * etcd (list-then-watch under a prefix) implement the same interface; nothing else chooses an address.
 */

/** Per-instance settings carried by the registry (etcd naming `Metadata`; CONTRACT.md §6). */
export interface InstanceMetadata {
  /** Dial the instance with TLS. Default false. */
  tls?: boolean;
  /** `:authority` / TLS server name to use instead of the address. */
  authority?: string;
}

/** One reachable process serving a backend. */
export interface BackendInstance {
  /** Backend (logical service group) name, e.g. `library`. */
  readonly backend: string;
  /** Stable id within the backend: the etcd key suffix, or the address for static entries. */
  readonly id: string;
  /** `host:port` to dial. */
  readonly address: string;
  readonly metadata: Readonly<InstanceMetadata>;
}

/** An immutable view of every known instance, grouped by backend name. */
export type BackendSet = ReadonlyMap<string, readonly BackendInstance[]>;

/** What `/readyz` and logs say about the registry. */
export interface RegistryHealth {
  /** The initial set has been loaded at least once. */
  loaded: boolean;
  /** The source is reachable now (always true for static). While false the last known set is served. */
  connected: boolean;
  /** Human-readable state, e.g. `watching from revision 42` or `etcd unreachable since …; serving last known set`. */
  detail: string;
}

export interface Registry {
  /** Loads the initial set and begins watching. Resolves once the first set is known. */
  start(): Promise<void>;
  /** The current set (same object until it changes). */
  current(): BackendSet;
  /** Called with the new set after every change; returns an unsubscribe function. */
  onChange(listener: (backends: BackendSet) => void): () => void;
  health(): RegistryHealth;
  /** Stops watching and releases connections. */
  close(): Promise<void>;
}

/** Two instances are the same endpoint when backend, id, address and metadata are equal. */
export function sameInstance(a: BackendInstance, b: BackendInstance): boolean {
  return (
    a.backend === b.backend &&
    a.id === b.id &&
    a.address === b.address &&
    a.metadata.tls === b.metadata.tls &&
    a.metadata.authority === b.metadata.authority
  );
}

/** A string identifying an instance endpoint; equal keys ⇔ `sameInstance`. */
export function instanceKey(instance: BackendInstance): string {
  const { backend, id, address, metadata } = instance;
  return `${backend}\u0000${id}\u0000${address}\u0000${metadata.tls ? 1 : 0}\u0000${metadata.authority ?? ""}`;
}
