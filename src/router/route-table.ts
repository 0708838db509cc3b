/**
 * The route table: every google.api.http binding of one catalog snapshot, compiled once into a trie
 * keyed by literal segments with `*` and `**` edges, so a match costs O(path segments), not O(routes).
 *
 * Decisions (see also index.ts):
 * - Precedence at each segment: literal, then `*`, then `**` (a `**` route ends the walk). Among the
 *   routes reaching one trie node, the one for the request's method wins; a path that only matches
 *   under other methods is "method-not-allowed" with their union as `Allow`.
 * - Verbs: the last segment's last `:` separates a verb only when some route has that verb; a route
 *   with that verb is tried first, then the segment is matched whole (grpc-gateway's behaviour).
 * - HEAD matches the GET route of a path unless a rule declares HEAD itself (custom kind "HEAD"); the
 *   server sends no body for HEAD. A custom kind `*` matches any method, after explicit methods.
 * - Conflicts (same method, same shape: `/v1/{name=books/*}` ≡ `/v1/books/{id}`) are resolved by
 *   selector order (ordinal string comparison), then declaration order; the loser is reported in
 *   `conflicts`, never thrown. An invalid template is reported in `invalid` and skipped.
 */

import {
  type CompiledTemplate,
  compileTemplate,
  extractPathParams,
  type PathParam,
  splitRequestPath,
} from "./compile.js";
import type { HttpRule } from "./http-rule.js";
import { normalizeSegment } from "./percent.js";
import { TemplateSyntaxError } from "./template.js";

/** One HTTP binding of a method: a rule itself or one of its `additional_bindings`, flattened. */
export interface HttpBinding {
  /** The method's selector (additional bindings inherit their parent's). */
  readonly selector: string;
  readonly verb: string;
  readonly pattern: string;
  readonly body: string;
  readonly responseBody: string;
  readonly source: HttpRule["source"];
  /** 0 for the rule itself, 1… for its additional bindings in order. */
  readonly bindingIndex: number;
}

/** One input of createRouteTable: a rule (with its additional bindings) and what it routes to. */
export interface RouteEntry<T> {
  readonly rule: HttpRule;
  readonly target: T;
}

/** Two bindings with the same method and equivalent templates; `kept` wins, `dropped` is unreachable. */
export interface RouteConflict {
  readonly verb: string;
  /** The dropped binding's template. */
  readonly pattern: string;
  /** The kept binding's template (equivalent, possibly with other variable names). */
  readonly keptPattern: string;
  readonly kept: string;
  readonly dropped: string;
}

/**
 * A binding whose template does not parse (left out of the table), or one that nests further
 * additional bindings (those are ignored; the binding itself is routed).
 */
export interface InvalidRoute {
  readonly selector: string;
  readonly verb: string;
  readonly pattern: string;
  readonly reason: string;
}

/** One row of `/admin/routes`. */
export interface RouteInfo {
  readonly verb: string;
  readonly pattern: string;
  readonly selector: string;
  readonly source: HttpRule["source"];
  readonly body: string;
  readonly responseBody: string;
  readonly bindingIndex: number;
  /** False when a conflict dropped it or its template is invalid. */
  readonly active: boolean;
  /** Conflicts this binding took part in, as kept or dropped. */
  readonly conflicts: readonly RouteConflict[];
}

export type RouteMatch<T> =
  | {
      readonly kind: "match";
      readonly target: T;
      readonly binding: HttpBinding;
      readonly pathParams: readonly PathParam[];
    }
  | { readonly kind: "method-not-allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not-found" };

export interface RouteTable<T> {
  /**
   * Routes a request. `path` is the raw request target path, still percent-encoded (a query string
   * is ignored). Throws GatewayError INVALID_ARGUMENT only when the matched route's path variables
   * hold malformed percent-encoding.
   */
  match(verb: string, path: string): RouteMatch<T>;
  /** Every binding in declaration order, with its conflicts (for `/admin/routes`). */
  routes(): readonly RouteInfo[];
  readonly conflicts: readonly RouteConflict[];
  readonly invalid: readonly InvalidRoute[];
  /** Number of active (matchable) bindings. */
  readonly size: number;
}

interface Route<T> {
  readonly binding: HttpBinding;
  readonly compiled: CompiledTemplate;
  readonly target: T;
}

/** The routes of one trie node (one shape) for one verb, by HTTP method; `*` is the any-method rule. */
type MethodRoutes<T> = Map<string, Route<T>>;

interface TrieNode<T> {
  literals: Map<string, TrieNode<T>> | undefined;
  star: TrieNode<T> | undefined;
  /** Routes whose template ends at this node, by verb ("" = none). */
  end: Map<string, MethodRoutes<T>> | undefined;
  /** Routes whose template ends with `**` after this node, by verb. */
  deep: Map<string, MethodRoutes<T>> | undefined;
}

const newNode = <T>(): TrieNode<T> => ({
  literals: undefined,
  star: undefined,
  end: undefined,
  deep: undefined,
});
const ANY_METHOD = "*";
// Allow lists in a stable, conventional order; other methods follow alphabetically.
const METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/** Flattens a rule and its additional bindings ("the nesting may only be one level deep"). */
export function expandBindings(rule: HttpRule): HttpBinding[] {
  const one = (r: HttpRule, bindingIndex: number): HttpBinding => ({
    selector: rule.selector,
    verb: r.verb,
    pattern: r.pattern,
    body: r.body,
    responseBody: r.responseBody,
    source: rule.source,
    bindingIndex,
  });
  return [one(rule, 0), ...rule.additionalBindings.map((b, i) => one(b, i + 1))];
}

/** Builds the immutable table of one catalog snapshot. Never throws for bad input rules. */
export function createRouteTable<T>(entries: Iterable<RouteEntry<T>>): RouteTable<T> {
  const root = newNode<T>();
  const verbs = new Set<string>();
  const conflicts: RouteConflict[] = [];
  const invalid: InvalidRoute[] = [];
  const declared: Array<{ binding: HttpBinding; target: T; order: number }> = [];
  for (const entry of entries) {
    for (const binding of expandBindings(entry.rule))
      declared.push({ binding, target: entry.target, order: declared.length });
    // "Nested bindings must not contain an `additional_bindings` field themselves": reported, ignored.
    for (const nested of entry.rule.additionalBindings) {
      if (nested.additionalBindings.length === 0) continue;
      const { verb, pattern } = nested;
      const reason = "an additional binding has its own additional_bindings; they were ignored";
      invalid.push({ selector: entry.rule.selector, verb, pattern, reason });
    }
  }
  const dropped = new Set<HttpBinding>();
  const conflictsOf = new Map<HttpBinding, RouteConflict[]>();
  const noteConflict = (kept: HttpBinding, lost: HttpBinding, c: RouteConflict) => {
    conflicts.push(c);
    dropped.add(lost);
    for (const b of [kept, lost]) conflictsOf.set(b, [...(conflictsOf.get(b) ?? []), c]);
  };
  // Insertion in (selector, declaration) order makes "first inserted wins" the documented rule.
  const ordered = [...declared].sort((a, b) =>
    a.binding.selector < b.binding.selector
      ? -1
      : a.binding.selector > b.binding.selector
        ? 1
        : a.order - b.order,
  );
  let size = 0;
  for (const { binding, target } of ordered) {
    let compiled: CompiledTemplate;
    try {
      compiled = compileTemplate(binding.pattern);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      const { selector, verb, pattern } = binding;
      invalid.push({ selector, verb, pattern, reason: error.reason });
      dropped.add(binding);
      continue;
    }
    const methods = terminalFor(root, compiled);
    const existing = methods.get(binding.verb);
    if (existing !== undefined) {
      noteConflict(existing.binding, binding, {
        verb: binding.verb,
        pattern: binding.pattern,
        keptPattern: existing.binding.pattern,
        kept: existing.binding.selector,
        dropped: binding.selector,
      });
      continue;
    }
    methods.set(binding.verb, { binding, compiled, target });
    if (compiled.verb !== "") verbs.add(compiled.verb);
    size++;
  }
  const infos: RouteInfo[] = declared.map(({ binding }) => ({
    verb: binding.verb,
    pattern: binding.pattern,
    selector: binding.selector,
    source: binding.source,
    body: binding.body,
    responseBody: binding.responseBody,
    bindingIndex: binding.bindingIndex,
    active: !dropped.has(binding),
    conflicts: conflictsOf.get(binding) ?? [],
  }));
  Object.freeze(infos);

  return {
    match: (verb, path) => matchPath(root, verbs, verb, path),
    routes: () => infos,
    conflicts: Object.freeze(conflicts),
    invalid: Object.freeze(invalid),
    size,
  };
}

function terminalFor<T>(root: TrieNode<T>, compiled: CompiledTemplate): MethodRoutes<T> {
  let node = root;
  let table: "end" | "deep" = "end";
  for (const s of compiled.segments) {
    if (s.kind === "literal") {
      node.literals ??= new Map();
      node = getOrCreate(node.literals, s.value, () => newNode<T>());
    } else if (s.kind === "wildcard") {
      node.star ??= newNode();
      node = node.star;
    } else {
      table = "deep"; // always the last segment (the parser guarantees it)
    }
  }
  const byVerb = node[table] ?? new Map<string, MethodRoutes<T>>();
  node[table] = byVerb;
  return getOrCreate(byVerb, compiled.verb, () => new Map());
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Per-request state of one lookup. */
interface Lookup {
  readonly method: string;
  readonly segments: readonly string[];
  readonly verb: string;
  allow: Set<string> | undefined;
}

function matchPath<T>(
  root: TrieNode<T>,
  verbs: ReadonlySet<string>,
  method: string,
  path: string,
): RouteMatch<T> {
  const raw = splitRequestPath(path);
  if (raw === undefined) return { kind: "not-found" };
  let allow: Set<string> | undefined;
  // First the verb reading of the last segment, when some route has that verb (verbs never contain ':').
  const last = raw.at(-1);
  const colon = last === undefined ? -1 : last.lastIndexOf(":");
  if (last !== undefined && colon > 0 && verbs.has(last.slice(colon + 1))) {
    const segments = raw.slice();
    segments[segments.length - 1] = last.slice(0, colon);
    const lookup: Lookup = { method, segments, verb: last.slice(colon + 1), allow };
    const route = walk(root, 0, lookup);
    if (route !== undefined) return found(route, segments);
    allow = lookup.allow;
  }
  const lookup: Lookup = { method, segments: raw, verb: "", allow };
  const route = walk(root, 0, lookup);
  if (route !== undefined) return found(route, raw);
  if (lookup.allow !== undefined) return { kind: "method-not-allowed", allow: sortMethods(lookup.allow) };
  return { kind: "not-found" };
}

function found<T>(route: Route<T>, segments: readonly string[]): RouteMatch<T> {
  return {
    kind: "match",
    target: route.target,
    binding: route.binding,
    pathParams: extractPathParams(route.compiled, segments),
  };
}

/** Depth-first in precedence order: literal, `*`, then a `**` ending here. */
function walk<T>(node: TrieNode<T>, i: number, lookup: Lookup): Route<T> | undefined {
  const { segments } = lookup;
  if (i === segments.length) {
    return pick(node.end?.get(lookup.verb), lookup) ?? pick(node.deep?.get(lookup.verb), lookup);
  }
  const segment = segments[i] as string;
  // Empty segments (`//`, a trailing `/`) match no literal and no `*`; only a `**` absorbs them.
  if (segment !== "") {
    if (node.literals !== undefined) {
      const child = node.literals.get(segment.includes("%") ? normalizeSegment(segment) : segment);
      const route = child && walk(child, i + 1, lookup);
      if (route !== undefined) return route;
    }
    if (node.star !== undefined) {
      const route = walk(node.star, i + 1, lookup);
      if (route !== undefined) return route;
    }
  }
  return pick(node.deep?.get(lookup.verb), lookup);
}

/** The route for the request's method at one terminal; otherwise remembers what is allowed there. */
function pick<T>(methods: MethodRoutes<T> | undefined, lookup: Lookup): Route<T> | undefined {
  if (methods === undefined) return undefined;
  const route =
    methods.get(lookup.method) ??
    (lookup.method === "HEAD" ? methods.get("GET") : undefined) ??
    methods.get(ANY_METHOD);
  if (route !== undefined) return route;
  lookup.allow ??= new Set();
  for (const m of methods.keys()) lookup.allow.add(m);
  if (methods.has("GET")) lookup.allow.add("HEAD");
  return undefined;
}

function sortMethods(methods: Set<string>): string[] {
  const rank = (m: string) => {
    const i = METHOD_ORDER.indexOf(m);
    return i < 0 ? METHOD_ORDER.length : i;
  };
  return [...methods].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
