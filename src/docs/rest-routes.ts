import type { CatalogMethod, CatalogSnapshot } from "../catalog/catalog.js";

/** A conflict between two REST bindings of the same method and shape (the router's RouteConflict). */
export interface RestRouteConflict {
  readonly verb: string;
  readonly pattern: string;
  readonly keptPattern: string;
  readonly kept: string;
  readonly dropped: string;
}

/**
 * One google.api.http binding as the route table sees it: structurally the router's RouteInfo, as
 * `CatalogSnapshot.routes.routes()` lists them.
 */
export interface RestRoute {
  readonly verb: string;
  readonly pattern: string;
  /** The method's fully-qualified name. */
  readonly selector: string;
  readonly source: "descriptor" | "rules-file";
  readonly body: string;
  readonly responseBody: string;
  readonly bindingIndex: number;
  /** False when a conflict dropped it or its template is invalid. */
  readonly active: boolean;
  readonly conflicts: readonly RestRouteConflict[];
}

/** Methods by fully-qualified name (REST routes name their method by selector). */
export function methodsByName(snapshot: CatalogSnapshot): ReadonlyMap<string, CatalogMethod> {
  let byName = byNameCache.get(snapshot);
  if (!byName) {
    byName = new Map([...snapshot.methodsByPath.values()].map((m) => [m.fullName, m]));
    byNameCache.set(snapshot, byName);
  }
  return byName;
}

const byNameCache = new WeakMap<CatalogSnapshot, ReadonlyMap<string, CatalogMethod>>();
