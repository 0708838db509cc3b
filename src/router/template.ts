/**
 * google.api.http path templates: text → AST and back. The grammar is the spec's
 * (google/api/http.proto, "Path template syntax"):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * with these decisions where the spec is silent (the same as grpc-gateway's internal/httprule unless
 * noted): `/` alone is the root template (no segments); the verb is split off the last segment at its
 * LAST colon, so a verb never contains `:`; a literal may not contain `*` (stricter than the RFC 3986
 * pchar set, which allows it, to avoid `a*` looking like a wildcard); two variables may neither repeat
 * nor nest field paths (`{a}` with `{a.b}`), since one request field cannot be both.
 */

/** A literal path segment, as written in the template (percent-escapes not yet normalized). */
export interface LiteralSegment {
  readonly kind: "literal";
  readonly value: string;
}
/** `*`: exactly one path segment. */
export interface WildcardSegment {
  readonly kind: "wildcard";
}
/** `**`: zero or more path segments; only ever last (before the verb). */
export interface DeepWildcardSegment {
  readonly kind: "deep-wildcard";
}
/** What a variable's own template is made of: "A variable template must not contain other variables". */
export type PlainSegment = LiteralSegment | WildcardSegment | DeepWildcardSegment;
/** `{field.path}` (same as `{field.path=*}`) or `{field.path=segments}`. */
export interface VariableSegment {
  readonly kind: "variable";
  /** The request field the captured text binds to: `book.name` → `["book", "name"]`. */
  readonly fieldPath: readonly string[];
  readonly segments: readonly PlainSegment[];
}
export type Segment = PlainSegment | VariableSegment;

/** A parsed template. `verb` is `""` when the template has none. */
export interface PathTemplate {
  readonly segments: readonly Segment[];
  readonly verb: string;
}

/** An invalid template: names the template, the problem and the offset where it was found. */
export class TemplateSyntaxError extends Error {
  readonly template: string;
  readonly reason: string;
  readonly offset: number;
  constructor(template: string, reason: string, offset: number) {
    super(`invalid path template ${JSON.stringify(template)}: ${reason} (at offset ${offset})`);
    this.name = "TemplateSyntaxError";
    this.template = template;
    this.reason = reason;
    this.offset = offset;
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 3986 pchar minus "*" (see the module comment); "%" is checked separately for its two hex digits.
const LITERAL_CHAR = /^[A-Za-z0-9\-._~!$&'()+,;=:@]$/;
const HEX = /^[0-9A-Fa-f]$/;

/** Parses a path template; throws TemplateSyntaxError with a precise reason when it is invalid. */
export function parseTemplate(template: string): PathTemplate {
  return new Parser(template).parse();
}

class Parser {
  private pos = 0;
  private verb = "";
  constructor(private readonly src: string) {}

  parse(): PathTemplate {
    const { src } = this;
    if (!src.startsWith("/")) this.fail("a template must start with '/'", 0);
    // grpc-gateway accepts "/" (its parser maps it to zero segments); so do we.
    if (src === "/") return { segments: [], verb: "" };
    this.pos = 1;
    const segments: Segment[] = [];
    for (;;) {
      segments.push(this.segment(false) as Segment);
      if (this.pos >= src.length) break;
      const c = src[this.pos];
      if (c === "/") {
        this.pos++;
        continue;
      }
      if (c === ":" && segments.at(-1)?.kind === "variable") {
        this.parseVerb(src.slice(this.pos + 1), this.pos + 1);
        break;
      }
      this.fail(`unexpected '${c}' after a variable; expected '/', ':' or the end`, this.pos);
    }
    this.checkSemantics(segments);
    return { segments, verb: this.verb };
  }

  /** One segment at top level (may be a variable) or inside a variable (plain only). */
  private segment(inVariable: boolean): Segment {
    const { src } = this;
    const start = this.pos;
    if (src[start] === "{") {
      if (inVariable) this.fail("variables cannot be nested", start);
      return this.variable();
    }
    let end = start;
    while (end < src.length && src[end] !== "/" && !(inVariable && src[end] === "}")) end++;
    let text = src.slice(start, end);
    this.pos = end;
    if (!inVariable && end === src.length) {
      // The last top-level segment: a verb is split off at its last colon (grpc-gateway's tokenizer).
      const colon = text.lastIndexOf(":");
      if (colon >= 0) {
        if (colon === 0) this.fail("empty segment before the verb", start);
        this.parseVerb(text.slice(colon + 1), start + colon + 1);
        text = text.slice(0, colon);
      }
    }
    if (text === "") this.fail("empty segment", start);
    if (text === "*") return { kind: "wildcard" };
    if (text === "**") return { kind: "deep-wildcard" };
    this.checkLiteral(text, start, "literal");
    return { kind: "literal", value: text };
  }

  private variable(): VariableSegment {
    const { src } = this;
    const open = this.pos;
    this.pos++;
    let end = this.pos;
    while (end < src.length && src[end] !== "=" && src[end] !== "}") {
      if (src[end] === "{") this.fail("variables cannot be nested", end);
      end++;
    }
    if (end >= src.length) this.fail("unterminated variable: missing '}'", open);
    const pathText = src.slice(this.pos, end);
    const fieldPath = pathText.split(".");
    fieldPath.forEach((ident) => {
      if (!IDENT.test(ident))
        this.fail(
          `invalid field path "${pathText}": each part must be an identifier [A-Za-z_][A-Za-z0-9_]*`,
          open + 1,
        );
    });
    this.pos = end;
    let segments: PlainSegment[] = [{ kind: "wildcard" }];
    if (src[end] === "=") {
      this.pos++;
      segments = [];
      for (;;) {
        if (this.pos >= src.length) this.fail("unterminated variable: missing '}'", open);
        segments.push(this.segment(true) as PlainSegment);
        if (src[this.pos] === "/") {
          this.pos++;
          continue;
        }
        if (src[this.pos] === "}") break;
        this.fail("unterminated variable: missing '}'", open);
      }
    }
    this.pos++; // the "}"
    return { kind: "variable", fieldPath, segments };
  }

  private parseVerb(verb: string, at: number): void {
    if (verb === "") this.fail("empty verb after ':'", at);
    if (verb.includes("/")) this.fail("the verb must be the last part of the template", at);
    if (verb.includes(":")) this.fail("a verb must not contain ':'", at);
    this.checkLiteral(verb, at, "verb");
    this.verb = verb;
    this.pos = this.src.length;
  }

  private checkLiteral(text: string, at: number, what: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (c === "%") {
        if (!HEX.test(text[i + 1] ?? "") || !HEX.test(text[i + 2] ?? ""))
          this.fail(`invalid percent-encoding in ${what} "${text}"`, at + i);
        i += 2;
      } else if (c === "*") {
        this.fail(`'*' must be a whole segment ('*' or '**'), not part of ${what} "${text}"`, at + i);
      } else if (c === "{" || c === "}") {
        this.fail(`unexpected '${c}' in ${what} "${text}"`, at + i);
      } else if (!LITERAL_CHAR.test(c)) {
        this.fail(`invalid character ${JSON.stringify(c)} in ${what} "${text}"; percent-encode it`, at + i);
      }
    }
  }

  private checkSemantics(segments: readonly Segment[]): void {
    const flat = segments.flatMap((s) => (s.kind === "variable" ? s.segments : [s]));
    const deep = flat.findIndex((s) => s.kind === "deep-wildcard");
    // "The syntax `**` matches zero or more path segments, which must be the last part of the path
    // except the `Verb`."
    if (deep >= 0 && deep !== flat.length - 1)
      this.fail("'**' must be the last segment (only the verb may follow it)", this.src.indexOf("**"));
    const paths: string[] = [];
    for (const s of segments) {
      if (s.kind !== "variable") continue;
      const name = s.fieldPath.join(".");
      for (const other of paths) {
        if (other === name) this.fail(`variable "${name}" appears twice`, this.src.lastIndexOf(`{${name}`));
        if (other.startsWith(`${name}.`) || name.startsWith(`${other}.`))
          this.fail(`variables "${other}" and "${name}" overlap`, this.src.lastIndexOf(`{${name}`));
      }
      paths.push(name);
    }
  }

  private fail(reason: string, offset: number): never {
    throw new TemplateSyntaxError(this.src, reason, offset);
  }
}

function printPlain(s: PlainSegment): string {
  return s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**";
}

/**
 * The canonical text of a template: `{var}` for a single-`*` variable, `{var=…}` otherwise.
 * `parseTemplate(printTemplate(t))` equals `t` for every parsed `t` (a property test checks it).
 */
export function printTemplate(template: PathTemplate): string {
  const parts = template.segments.map((s) => {
    if (s.kind !== "variable") return printPlain(s);
    const name = s.fieldPath.join(".");
    const only = s.segments[0];
    if (s.segments.length === 1 && only?.kind === "wildcard") return `{${name}}`;
    return `{${name}=${s.segments.map(printPlain).join("/")}}`;
  });
  return `/${parts.join("/")}${template.verb === "" ? "" : `:${template.verb}`}`;
}
