import { Code, errors, GatewayError } from "../errors.js";

const MAX_PATH_SEGMENTS = 12;

/**
 * A rejection found while converting one value. The JSON path is not tracked on the way down (that would
 * cost on every request); each level adds its segment while the problem unwinds through it instead.
 */
export class CodecProblem extends Error {
  /** Path segments, innermost first: `.name`, `[3]`, `["key"]`. */
  readonly segments: string[] = [];
  /** `malformed`: the protobuf bytes are invalid; `unrepresentable`: valid bytes with no JSON form. */
  readonly kind: "invalid" | "malformed" | "unrepresentable";

  constructor(problem: string, kind: CodecProblem["kind"] = "invalid") {
    super(problem);
    this.name = "CodecProblem";
    this.kind = kind;
  }

  get path(): string {
    const parts = [...this.segments].reverse();
    // Very deep paths (a nesting-limit error) keep their two ends: enough to find the spot.
    if (parts.length > MAX_PATH_SEGMENTS) {
      const head = parts.slice(0, MAX_PATH_SEGMENTS / 2);
      const tail = parts.slice(-MAX_PATH_SEGMENTS / 2);
      parts.splice(0, parts.length, ...head, `…(${parts.length - MAX_PATH_SEGMENTS} more)…`, ...tail);
    }
    const path = parts.join("");
    return path.startsWith(".") ? path.slice(1) : path;
  }

  /** `path: problem`, or the problem alone at the root. */
  get located(): string {
    const path = this.path;
    return path === "" ? this.message : `${path}: ${this.message}`;
  }
}

export function fail(problem: string): never {
  throw new CodecProblem(problem);
}

/** Fails with a problem located at a member of the current object. */
export function failAtField(name: string, problem: string): never {
  const error = new CodecProblem(problem);
  error.segments.push(`.${name}`);
  throw error;
}

/** Re-throws `error` with a field segment added (`.createdAt`). */
export function atField(error: unknown, name: string): never {
  if (error instanceof CodecProblem) error.segments.push(`.${name}`);
  throw error;
}

/** Re-throws `error` with an array index segment added (`[3]`). */
export function atIndex(error: unknown, index: number): never {
  if (error instanceof CodecProblem) error.segments.push(`[${index}]`);
  throw error;
}

/** Re-throws `error` with a map key segment added (`["x"]`). */
export function atKey(error: unknown, key: string): never {
  if (error instanceof CodecProblem) error.segments.push(`[${JSON.stringify(key)}]`);
  throw error;
}

const MAX_QUOTED = 64;

/** A short description of a JSON value for messages: `string "abc"`, `number 1.5`, `object`, `null`. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return `string ${quote(value)}`;
    case "number":
      return `number ${String(value)}`;
    case "boolean":
      return `boolean ${String(value)}`;
    case "object":
      return value instanceof RawNumber ? `number ${value.text}` : "object";
    default:
      return typeof value;
  }
}

/** A JSON-quoted string, shortened for error messages. */
export function quote(text: string): string {
  const short = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return JSON.stringify(short);
}

/**
 * An integer JSON number with more digits than a double holds exactly (`12345678901234567890`), kept
 * as its text so that 64-bit fields get the exact value. Produced only by the careful parser.
 */
export class RawNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  get value(): number {
    return Number(this.text);
  }
}

/** The GatewayError for a rejected request (always INVALID_ARGUMENT, never a crash). */
export function requestError(error: unknown, typeName: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof CodecProblem) return errors.invalidArgument(error.located, error);
  if (error instanceof RangeError) {
    return errors.invalidArgument(`request for ${typeName} is nested too deeply`, error);
  }
  return errors.invalidArgument(`cannot convert the request to ${typeName}`, error);
}

/**
 * The GatewayError for a backend response that cannot become JSON: DATA_LOSS when its bytes are not valid
 * protobuf, INTERNAL when they are valid but have no JSON form (a Timestamp out of range, a NaN Value).
 */
export function responseError(error: unknown, typeName: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof CodecProblem) {
    if (error.kind === "malformed") {
      return new GatewayError(Code.DATA_LOSS, `invalid ${typeName} from the backend: ${error.located}`, {
        cause: error,
      });
    }
    return new GatewayError(Code.INTERNAL, `cannot render ${typeName} as JSON: ${error.located}`, {
      cause: error,
    });
  }
  return new GatewayError(Code.INTERNAL, `cannot render ${typeName} as JSON`, { cause: error });
}
