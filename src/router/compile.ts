/**
 * Template AST → a flat matcher description, compiled once when a route table is built; and the
 * per-request helpers: splitting a request path, matching one template, extracting path variables.
 */
import { decodeMultiSegment, decodeSingleSegment, normalizeSegment } from "./percent.js";
import { type PathTemplate, parseTemplate } from "./template.js";

/** One flattened template segment; literals are RFC 3986-normalized (see normalizeSegment). */
export type CompiledSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "wildcard" }
  | { readonly kind: "deep-wildcard" };

/** Where a variable's text sits among the flattened segments. */
export interface Capture {
  /** The dotted field path as written (`book.name`). */
  readonly name: string;
  readonly fieldPath: readonly string[];
  /** First flattened segment index of the variable. */
  readonly start: number;
  /** Segment count of the variable's template; a `**` makes it run to the end of the path. */
  readonly length: number;
  readonly deep: boolean;
  /** Two or more segments, or a `**`: decoded with `%2F` kept (see decodeMultiSegment). */
  readonly multiSegment: boolean;
  /** `path variable "book.name"`, for error messages (built once here, not per request). */
  readonly label: string;
}

export interface CompiledTemplate {
  /** The template text it was compiled from. */
  readonly template: string;
  readonly ast: PathTemplate;
  readonly segments: readonly CompiledSegment[];
  readonly verb: string;
  readonly captures: readonly Capture[];
  /** True when the last segment is `**` (the only place one may be). */
  readonly endsWithDeepWildcard: boolean;
  /**
   * Identical for templates that match exactly the same paths (variable names ignored):
   * `/v1/{name=books/*}` and `/v1/books/{id}` share `/v1/books/*`. Used to report conflicts.
   */
  readonly shapeKey: string;
}

/** One bound path variable: the request field path and its decoded text. */
export interface PathParam {
  readonly name: string;
  readonly fieldPath: readonly string[];
  readonly value: string;
}

/** Compiles template text (parsed here; TemplateSyntaxError when invalid) or an already-parsed AST. */
export function compileTemplate(
  template: string,
  ast: PathTemplate = parseTemplate(template),
): CompiledTemplate {
  const segments: CompiledSegment[] = [];
  const captures: Capture[] = [];
  const plain = (s: PathTemplate["segments"][number]): CompiledSegment =>
    s.kind === "literal" ? { kind: "literal", value: normalizeSegment(s.value) } : (s as CompiledSegment);
  for (const s of ast.segments) {
    if (s.kind !== "variable") {
      segments.push(plain(s));
      continue;
    }
    const deep = s.segments.some((p) => p.kind === "deep-wildcard");
    captures.push({
      name: s.fieldPath.join("."),
      fieldPath: Object.freeze([...s.fieldPath]),
      start: segments.length,
      length: s.segments.length,
      deep,
      multiSegment: deep || s.segments.length > 1,
      label: `path variable "${s.fieldPath.join(".")}"`,
    });
    for (const p of s.segments) segments.push(plain(p));
  }
  const shape = segments.map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**"));
  return {
    template,
    ast,
    segments,
    verb: ast.verb,
    captures,
    endsWithDeepWildcard: segments.at(-1)?.kind === "deep-wildcard",
    shapeKey: `/${shape.join("/")}${ast.verb === "" ? "" : `:${ast.verb}`}`,
  };
}

/**
 * Splits a raw request path (still percent-encoded; anything from `?` on is ignored) into segments.
 * `/` is no segments; empty segments (`//`, a trailing `/`) are kept and match no `*` or literal.
 * Returns undefined when the path does not start with `/`.
 */
export function splitRequestPath(path: string): string[] | undefined {
  // A hand-rolled split: this runs on every request and is about twice as fast as slice().split("/").
  let end = path.indexOf("?");
  if (end < 0) end = path.length;
  if (path.charCodeAt(0) !== 47 /* "/" */) return undefined;
  const segments: string[] = [];
  if (end === 1) return segments;
  let start = 1;
  for (;;) {
    const slash = path.indexOf("/", start);
    if (slash < 0 || slash >= end) {
      segments.push(path.slice(start, end));
      return segments;
    }
    segments.push(path.slice(start, slash));
    start = slash + 1;
  }
}

/**
 * Splits `:verb` off the last segment when `verb` is the template's verb. As in grpc-gateway, a colon
 * is a verb separator only for routes that expect that verb: for a template without a verb the colon
 * stays part of the last segment (`/v1/{name}` binds `name` to `a:b` for `/v1/a:b`).
 */
export function splitVerb(segments: readonly string[], verb: string): readonly string[] | undefined {
  if (verb === "") return segments;
  const last = segments.at(-1);
  const suffix = `:${verb}`;
  // A verb needs a non-empty segment in front of it (grpc-gateway answers 404 for `/v1/:verb`).
  if (last === undefined || !last.endsWith(suffix) || last.length === suffix.length) return undefined;
  const out = segments.slice();
  out[out.length - 1] = last.slice(0, -suffix.length);
  return out;
}

/** Literal/`*`/`**` test of already verb-split segments against one template. */
export function segmentsMatch(compiled: CompiledTemplate, segments: readonly string[]): boolean {
  const t = compiled.segments;
  const fixed = compiled.endsWithDeepWildcard ? t.length - 1 : t.length;
  if (compiled.endsWithDeepWildcard ? segments.length < fixed : segments.length !== fixed) return false;
  for (let i = 0; i < fixed; i++) {
    const s = t[i] as CompiledSegment;
    const seg = segments[i] as string;
    if (seg === "") return false;
    if (s.kind === "literal" && s.value !== normalizeSegment(seg)) return false;
  }
  return true;
}

/**
 * The decoded path variables of a template that matched `segments` (verb already split off).
 * Single-segment variables decode everything; multi-segment ones keep `%2F` (decodeMultiSegment).
 * Throws GatewayError INVALID_ARGUMENT for malformed percent-encoding.
 */
export function extractPathParams(compiled: CompiledTemplate, segments: readonly string[]): PathParam[] {
  const params: PathParam[] = [];
  for (const c of compiled.captures) {
    const end = c.deep ? segments.length : c.start + c.length;
    let value: string;
    if (c.multiSegment) {
      let raw = "";
      for (let i = c.start; i < end; i++) raw += i === c.start ? segments[i] : `/${segments[i]}`;
      value = decodeMultiSegment(raw, c.label);
    } else {
      value = decodeSingleSegment(segments[c.start] as string, c.label);
    }
    params.push({ name: c.name, fieldPath: c.fieldPath, value });
  }
  return params;
}

/**
 * Matches one raw request path against one compiled template; undefined when it does not match.
 * For many templates use a route table (createRouteTable), whose cost does not grow with their number.
 */
export function matchTemplate(compiled: CompiledTemplate, path: string): PathParam[] | undefined {
  const raw = splitRequestPath(path);
  if (raw === undefined) return undefined;
  const segments = splitVerb(raw, compiled.verb);
  if (segments === undefined || !segmentsMatch(compiled, segments)) return undefined;
  return extractPathParams(compiled, segments);
}
