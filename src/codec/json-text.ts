import { CodecProblem, fail, RawNumber } from "./problems.js";

/**
 * JSON text → JS value. The fast path is the engine's JSON.parse, preceded by a cheap scan that counts
 * object members (so duplicate keys, which JSON.parse silently collapses, are detected afterwards by
 * comparing counts) and spots integers too long for a double. Everything unusual — a syntax error, a
 * duplicate key, a long integer — goes through the careful parser below, which knows line, column and
 * JSON path, and keeps long integers exact (RawNumber).
 */

export interface ParsedJson {
  readonly value: unknown;
  /** Object members in the text, to compare with the members converted; -1 when already checked. */
  readonly members: number;
}

export function parseJsonText(text: string, maxDepth: number): ParsedJson {
  const members = scanMembers(text);
  if (members >= 0) {
    try {
      return { value: JSON.parse(text), members };
    } catch {
      // Fall through: the careful parser says where and why.
    }
  }
  return { value: parseJsonCarefully(text, maxDepth), members: -1 };
}

/**
 * Counts the `:` outside strings (one per object member), or returns -1 when an integer of more than
 * 15 digits appears (a double may not hold it exactly). Strings are skipped with indexOf.
 */
export function scanMembers(text: string): number {
  const n = text.length;
  let members = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = text.indexOf('"', i + 1);
      while (j > 0 && text.charCodeAt(j - 1) === 92) {
        let k = j - 1;
        while (text.charCodeAt(k) === 92) k--;
        if ((j - k) % 2 === 1) break; // an even number of backslashes: the quote is real
        j = text.indexOf('"', j + 1);
      }
      if (j < 0) return members; // unterminated: JSON.parse will reject it
      i = j + 1;
    } else if (c === 58) {
      members++;
      i++;
    } else if (c >= 48 && c <= 57) {
      const start = i;
      while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      if (i - start > 15) {
        const before = text.charCodeAt(start - 1);
        const after = text.charCodeAt(i);
        if (before !== 46 && after !== 46 && after !== 101 && after !== 69) return -1;
      }
    } else i++;
  }
  return members;
}

/** Parses strictly (RFC 8259), rejecting duplicate keys and nesting deeper than `maxDepth`. */
export function parseJsonCarefully(text: string, maxDepth: number): unknown {
  const parser = new CarefulParser(text, maxDepth);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos < text.length) parser.syntax("unexpected data after the JSON value");
  return value;
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class CarefulParser {
  pos = 0;
  private readonly path: string[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  skipSpace(): void {
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++this.pos);
  }

  value(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 123:
        return this.object(depth + 1);
      case 91:
        return this.array(depth + 1);
      case 34:
        return this.string();
      case 116:
        return this.literal("true", true);
      case 102:
        return this.literal("false", false);
      case 110:
        return this.literal("null", null);
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number();
        return this.syntax(`expected a value, got ${this.found()}`);
    }
  }

  private object(depth: number): Record<string, unknown> {
    this.checkDepth(depth);
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 125) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 34) this.syntax(`expected a quoted key, got ${this.found()}`);
      const keyAt = this.pos;
      const key = this.string();
      if (Object.hasOwn(out, key)) {
        this.pos = keyAt;
        throw this.problem(`duplicate key ${JSON.stringify(key)}`);
      }
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 58) this.syntax(`expected ':' after a key, got ${this.found()}`);
      this.pos++;
      this.skipSpace();
      this.path.push(IDENTIFIER_RE.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
      const value = this.value(depth);
      this.path.pop();
      if (key === "__proto__")
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 125) return out;
      if (c !== 44) {
        this.pos--;
        this.syntax(`expected ',' or '}' after an object member, got ${this.found()}`);
      }
      this.skipSpace();
    }
  }

  private array(depth: number): unknown[] {
    this.checkDepth(depth);
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 93) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.path.push(`[${out.length}]`);
      out.push(this.value(depth));
      this.path.pop();
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 93) return out;
      if (c !== 44) {
        this.pos--;
        this.syntax(`expected ',' or ']' after an array element, got ${this.found()}`);
      }
      this.skipSpace();
    }
  }

  private string(): string {
    const text = this.text;
    const opening = this.pos;
    let out = "";
    let start = ++this.pos;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === 34) {
        out += text.slice(start, this.pos++);
        return out;
      }
      if (Number.isNaN(c)) {
        this.pos = opening;
        this.syntax("unterminated string");
      }
      if (c < 32) this.syntax("control character in a string (escape it)");
      if (c !== 92) {
        this.pos++;
        continue;
      }
      out += text.slice(start, this.pos);
      const e = text[this.pos + 1];
      if (e === "u") {
        const hex = text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.syntax("invalid \\u escape (four hex digits expected)");
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 6;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
        this.pos += 2;
      } else {
        if (e === undefined) this.pos = opening;
        this.syntax(e === undefined ? "unterminated string" : `invalid escape \\${e}`);
      }
      start = this.pos;
    }
  }

  private number(): number | RawNumber {
    NUMBER_RE.lastIndex = this.pos;
    const match = NUMBER_RE.exec(this.text);
    if (match === null) return this.syntax(`invalid number, got ${this.found()}`);
    const token = match[0];
    const next = this.text.charCodeAt(this.pos + token.length);
    if ((next >= 48 && next <= 57) || next === 46 || next === 101 || next === 69) {
      this.pos += token.length;
      this.syntax("invalid number (leading zeros and bare fractions are not JSON)");
    }
    this.pos += token.length;
    const digits = token.startsWith("-") ? token.length - 1 : token.length;
    if (digits > 15 && /^-?[0-9]+$/.test(token)) return new RawNumber(token);
    return Number(token);
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.syntax(`expected a value, got ${this.found()}`);
    this.pos += word.length;
    return value;
  }

  private checkDepth(depth: number): void {
    if (depth > this.maxDepth) throw this.problem(`JSON nesting deeper than ${this.maxDepth} levels`);
  }

  private found(): string {
    if (this.pos >= this.text.length) return "the end of the input";
    const c = this.text.codePointAt(this.pos)!;
    return c < 32 || c === 127
      ? `character U+${c.toString(16).padStart(4, "0")}`
      : `'${String.fromCodePoint(c)}'`;
  }

  syntax(detail: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split("\n").length;
    const column = this.pos - before.lastIndexOf("\n");
    throw this.problem(`malformed JSON at line ${line}, column ${column}: ${detail}`);
  }

  private problem(message: string): CodecProblem {
    const problem = new CodecProblem(message);
    for (let i = this.path.length - 1; i >= 0; i--) problem.segments.push(this.path[i]!);
    return problem;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 request bytes → text; invalid UTF-8 is rejected with the offset of the first bad byte. */
export function decodeUtf8Body(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return fail(`request body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)})`);
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}
