import type { CatalogSnapshot } from "../catalog/catalog.js";
import type { Registry, RegistryHealth } from "../registry/registry.js";

/**
 * What a running gateway reports about itself (`RunningGateway.status()`): the facts behind `/readyz`
 * and `/admin/backends`, as a read-only plain object made when asked — a copy, never live state.
 */
export interface GatewayStatus {
  /** Registry loaded, a catalog built and not shutting down (what `/readyz` answers 200 for). */
  readonly ready: boolean;
  /** Why not ready (empty when ready): the `/readyz` reasons. */
  readonly reasons: readonly string[];
  /** e.g. `{ loaded: true, connected: false, detail: "etcd unreachable since …; serving last known set" }`. */
  readonly registry: Readonly<RegistryHealth>;
  readonly catalog: {
    /** A catalog has been built at least once. */
    readonly built: boolean;
    /** Increases with every catalog swap. */
    readonly generation: number;
    /** Methods routed (each has its default `POST /pkg.Service/Method` route). */
    readonly methods: number;
    /** Routes served: the methods' default routes plus the active REST bindings. */
    readonly routes: number;
    /** Backends whose first schema fetch has not ended yet. */
    readonly pendingBackends: readonly string[];
    /** Problems of the last build (methods skipped, duplicate services, …). */
    readonly problems: readonly string[];
  };
  /** Every registered backend with its instances and what each one's reflection reported. */
  readonly backends: readonly BackendStatus[];
}

export interface BackendStatus {
  readonly name: string;
  readonly instances: readonly InstanceStatus[];
}

export interface InstanceStatus {
  readonly id: string;
  readonly address: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `v1` or `v1alpha` once a schema was fetched, else null. */
  readonly reflectionVersion: string | null;
  readonly descriptorHash: string | null;
  readonly services: readonly string[];
  /** ISO time of the last successful fetch, or null. */
  readonly lastRefreshAt: string | null;
  /** The last fetch's error, or null. */
  readonly lastError: string | null;
}

export interface GatewayStatusSources {
  registry: Registry;
  catalog: { current(): CatalogSnapshot; hasCatalog(): boolean };
  isDraining(): boolean;
}

/** Reads the status now (not on the request path: an operator's or an embedder's question). */
export function readGatewayStatus(sources: GatewayStatusSources): GatewayStatus {
  const health = sources.registry.health();
  const built = sources.catalog.hasCatalog();
  const draining = sources.isDraining();
  const reasons = [
    ...(health.loaded ? [] : ["registry not loaded yet"]),
    ...(built ? [] : ["no catalog built yet"]),
    ...(draining ? ["shutting down"] : []),
  ];
  const snapshot = sources.catalog.current();
  const backends = [...sources.registry.current()].map(([name, instances]) => {
    const statuses = snapshot.instances.get(name) ?? [];
    return {
      name,
      instances: instances.map((instance) => {
        const status = statuses.find(
          (s) => s.instance.id === instance.id && s.instance.address === instance.address,
        );
        return {
          id: instance.id,
          address: instance.address,
          metadata: { ...instance.metadata },
          reflectionVersion: status?.reflectionVersion ?? null,
          descriptorHash: status?.descriptorHash ?? null,
          services: [...(status?.services ?? [])],
          lastRefreshAt: status?.lastRefreshAt ? new Date(status.lastRefreshAt).toISOString() : null,
          lastError: status?.lastError ?? null,
        };
      }),
    };
  });
  const restRoutes = snapshot.routes.routes().filter((route) => route.active).length;
  return deepFreeze({
    ready: reasons.length === 0,
    reasons,
    registry: { ...health },
    catalog: {
      built,
      generation: snapshot.generation,
      methods: snapshot.methodsByPath.size,
      routes: snapshot.methodsByPath.size + restRoutes,
      pendingBackends: [...(snapshot.pendingBackends ?? [])],
      problems: [...snapshot.problems],
    },
    backends,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
