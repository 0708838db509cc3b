import type { CatalogMethod, CatalogSnapshot } from "../catalog/catalog.js";
import type { HttpRule } from "../router/http-rule.js";
import {
  createRouteTable,
  mergeHttpRules,
  type RouteEntry,
  type RouteTable,
  validateBinding,
} from "../router/index.js";

/** A catalog snapshot and the REST route table built from it: swapped together, read together. */
export interface RoutedSnapshot {
  readonly snapshot: CatalogSnapshot;
  readonly routes: RouteTable<CatalogMethod>;
  /** Rule problems of this snapshot (file rules naming no method, bindings that do not fit their method). */
  readonly problems: readonly string[];
}

/**
 * Builds the REST route table of a snapshot: the methods' `google.api.http` rules merged with the rules
 * file (a file rule replaces the descriptor's rules of its selector), each binding checked against its
 * request type, so a request never meets a rule that cannot work. Runs off the request path.
 */
export function routeSnapshot(snapshot: CatalogSnapshot, fileRules: readonly HttpRule[]): RoutedSnapshot {
  const methods = new Map<string, CatalogMethod>();
  for (const method of snapshot.methodsByPath.values()) methods.set(method.fullName, method);
  const declared = [...methods.values()].flatMap((m) => m.httpRules);
  const problems: string[] = [];
  const entries: RouteEntry<CatalogMethod>[] = [];
  for (const rule of mergeHttpRules(declared, fileRules)) {
    const method = methods.get(rule.selector);
    if (!method) {
      // A rules file may name methods of backends that are not up yet; not an error, but worth a line.
      if (rule.source === "rules-file")
        problems.push(`http rule for ${rule.selector}: no such method is discovered`);
      continue;
    }
    const bindings = [rule, ...rule.additionalBindings];
    const bad = bindings.flatMap((b) =>
      validateBinding(method.requestType, b).map((p) => `${b.verb} ${b.pattern}: ${p}`),
    );
    if (bad.length > 0) {
      problems.push(...bad.map((p) => `http rule for ${rule.selector} (${rule.source}) ignored: ${p}`));
      continue;
    }
    entries.push({ rule, target: method });
  }
  const routes = createRouteTable(entries);
  for (const conflict of routes.conflicts) {
    problems.push(
      `route conflict: ${conflict.verb} ${conflict.pattern} of ${conflict.dropped} is shadowed by ${conflict.keptPattern} of ${conflict.kept}`,
    );
  }
  for (const invalid of routes.invalid) {
    problems.push(`route ${invalid.verb} ${invalid.pattern} of ${invalid.selector}: ${invalid.reason}`);
  }
  return { snapshot, routes, problems };
}
