import type { HttpRule } from "../router/http-rule.js";
import {
  createRouteTable,
  mergeHttpRules,
  type RouteEntry,
  type RouteTable,
  validateBinding,
} from "../router/index.js";
import type { CatalogMethod } from "./catalog.js";

/** A snapshot's REST route table and the rule problems met building it. */
export interface BuiltRoutes {
  readonly routes: RouteTable<CatalogMethod>;
  /** File rules naming no method, bindings that do not fit their method, conflicts, invalid templates. */
  readonly problems: readonly string[];
}

/**
 * Builds the REST route table of a snapshot's methods: their `google.api.http` rules merged with the
 * rules file (a file rule replaces the descriptor's rules of its selector), each binding checked against
 * its request type, so a request never meets a rule that cannot work. Runs when the snapshot is built.
 */
export function buildRoutes(methods: Iterable<CatalogMethod>, fileRules: readonly HttpRule[]): BuiltRoutes {
  const byName = new Map<string, CatalogMethod>();
  for (const method of methods) byName.set(method.fullName, method);
  const declared = [...byName.values()].flatMap((m) => m.httpRules);
  const problems: string[] = [];
  const entries: RouteEntry<CatalogMethod>[] = [];
  for (const rule of mergeHttpRules(declared, fileRules)) {
    const method = byName.get(rule.selector);
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
  return { routes, problems };
}
