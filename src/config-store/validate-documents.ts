/**
 * Validation of policy and consumer documents (issue 15; CONTRACT.md §10): the envelope of each kind,
 * then a policy's `config` against the JSON Schema of its type. One validator per set of types; each
 * schema is compiled once (the envelope at creation, a type's config schema on its first use).
 *
 * Every problem names its JSON path (`/config/issuer: must be string`); callers prefix the document
 * (`policies/books-need-login: …`). No message ever echoes a value from the document: a consumer may hold a
 * clear-text key by mistake, and a policy config may hold a secret.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { ConsumerDocument, PolicyDocument, PolicyType } from "../policy/policy.js";
import { compileProblem } from "../policy/policy-types.js";

/** What validation needs of a policy type: its name and the JSON Schema of its config. */
/** A type as validation sees it: with `compile`, a config that passes its schema is also compiled once, dry. */
export type PolicyTypeSchema = Pick<PolicyType, "type" | "configSchema"> &
  Partial<Pick<PolicyType, "compile">>;

/** One problem of one document: a JSON pointer into it (`/` for the document itself) and what is wrong. */
export interface DocumentProblem {
  readonly path: string;
  readonly problem: string;
}

export type DocumentKind = "policies" | "consumers";

export type Validated<T> =
  | { readonly ok: true; readonly document: T }
  | { readonly ok: false; readonly problems: readonly DocumentProblem[] };

/** Policy names: lower-case, digits and dashes, as in `books-need-login` (also an etcd key segment). */
export const POLICY_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,62})$";
/**
 * Consumer names: an API client's name, or a token subject a consumer stands for, so a little wider than
 * policy names (dots, `@`, `_`), but still one etcd key segment: no `/`, no spaces.
 */
export const CONSUMER_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$";
/** SHA-256 of an API key, lower-case hex. */
export const KEY_HASH_PATTERN = "^[0-9a-f]{64}$";
/** Backend names, as `--backend name=…` and the registry accept them. */
const BACKEND_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$";

const stringList = (itemPattern?: string) => ({
  type: "array",
  minItems: 1,
  items: { type: "string", minLength: 1, ...(itemPattern ? { pattern: itemPattern } : {}) },
});

/** The policy envelope; `type` is narrowed to the known types by policyDocumentSchema(). */
const POLICY_ENVELOPE = {
  type: "object",
  required: ["name", "type", "config"],
  properties: {
    name: { type: "string", pattern: POLICY_NAME_PATTERN, description: "Unique policy name." },
    type: { type: "string", description: "Policy type." },
    match: {
      type: "object",
      description: "Where the policy applies; every listed condition must hold; omitted = every method.",
      properties: {
        backends: stringList(BACKEND_NAME_PATTERN),
        methods: { ...stringList(), description: 'Globs over "<package>.<Service>/<Method>"; * = any run.' },
        routes: {
          ...stringList("^/"),
          description: "REST templates as written in a rule, or globs over paths.",
        },
      },
      additionalProperties: false,
    },
    priority: { type: "integer", description: "Order inside its phase, lower first. Default 0." },
    config: { description: "Validated by the JSON Schema of the policy type." },
  },
  additionalProperties: false,
} as const;

/** The consumer document. */
export const CONSUMER_DOCUMENT_SCHEMA = {
  type: "object",
  required: ["name"],
  properties: {
    name: { type: "string", pattern: CONSUMER_NAME_PATTERN, description: "Unique consumer name." },
    apiKeys: {
      type: "array",
      description: "API keys of this consumer, stored hashed: SHA-256 of the key, lower-case hex.",
      items: {
        type: "object",
        required: ["sha256"],
        properties: { sha256: { type: "string", pattern: KEY_HASH_PATTERN } },
        additionalProperties: false,
      },
    },
    labels: { type: "object", additionalProperties: { type: "string" } },
  },
  additionalProperties: false,
} as const;

/** The policy document schema for a set of types (`type` restricted to them; `config` not checked here). */
export function policyDocumentSchema(types: readonly PolicyTypeSchema[]): Record<string, unknown> {
  return {
    ...POLICY_ENVELOPE,
    properties: {
      ...POLICY_ENVELOPE.properties,
      type: { type: "string", enum: types.map((t) => t.type), description: "Policy type." },
    },
  };
}

/**
 * One JSON Schema document for editors (`refract config schema`, `/admin/config/schema`): a file holding one
 * policy, one consumer, a list of them, or `{policies: […], consumers: […]}`; each policy's `config` is
 * checked against its type's schema (if/then per type, so editors report the type's own problems).
 */
export function configDocumentsJsonSchema(types: readonly PolicyTypeSchema[]): Record<string, unknown> {
  const definitions: Record<string, unknown> = {
    consumer: CONSUMER_DOCUMENT_SCHEMA,
    policy: {
      ...policyDocumentSchema(types),
      allOf: types.map((t) => ({
        if: { properties: { type: { const: t.type } }, required: ["type"] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
        then: { properties: { config: { $ref: `#/definitions/config-${t.type}` } } },
      })),
    },
  };
  for (const t of types) definitions[`config-${t.type}`] = t.configSchema;
  const document = {
    // A policy has a `type`; a consumer never has one.
    if: { type: "object", required: ["type"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
    then: { $ref: "#/definitions/policy" },
    else: { $ref: "#/definitions/consumer" },
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://refract.dev/schemas/config-documents.json",
    title: "Refract policy and consumer documents",
    definitions: { ...definitions, document },
    oneOf: [
      {
        type: "object",
        properties: {
          policies: { type: "array", items: { $ref: "#/definitions/policy" } },
          consumers: { type: "array", items: { $ref: "#/definitions/consumer" } },
        },
        additionalProperties: false,
        anyOf: [{ required: ["policies"] }, { required: ["consumers"] }],
      },
      { type: "array", items: { $ref: "#/definitions/document" } },
      // draft-07 ignores keywords beside $ref, hence allOf.
      {
        allOf: [
          { type: "object", not: { anyOf: [{ required: ["policies"] }, { required: ["consumers"] }] } },
          { $ref: "#/definitions/document" },
        ],
      },
    ],
  };
}

export interface DocumentValidator {
  /** The types documents may name. */
  readonly types: readonly PolicyTypeSchema[];
  /**
   * Checks a policy document; `expectedName` (an etcd key's `<name>`) must equal its `name`. On success
   * the document is a deep-frozen copy.
   */
  policy(value: unknown, expectedName?: string): Validated<PolicyDocument>;
  consumer(value: unknown, expectedName?: string): Validated<ConsumerDocument>;
}

/** A validator for these policy types; ajv compiles each schema at most once. */
export function createDocumentValidator(types: readonly PolicyTypeSchema[]): DocumentValidator {
  // allErrors: report every problem at once. strict off and logger off: a type's schema may use keywords
  // or formats ajv does not know; they are annotations here, not reasons to fail or to print warnings.
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
  const byType = new Map(types.map((t) => [t.type, t]));
  const envelope = ajv.compile(POLICY_ENVELOPE);
  const consumer = ajv.compile(CONSUMER_DOCUMENT_SCHEMA);
  const configValidators = new Map<string, ValidateFunction>();
  const typeList = types.map((t) => t.type).join(", ");

  function configValidator(type: string): ValidateFunction | string {
    let validate = configValidators.get(type);
    if (!validate) {
      try {
        validate = ajv.compile(byType.get(type)!.configSchema);
      } catch (error) {
        // A type's schema that ajv cannot compile is a bug in that type, not in the document.
        return `the schema of policy type "${type}" does not compile: ${(error as Error).message}`;
      }
      configValidators.set(type, validate);
    }
    return validate;
  }

  return {
    types,
    policy(value, expectedName) {
      const problems: DocumentProblem[] = [];
      if (!envelope(value)) problems.push(...(envelope.errors ?? []).map((e) => toProblem(e)));
      const document = value as Record<string, unknown>;
      if (isObject(value)) {
        const type = document.type;
        if (typeof type === "string" && !byType.has(type)) {
          problems.push({
            path: "/type",
            problem: `unknown policy type "${printable(type)}" (one of: ${typeList})`,
          });
        } else if (typeof type === "string" && "config" in document) {
          const validate = configValidator(type);
          if (typeof validate === "string") problems.push({ path: "/config", problem: validate });
          else if (!validate(document.config)) {
            problems.push(...(validate.errors ?? []).map((e) => toProblem(e, "/config")));
          } else {
            const policyType = byType.get(type);
            const problem =
              policyType?.compile === undefined
                ? undefined
                : compileProblem(
                    policyType as Pick<PolicyType, "compile">,
                    document.config,
                    String(document.name),
                  );
            if (problem !== undefined) problems.push({ path: "/config", problem });
          }
        }
        nameProblem(document.name, expectedName, problems);
      }
      if (problems.length > 0) return { ok: false, problems };
      return { ok: true, document: deepFreeze(structuredClone(value) as PolicyDocument) };
    },
    consumer(value, expectedName) {
      const problems: DocumentProblem[] = [];
      // A clear-text key: say what to do instead, and never repeat the key (not even its length).
      const keys = isObject(value) ? value.apiKeys : undefined;
      const clearText = new Set<number>();
      if (Array.isArray(keys)) {
        keys.forEach((item, index) => {
          if (typeof item === "string" || (isObject(item) && "key" in item)) clearText.add(index);
        });
      }
      for (const index of clearText) {
        problems.push({
          path: `/apiKeys/${index}`,
          problem: "a clear-text API key is not accepted: store its SHA-256 (lower-case hex) as {sha256: …}",
        });
      }
      if (!consumer(value)) {
        for (const error of consumer.errors ?? []) {
          const index = /^\/apiKeys\/(\d+)/.exec(error.instancePath)?.[1];
          if (index !== undefined && clearText.has(Number(index))) continue;
          // An unknown property name inside a key entry might be the key itself: do not name it.
          if (index !== undefined && error.keyword === "additionalProperties") {
            problems.push({ path: `/apiKeys/${index}`, problem: "only sha256 is accepted" });
            continue;
          }
          problems.push(toProblem(error));
        }
      }
      if (isObject(value)) nameProblem(value.name, expectedName, problems);
      if (problems.length > 0) return { ok: false, problems };
      return { ok: true, document: deepFreeze(structuredClone(value) as ConsumerDocument) };
    },
  };
}

/** `policies/books-need-login: /config/issuer: must be string` */
export function formatProblem(label: string, problem: DocumentProblem): string {
  return `${label}: ${problem.path}: ${problem.problem}`;
}

/**
 * How a document is named in messages: `<kind>/<name>` when it has a usable name, else `fallback` (where it
 * was found, e.g. `policies[3]` or the etcd key).
 */
export function documentLabel(kind: DocumentKind, value: unknown, fallback: string): string {
  const name = isObject(value) ? value.name : undefined;
  if (typeof name === "string" && /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(name)) return `${kind}/${name}`;
  return fallback;
}

/** Which kind a free-standing document is: a policy has a `type`; anything else is read as a consumer. */
export function kindOf(value: unknown): DocumentKind {
  return isObject(value) && ("type" in value || "config" in value) ? "policies" : "consumers";
}

function nameProblem(name: unknown, expectedName: string | undefined, problems: DocumentProblem[]): void {
  if (expectedName !== undefined && typeof name === "string" && name !== expectedName) {
    problems.push({
      path: "/name",
      problem: `must equal the name in its key ("${printable(expectedName)}")`,
    });
  }
}

/** An ajv error as a problem: unknown properties and missing ones are named in the path. */
function toProblem(error: ErrorObject, base = ""): DocumentProblem {
  const path = `${base}${error.instancePath}`;
  const params = error.params as {
    additionalProperty?: string;
    missingProperty?: string;
    allowedValues?: unknown;
  };
  if (error.keyword === "additionalProperties" && params.additionalProperty !== undefined) {
    return { path: `${path}/${escapePointer(params.additionalProperty)}`, problem: "unknown property" };
  }
  if (error.keyword === "required" && params.missingProperty !== undefined) {
    return { path: `${path}/${escapePointer(params.missingProperty)}`, problem: "required" };
  }
  if (error.keyword === "enum" && Array.isArray(params.allowedValues)) {
    const allowed = params.allowedValues.map((v) => JSON.stringify(v)).join(", ");
    return { path: path || "/", problem: `must be one of ${allowed}` };
  }
  return { path: path || "/", problem: error.message ?? "invalid" };
}

/** RFC 6901: `~` → `~0`, `/` → `~1`; control characters dropped so a property name cannot forge a log line. */
function escapePointer(segment: string): string {
  return printable(segment).replace(/~/g, "~0").replace(/\//g, "~1");
}

function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 64 ? `${clean.slice(0, 64)}…` : clean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Freezes a plain JSON value in place, all the way down; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
