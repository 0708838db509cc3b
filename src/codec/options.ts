import { DEFAULT_JSON_OPTIONS, type JsonOptions } from "./codec.js";

/** The largest accepted `maxDepth`: deeper documents would risk the JS stack while converting. */
export const MAX_DEPTH_LIMIT = 1000;

/**
 * Fills defaults into a partial JsonOptions and checks them; throws a TypeError naming each bad option.
 * Gateway-wide options are resolved once, and a backend's overrides are spread over them before this.
 */
export function resolveJsonOptions(
  partial: { [K in keyof JsonOptions]?: JsonOptions[K] | undefined } = {},
): JsonOptions {
  const options: JsonOptions = { ...DEFAULT_JSON_OPTIONS, ...definedOnly(partial) };
  const problems: string[] = [];
  for (const name of ["emitUnpopulated", "useProtoNames", "enumsAsInts", "discardUnknownFields"] as const) {
    if (typeof options[name] !== "boolean") problems.push(`${name} must be a boolean`);
  }
  const { maxDepth } = options;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_DEPTH_LIMIT) {
    problems.push(`maxDepth must be an integer from 1 to ${MAX_DEPTH_LIMIT}, got ${String(maxDepth)}`);
  }
  if (problems.length > 0) throw new TypeError(`invalid JSON options: ${problems.join("; ")}`);
  return Object.freeze(options);
}

function definedOnly(partial: object): Partial<JsonOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(partial)) if (value !== undefined) out[key] = value;
  return out as Partial<JsonOptions>;
}
