import type { CatalogMethod, CatalogSnapshot } from "../catalog/catalog.js";
import { createRouteTable } from "../router/index.js";

/** A conflict between two REST bindings of the same method and shape (the router's RouteConflict). */
export interface RestRouteConflict {
  readonly verb: string;
  readonly pattern: string;
  readonly keptPattern: string;
  readonly kept: string;
  readonly dropped: string;
}

/** One google.api.http binding as the route table sees it (structurally the router's RouteInfo). */
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

/**
 * The REST routes of a snapshot. /admin/routes and /openapi.json take this as a function so they
 * follow whatever table the gateway routes with (rules file merged, conflicts resolved) without
 * depending on where it is kept.
 */
export type RestRoutesProvider = (snapshot: CatalogSnapshot) => readonly RestRoute[];

/**
 * A provider that builds the router's table from the methods' own `google.api.http` rules, once per
 * snapshot. It is what the gateway routes until the HTTP rules file is merged in; pass the gateway's
 * own table's `routes()` instead once the catalog carries one.
 */
export function descriptorRestRoutes(): RestRoutesProvider {
  const cache = new WeakMap<CatalogSnapshot, readonly RestRoute[]>();
  return (snapshot) => {
    let routes = cache.get(snapshot);
    if (!routes) {
      const entries = [...snapshot.methodsByPath.values()].flatMap((method) =>
        method.httpRules.map((rule) => ({ rule, target: method })),
      );
      routes = createRouteTable<CatalogMethod>(entries).routes();
      cache.set(snapshot, routes);
    }
    return routes;
  };
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
