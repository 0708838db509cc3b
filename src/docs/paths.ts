import { type PlainSegment, parseTemplate } from "../router/index.js";

/** One OpenAPI path parameter made from a template variable or wildcard. */
export interface PathParameter {
  /** The `{name}` in the OpenAPI path. */
  readonly name: string;
  /** The request field it binds; undefined for a bare `*`/`**` outside any variable. */
  readonly fieldPath: readonly string[] | undefined;
  /** True when the variable spans more than this one parameter (`{name=shelves/*}` → `shelves/{shelf}`). */
  readonly partial: boolean;
  readonly description: string;
}

/** A google.api.http template as an OpenAPI path. */
export interface OpenApiPath {
  readonly path: string;
  readonly parameters: readonly PathParameter[];
  /** Field paths bound by the path (`book.name`), so they are neither query parameters nor body. */
  readonly boundFields: readonly string[];
}

/**
 * Turns a path template into an OpenAPI path. A variable with its own segments is expanded in place
 * (`/v1/{name=shelves/*}/books` → `/v1/shelves/{shelf}/books`): OpenAPI path parameters cannot hold a
 * `/` — a client such as Swagger UI percent-encodes it, and the route would no longer match — so the
 * template's literals stay literal and each `*` becomes its own parameter, named after the literal
 * before it. The router reassembles the field from the matched segments as usual.
 */
export function openApiPath(pattern: string): OpenApiPath {
  const template = parseTemplate(pattern);
  const parts: string[] = [];
  const parameters: PathParameter[] = [];
  const boundFields: string[] = [];
  const used = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return name;
  };
  let previousLiteral: string | undefined;
  const wildcard = (
    segment: PlainSegment,
    field: readonly string[] | undefined,
    partial: boolean,
  ): string => {
    const fieldName = field?.join(".");
    const deep = segment.kind === "deep-wildcard";
    const base =
      !partial && fieldName
        ? fieldName
        : previousLiteral
          ? singular(previousLiteral)
          : `${fieldName ?? "segment"}${deep ? "_path" : ""}`;
    const name = unique(base);
    const what = deep ? "one or more path segments" : "one path segment";
    parameters.push({
      name,
      fieldPath: field,
      partial,
      description: fieldName
        ? partial
          ? `${capitalize(what)} of \`${fieldName}\` (${patternOf(field ?? [], template)}).`
          : `The request field \`${fieldName}\`.`
        : `Any ${what}.`,
    });
    return `{${name}}`;
  };
  for (const segment of template.segments) {
    if (segment.kind === "literal") {
      parts.push(segment.value);
      previousLiteral = segment.value;
    } else if (segment.kind === "variable") {
      boundFields.push(segment.fieldPath.join("."));
      const inner = segment.segments;
      const simple = inner.length === 1 && inner[0]!.kind !== "literal";
      for (const s of inner) {
        if (s.kind === "literal") {
          parts.push(s.value);
          previousLiteral = s.value;
        } else parts.push(wildcard(s, segment.fieldPath, !simple));
      }
    } else parts.push(wildcard(segment, undefined, false));
  }
  const verb = template.verb ? `:${template.verb}` : "";
  return { path: `/${parts.join("/")}${verb}`, parameters, boundFields };
}

/** The variable's own template, for descriptions: `shelves/*\/books/*`. */
function patternOf(field: readonly string[], template: ReturnType<typeof parseTemplate>): string {
  const variable = template.segments.find(
    (s) => s.kind === "variable" && s.fieldPath.join(".") === field.join("."),
  );
  if (variable?.kind !== "variable") return "";
  const text = variable.segments
    .map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**"))
    .join("/");
  return `\`${field.join(".")}\` = \`${text}\``;
}

/** `shelves` → `shelf`, `books` → `book`, `categories` → `category`: a readable parameter name. */
export function singular(word: string): string {
  const w = word.replace(/[^A-Za-z0-9_]/g, "_");
  if (/ies$/i.test(w)) return `${w.slice(0, -3)}y`;
  if (/lves$/i.test(w)) return `${w.slice(0, -3)}f`;
  if (/(s|x|z|ch|sh)es$/i.test(w)) return w.slice(0, -2);
  if (/[^s]s$/i.test(w)) return w.slice(0, -1);
  return `${w}_id`;
}

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
