/**
 * The router: google.api.http path templates (parse → compile → match), the per-snapshot route table,
 * request binding (path + query + body → one proto3 JSON request value) and the HTTP rules file.
 * It imports no HTTP framework and nothing from the catalog (which sits above it); request binding reads
 * the codec's compiled plans and parses path and query values by the codec's scalar rules.
 *
 * Typical wiring (per catalog snapshot, then per request):
 *
 *     const table = createRouteTable(methods.flatMap((m) => m.rules.map((rule) => ({ rule, target: m }))));
 *     const m = table.match(request.method, request.url);
 *     if (m.kind === "not-found") throw errors.routeNotFound(request.method, path);
 *     if (m.kind === "method-not-allowed") throw errors.methodNotAllowed(request.method, path, m.allow);
 *     const value = bindRequest({ type, binding: m.binding, pathParams: m.pathParams, query, body });
 *     const bytes = codec.valueToBinary(value);
 *
 * Decisions: precedence is literal over `*` over `**` per segment, the request's method choosing among
 * routes of the same shape; a `:verb` is split off only for routes that declare that verb (grpc-gateway);
 * HEAD falls back to GET routes; single-segment variables are fully percent-decoded while multi-segment
 * ones keep `%2F` (http.proto); conflicts are resolved by selector order and reported, never thrown.
 */

/** Request binding: path variables, query parameters and body → the request message's JSON. */
export {
  type BindRequestInput,
  type BindRequestOptions,
  bindRequest,
  parseQuery,
  validateBinding,
} from "./bind-request.js";
/** Compiled templates and single-template matching. */
export {
  type Capture,
  type CompiledSegment,
  type CompiledTemplate,
  compileTemplate,
  matchTemplate,
  type PathParam,
  splitRequestPath,
} from "./compile.js";
/** The HTTP rules file (service-config YAML) and its merge with descriptor rules. */
export { HttpRulesError, loadHttpRules, mergeHttpRules, readHttpRulesFile } from "./http-rules-file.js";
/** The route table of one catalog snapshot. */
export {
  createRouteTable,
  expandBindings,
  type HttpBinding,
  type InvalidRoute,
  type RouteConflict,
  type RouteEntry,
  type RouteInfo,
  type RouteMatch,
  type RouteTable,
} from "./route-table.js";
/** Path template syntax: parse to an AST, print back. */
export {
  type DeepWildcardSegment,
  type LiteralSegment,
  type PathTemplate,
  type PlainSegment,
  parseTemplate,
  printTemplate,
  type Segment,
  TemplateSyntaxError,
  type VariableSegment,
  type WildcardSegment,
} from "./template.js";
