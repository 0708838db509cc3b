import type { PolicyMatch } from "./policy.js";

/**
 * A policy's `match`, compiled once per config revision (issue 15): `backends` a set, `methods` globs
 * over `<package>.<Service>/<Method>` (`*` = any run of characters), `routes` either a REST template as
 * written in a rule (`/v1/{name=shelves/*}/books`, compared as text) or a glob over paths (`*` = any run
 * within one segment, `**` = any run across segments). A glob over paths is matched against each route of
 * the method with its variables written as the segments they match (`{name=shelves/*}` → `shelves/*`,
 * `{id}` → `*`), and against the default route `/<package>.<Service>/<Method>`: `/v1/shelves/**` selects
 * every method whose route lies under `/v1/shelves/`. Only matched when a snapshot is built.
 */

/** What a selector sees of one method. */
export interface SelectorMethod {
  readonly backend: string;
  /** `pkg.Service/Method`. */
  readonly selector: string;
  /** The method's REST templates as written, and its default route `/pkg.Service/Method`. */
  readonly routes: readonly string[];
}

export interface CompiledMatch {
  matches(method: SelectorMethod): boolean;
}

/** Matches every method (no `match`, or an empty one). */
export const MATCH_ALL: CompiledMatch = Object.freeze({ matches: () => true });

export function compileMatch(match: PolicyMatch | undefined): CompiledMatch {
  if (match === undefined) return MATCH_ALL;
  const backends = match.backends === undefined ? undefined : new Set(match.backends);
  const methods = match.methods?.map(methodGlob);
  const routes = match.routes?.map((pattern) => ({ pattern, glob: pathGlob(pattern) }));
  if (!backends && !methods && !routes) return MATCH_ALL;
  return {
    matches(method) {
      if (backends && !backends.has(method.backend)) return false;
      if (methods && !methods.some((re) => re.test(method.selector))) return false;
      if (routes) {
        const shapes = method.routes.map(routeShape);
        const hit = routes.some(
          ({ pattern, glob }) => method.routes.includes(pattern) || shapes.some((shape) => glob.test(shape)),
        );
        if (!hit) return false;
      }
      return true;
    },
  };
}

/** `acme.*.v1.LibraryService/*` → an anchored RegExp; `*` is any run of characters. */
export function methodGlob(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map(escapeRegExp).join(".*")}$`);
}

/** `/v1/shelves/**` → an anchored RegExp: `**` any run, `*` any run without `/`. */
export function pathGlob(glob: string): RegExp {
  const source = glob
    .split("**")
    .map((part) => part.split("*").map(escapeRegExp).join("[^/]*"))
    .join(".*");
  return new RegExp(`^${source}$`);
}

/** A template with each variable written as the segments it matches: `/v1/{name=shelves/*}` → `/v1/shelves/*`. */
export function routeShape(template: string): string {
  return template.replace(
    /\{[^}=]*(?:=([^}]*))?\}/g,
    (_whole, pattern: string | undefined) => pattern ?? "*",
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
