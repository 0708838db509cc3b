import type { Identity } from "./policy.js";

/**
 * Value templates of request-transform (issue 15): text with `{claims.<name>}`, `{consumer.name}`,
 * `{consumer.labels.<name>}` or `{subject}` in it, parsed once at compile time into literal and lookup
 * parts. Rendering gives undefined when a referenced value is missing (anonymous call, absent claim):
 * the key is then not set at all rather than set to a half-filled value. A claim that is a number or a
 * boolean is written as JSON writes it; a list of such values is joined with `,`; an object is missing.
 */
export type CompiledTemplate = (identity: Identity | undefined) => string | undefined;

/** The JSON Schema pattern of a template (used by the config schema, so a bad one is rejected early). */
export const TEMPLATE_PATTERN =
  "^([^{}]|\\{(claims\\.[^{}]+|consumer\\.name|consumer\\.labels\\.[^{}]+|subject)\\})*$";

type Part = string | ((identity: Identity) => string | undefined);

export function compileTemplate(text: string): CompiledTemplate {
  const parts: Part[] = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(lookup(m[1]!, text));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  if (/[{}]/.test(parts.filter((p) => typeof p === "string").join(""))) {
    throw new Error(`template "${text}" has an unmatched brace`);
  }
  if (parts.every((p) => typeof p === "string")) {
    const constant = parts.join("");
    return () => constant;
  }
  return (identity) => {
    if (identity === undefined) return undefined;
    let out = "";
    for (const part of parts) {
      if (typeof part === "string") out += part;
      else {
        const value = part(identity);
        if (value === undefined) return undefined;
        out += value;
      }
    }
    return out;
  };
}

function lookup(expression: string, text: string): (identity: Identity) => string | undefined {
  if (expression === "subject") return (identity) => identity.subject;
  if (expression === "consumer.name") return (identity) => identity.consumer?.name;
  if (expression.startsWith("consumer.labels.")) {
    const label = expression.slice("consumer.labels.".length);
    return (identity) => identity.consumer?.labels[label];
  }
  if (expression.startsWith("claims.") && expression.length > "claims.".length) {
    const claim = expression.slice("claims.".length);
    return (identity) => claimText(identity.claims?.[claim]);
  }
  throw new Error(
    `template "${text}": {${expression}} is not one of {claims.<name>}, {consumer.name}, {consumer.labels.<name>}, {subject}`,
  );
}

function claimText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v !== "object" || v === null)) {
    return value.map(String).join(",");
  }
  return undefined;
}
