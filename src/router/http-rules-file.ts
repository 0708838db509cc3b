/**
 * The HTTP rules file: Google service-config YAML (the `http` section of google.api.Service, see
 * google/api/http.proto "Using gRPC API Service Configuration"):
 *
 *     http:
 *       rules:
 *         - selector: acme.library.v1.LibraryService.GetBook
 *           get: /v1/{name=books/*}
 *           additional_bindings:
 *             - get: /v1/books/{name}
 *
 * Keys are accepted in proto (`response_body`) and JSON (`responseBody`) spelling, as the proto3 JSON
 * mapping does; other top-level sections of a service config are ignored. Every problem names the
 * rule index. Selectors must name one method (no wildcards). Within the file, a later rule for the same
 * selector replaces an earlier one ("All service configuration rules follow 'last one wins' order").
 */
import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { GatewayConfigError } from "../errors.js";
import type { HttpRule } from "./http-rule.js";
import { parseTemplate, TemplateSyntaxError } from "./template.js";

/** An invalid rules file: every problem, one per line, each naming the rule (`http.rules[2].get: …`). */
export class HttpRulesError extends GatewayConfigError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(source, problems.length === 1 ? (problems[0] as string) : `\n  ${problems.join("\n  ")}`);
    this.name = "HttpRulesError";
    this.problems = problems;
  }
}

const VERB_KEYS = ["get", "put", "post", "delete", "patch", "custom"] as const;
const RULE_KEYS = new Set([
  "selector",
  ...VERB_KEYS,
  "body",
  "response_body",
  "responseBody",
  "additional_bindings",
  "additionalBindings",
]);
const SELECTOR = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;
// RFC 9110 token, for custom kinds ("*" is the spec's "any method").
const METHOD_TOKEN = /^(?:\*|[!#$%&'*+\-.^_`|~0-9A-Za-z]+)$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses and validates rules-file text. `source` (usually the file path) prefixes error messages.
 * Throws HttpRulesError listing every problem; returns rules with `source: "rules-file"`.
 */
export function loadHttpRules(text: string, source: string): HttpRule[] {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new HttpRulesError(
      source,
      doc.errors.map((e) => `invalid YAML: ${e.message}`),
    );
  const top: unknown = doc.toJS();
  const problems: string[] = [];
  const http = isObj(top) ? top.http : undefined;
  if (!isObj(http))
    throw new HttpRulesError(source, ["no `http:` section (expected http: { rules: [...] })"]);
  for (const key of Object.keys(http)) {
    if (key === "fully_decode_reserved_expansion" || key === "fullyDecodeReservedExpansion") {
      if (http[key] === true)
        problems.push(
          `http.${key}: not supported; multi-segment path variables keep %2F encoded (the default)`,
        );
    } else if (key !== "rules") problems.push(`http.${key}: unknown key`);
  }
  const rawRules = http.rules ?? [];
  if (!Array.isArray(rawRules)) throw new HttpRulesError(source, ["http.rules: expected a list of rules"]);
  const bySelector = new Map<string, HttpRule>();
  rawRules.forEach((raw, i) => {
    const rule = readRule(raw, `http.rules[${i}]`, problems, undefined);
    if (rule === undefined) return;
    bySelector.delete(rule.selector); // last one wins, and takes the later position
    bySelector.set(rule.selector, rule);
  });
  if (problems.length > 0) throw new HttpRulesError(source, problems);
  return [...bySelector.values()];
}

/** Reads and validates a rules file (see loadHttpRules). */
export async function readHttpRulesFile(path: string): Promise<HttpRule[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new HttpRulesError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  return loadHttpRules(text, path);
}

/**
 * The rules the catalog routes: descriptor rules of selectors the file does not name, then the file's
 * rules. A file rule replaces ALL descriptor rules of its selector (as in Google's service config, the
 * file "will override any matching transcoding configuration in the proto").
 */
export function mergeHttpRules(
  descriptorRules: readonly HttpRule[],
  fileRules: readonly HttpRule[],
): HttpRule[] {
  const overridden = new Set(fileRules.map((r) => r.selector));
  return [...descriptorRules.filter((r) => !overridden.has(r.selector)), ...fileRules];
}

function readRule(
  raw: unknown,
  at: string,
  problems: string[],
  parentSelector: string | undefined,
): HttpRule | undefined {
  if (!isObj(raw)) {
    problems.push(`${at}: expected a mapping with a selector and one of ${VERB_KEYS.join("/")}`);
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) if (!RULE_KEYS.has(key)) problems.push(`${at}.${key}: unknown key`);
  const selector = readSelector(raw, at, problems, parentSelector);
  const verbKeys = VERB_KEYS.filter((k) => raw[k] !== undefined);
  let verb = "";
  let pattern = "";
  if (verbKeys.length !== 1) {
    problems.push(
      verbKeys.length === 0
        ? `${at}: needs one of ${VERB_KEYS.join(", ")}`
        : `${at}: has ${verbKeys.join(" and ")}; a rule takes exactly one`,
    );
  } else {
    const key = verbKeys[0] as (typeof VERB_KEYS)[number];
    const value = raw[key];
    if (key === "custom") {
      if (!isObj(value) || typeof value.kind !== "string" || typeof value.path !== "string") {
        problems.push(`${at}.custom: expected { kind: <HTTP method>, path: <template> }`);
      } else if (!METHOD_TOKEN.test(value.kind)) {
        problems.push(`${at}.custom.kind: "${value.kind}" is not an HTTP method name`);
      } else {
        verb = value.kind;
        pattern = value.path;
      }
    } else if (typeof value !== "string") {
      problems.push(`${at}.${key}: expected a path template string`);
    } else {
      verb = key.toUpperCase();
      pattern = value;
    }
    if (verb !== "") {
      try {
        parseTemplate(pattern);
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        problems.push(`${at}.${key === "custom" ? "custom.path" : key}: ${error.reason} in "${pattern}"`);
      }
    }
  }
  const body = readString(raw, at, "body", "body", problems);
  if (body !== "" && body !== "*" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(body))
    problems.push(`${at}.body: "${body}" must be "*" or one top-level field name`);
  const responseBody = readString(raw, at, "response_body", "responseBody", problems);
  if (responseBody !== "" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(responseBody))
    problems.push(`${at}.response_body: "${responseBody}" must be one top-level field name`);
  const additionalBindings: HttpRule[] = [];
  const nested = raw.additional_bindings ?? raw.additionalBindings;
  if (raw.additional_bindings !== undefined && raw.additionalBindings !== undefined) {
    problems.push(`${at}: has both additional_bindings and additionalBindings`);
  } else if (nested !== undefined) {
    if (parentSelector !== undefined) {
      // "Nested bindings must not contain an `additional_bindings` field themselves."
      problems.push(`${at}.additional_bindings: additional bindings cannot have their own`);
    } else if (!Array.isArray(nested)) {
      problems.push(`${at}.additional_bindings: expected a list of bindings`);
    } else {
      nested.forEach((b, j) => {
        const binding = readRule(b, `${at}.additional_bindings[${j}]`, problems, selector);
        if (binding !== undefined) additionalBindings.push(binding);
      });
    }
  }
  if (problems.length > before) return undefined;
  return { selector, verb, pattern, body, responseBody, additionalBindings, source: "rules-file" };
}

function readSelector(raw: Obj, at: string, problems: string[], parentSelector: string | undefined): string {
  const value = raw.selector;
  if (parentSelector !== undefined) {
    if (value !== undefined && value !== parentSelector)
      problems.push(
        `${at}.selector: an additional binding belongs to its rule's selector "${parentSelector}"`,
      );
    return parentSelector;
  }
  if (typeof value !== "string" || value === "") {
    problems.push(`${at}.selector: required (the fully-qualified method, e.g. acme.v1.Service.Method)`);
    return "";
  }
  if (!SELECTOR.test(value)) {
    problems.push(`${at}.selector: "${value}" must name one method (package.Service.Method; no wildcards)`);
  }
  return value;
}

function readString(raw: Obj, at: string, protoKey: string, jsonKey: string, problems: string[]): string {
  if (raw[protoKey] !== undefined && raw[jsonKey] !== undefined && protoKey !== jsonKey) {
    problems.push(`${at}: has both ${protoKey} and ${jsonKey}`);
    return "";
  }
  const value = raw[protoKey] ?? raw[jsonKey] ?? "";
  if (typeof value !== "string") {
    problems.push(`${at}.${protoKey}: expected a string`);
    return "";
  }
  return value;
}
