/**
 * Request binding (google/api/http.proto, "Rules for HTTP mapping"): path variables, query parameters
 * and the body become ONE proto3 JSON value of the request message, which the codec then encodes.
 *
 * 1. `body: "*"`: the body holds every field not bound by the path; query parameters are not allowed.
 * 2. `body: "<field>"`: the body is that top-level field's JSON.
 * 3. `body: ""`: no body (an empty one, `null` or `{}`, is tolerated).
 * 4. Query parameters bind the other fields ("(c) All other fields"), by proto or JSON name, nested
 *    with dots; a repeated field takes the key repeated (`tag=a&tag=b`).
 * 5. Path variables win over the same field in a `*` body (as in grpc-gateway: clients send the whole
 *    resource, name included, and the URL is authoritative).
 *
 * Fields are looked up in the codec's compiled plans (by proto or JSON name, as the JSON parser does) and
 * path/query text becomes JSON values by the codec's scalar rules (codec/url-values.ts): one authority.
 */
import type protobuf from "protobufjs";
import { type FieldPlan, Kind, type MessagePlan, messagePlan } from "../codec/plan.js";
import { CodecProblem } from "../codec/problems.js";
import { fieldValueFromUrl, hasUrlForm } from "../codec/url-values.js";
import { Code, errors, GatewayError } from "../errors.js";
import type { PathParam } from "./compile.js";
import { decodeQueryComponent } from "./percent.js";
import { parseTemplate, TemplateSyntaxError } from "./template.js";

export interface BindRequestInput {
  /** The (resolved) request message type. */
  readonly type: protobuf.Type;
  /** The matched binding; only `body` is read: `""`, `"*"` or a top-level field name. */
  readonly binding: { readonly body: string };
  readonly pathParams: readonly PathParam[];
  /** The raw query string, without or with its leading `?`; `""` when there is none. */
  readonly query: string;
  /** The parsed JSON body, or undefined when the request has none. */
  readonly body: unknown;
}

export interface BindRequestOptions {
  /** Skip query parameters that name no bindable field instead of answering 400. Default false. */
  readonly ignoreUnknownQueryParameters?: boolean;
}

type JsonObject = Record<string, unknown>;

/**
 * Builds the proto3 JSON value of the whole request message. Client mistakes (unknown or repeated
 * singular query parameters, values that do not convert, a body where none is mapped) are GatewayError
 * INVALID_ARGUMENT naming the parameter; a rule that does not fit the message type is INTERNAL (the
 * catalog should have rejected it with validateBinding).
 */
export function bindRequest(input: BindRequestInput, options: BindRequestOptions = {}): JsonObject {
  const info = messagePlan(input.type);
  const bodyMode = input.binding.body;
  const owned = new Set<object>();
  const result = bindBody(info, bodyMode, input.body, owned);

  const pathBound: string[] = [];
  for (const param of input.pathParams) {
    const resolved = resolveFieldPath(info, param.fieldPath);
    if (typeof resolved === "string") throw ruleError(info, `path variable "${param.name}": ${resolved}`);
    const leaf = resolved.at(-1) as FieldPlan;
    if (leaf.repeated || leaf.map)
      throw ruleError(info, `path variable "${param.name}" binds a repeated or map field`);
    setField(result, resolved, urlValue(leaf, param.value, `path variable "${param.name}"`), owned);
    pathBound.push(canonicalName(resolved));
  }

  if (input.query !== "" && input.query !== "?")
    bindQuery({ info, bodyMode, query: input.query, pathBound, result, owned }, options);
  return result;
}

function bindBody(info: MessagePlan, bodyMode: string, body: unknown, owned: Set<object>): JsonObject {
  if (bodyMode === "*") {
    if (body === undefined || body === null) return own({}, owned);
    if (!isObject(body)) throw errors.invalidArgument("the request body must be a JSON object");
    return own({ ...body }, owned);
  }
  if (bodyMode === "") {
    if (body !== undefined && body !== null && !(isObject(body) && Object.keys(body).length === 0))
      throw errors.invalidArgument("this route takes no request body (its HTTP rule maps no body)");
    return own({}, owned);
  }
  const field = fieldByName(info, bodyMode);
  if (field === undefined) throw ruleError(info, `body field "${bodyMode}" does not exist`);
  const result = own({}, owned);
  if (body !== undefined) put(result, field.jsonName, body);
  return result;
}

interface QueryContext {
  readonly info: MessagePlan;
  readonly bodyMode: string;
  readonly query: string;
  readonly pathBound: readonly string[];
  readonly result: JsonObject;
  readonly owned: Set<object>;
}

function bindQuery(ctx: QueryContext, options: BindRequestOptions): void {
  const ignoreUnknown = options.ignoreUnknownQueryParameters === true;
  const bodyField =
    ctx.bodyMode === "" ? "" : (fieldByName(ctx.info, ctx.bodyMode)?.protoName ?? ctx.bodyMode);
  const seen = new Set<string>();
  const repeated = new Map<string, unknown[]>();
  for (const [key, value] of parseQuery(ctx.query)) {
    if (ctx.bodyMode === "*") {
      if (ignoreUnknown) continue;
      throw errors.invalidArgument(
        `query parameter "${key}" is not allowed: this route takes every field from the path and the body (body: "*")`,
      );
    }
    const resolved = resolveFieldPath(ctx.info, key.split("."));
    if (typeof resolved === "string") {
      if (ignoreUnknown) continue;
      throw errors.invalidArgument(`unknown query parameter "${key}": ${resolved}`);
    }
    const canonical = canonicalName(resolved);
    const boundBy = ctx.pathBound.some((p) => overlaps(p, canonical))
      ? "the path"
      : bodyField !== "" && resolved[0]?.protoName === bodyField
        ? `the request body (body: "${ctx.bodyMode}")`
        : undefined;
    if (boundBy !== undefined) {
      if (ignoreUnknown) continue;
      throw errors.invalidArgument(`query parameter "${key}" sets ${canonical}, which ${boundBy} binds`);
    }
    const leaf = resolved.at(-1) as FieldPlan;
    const converted = urlValue(leaf, value, `query parameter "${key}"`);
    if (leaf.repeated) {
      let values = repeated.get(canonical);
      if (values === undefined) {
        values = [];
        repeated.set(canonical, values);
        setField(ctx.result, resolved, values, ctx.owned);
      }
      values.push(converted);
      continue;
    }
    if (seen.has(canonical))
      throw errors.invalidArgument(
        `query parameter "${key}" is given more than once, but ${canonical} is not repeated`,
      );
    seen.add(canonical);
    setField(ctx.result, resolved, converted, ctx.owned);
  }
}

/** `key=value` pairs of an application/x-www-form-urlencoded query string, in order. */
export function parseQuery(query: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const text = query.startsWith("?") ? query.slice(1) : query;
  for (const piece of text.split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const key = decodeQueryComponent(eq < 0 ? piece : piece.slice(0, eq));
    pairs.push([key, eq < 0 ? "" : decodeQueryComponent(piece.slice(eq + 1))]);
  }
  return pairs;
}

/**
 * A field of the message by proto or JSON name, the keys the proto3 JSON parser accepts (extensions,
 * whose JSON key is "[full.name]", are not part of the request's own fields).
 */
function fieldByName(info: MessagePlan, name: string): FieldPlan | undefined {
  const field = info.byKey.get(name);
  return field === undefined || field.jsonName.startsWith("[") ? undefined : field;
}

/**
 * `text` from the URL as the JSON value of one value of `field`, by the codec's scalar rules; a value that
 * does not convert is a client mistake naming the parameter (`what`).
 */
function urlValue(field: FieldPlan, text: string, what: string): unknown {
  let problem: string;
  if (field.map) problem = "map fields cannot be set from the URL";
  else if (field.kind === Kind.MESSAGE && !hasUrlForm(field.message!))
    problem = `${field.message!.typeName} is a message; set its fields one by one (${field.protoName}.<field>)`;
  else {
    try {
      return fieldValueFromUrl(field, text);
    } catch (error) {
      if (!(error instanceof CodecProblem)) throw error;
      problem = error.message;
    }
  }
  throw errors.invalidArgument(`invalid value for ${what}: ${problem}`);
}

/**
 * Walks a field path through the codec's plans. Every step but the last must be a singular message
 * field without a string form (not a Timestamp, wrapper, …). Returns the fields, or a problem text.
 */
function resolveFieldPath(root: MessagePlan, parts: readonly string[]): FieldPlan[] | string {
  const fields: FieldPlan[] = [];
  let info = root;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const field = fieldByName(info, part);
    if (field === undefined) return `${info.typeName} has no field "${part}"`;
    fields.push(field);
    if (i === parts.length - 1) break;
    if (field.map || field.kind !== Kind.MESSAGE || hasUrlForm(field.message!))
      return `${info.typeName}.${field.protoName} has no subfields to set`;
    if (field.repeated)
      return `${info.typeName}.${field.protoName} is repeated; its elements cannot be set one field at a time`;
    info = field.message!;
  }
  return fields;
}

const canonicalName = (fields: readonly FieldPlan[]): string => fields.map((f) => f.protoName).join(".");

/** One field path equals or contains the other (`a.b` and `a.b.c`). */
const overlaps = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

/**
 * Sets `value` at the field path, creating objects on the way; objects that came from the body are
 * copied before they are changed. Any key already naming the leaf field (proto or JSON name) is
 * replaced, since the proto3 JSON parser rejects a field given twice.
 */
function setField(root: JsonObject, fields: readonly FieldPlan[], value: unknown, owned: Set<object>): void {
  let obj = root;
  for (let i = 0; i < fields.length - 1; i++) {
    const field = fields[i] as FieldPlan;
    const key = Object.hasOwn(obj, field.protoName) ? field.protoName : field.jsonName;
    const child = obj[key];
    let next: JsonObject;
    if (child === undefined || child === null) next = own({}, owned);
    else if (!isObject(child))
      throw errors.invalidArgument(
        `request body field "${canonicalName(fields.slice(0, i + 1))}" must be an object to take ${canonicalName(fields)}`,
      );
    else next = owned.has(child) ? child : own({ ...child }, owned);
    put(obj, key, next);
    obj = next;
  }
  const leaf = fields.at(-1) as FieldPlan;
  if (Object.hasOwn(obj, leaf.protoName)) delete obj[leaf.protoName];
  put(obj, leaf.jsonName, value);
}

function own(obj: JsonObject, owned: Set<object>): JsonObject {
  owned.add(obj);
  return obj;
}

/** Assignment that stays an own data property even for a field named `__proto__`. */
function put(obj: JsonObject, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ruleError(info: MessagePlan, problem: string): GatewayError {
  return new GatewayError(Code.INTERNAL, `the HTTP rule does not fit ${info.typeName}: ${problem}`);
}

/**
 * Checks a binding against its request type when a snapshot is built, so bindRequest never meets a
 * rule that cannot work: the template parses, every variable names a singular scalar, enum or
 * string-form well-known field, and `body` is `""`, `"*"` or a top-level field. Returns the problems.
 */
export function validateBinding(
  type: protobuf.Type,
  binding: { readonly pattern: string; readonly body: string },
): string[] {
  const info = messagePlan(type);
  const problems: string[] = [];
  try {
    for (const segment of parseTemplate(binding.pattern).segments) {
      if (segment.kind !== "variable") continue;
      const name = segment.fieldPath.join(".");
      const resolved = resolveFieldPath(info, segment.fieldPath);
      if (typeof resolved === "string") problems.push(`path variable "${name}": ${resolved}`);
      else {
        const leaf = resolved.at(-1) as FieldPlan;
        if (leaf.repeated || leaf.map) problems.push(`path variable "${name}" binds a repeated or map field`);
        else if (leaf.kind === Kind.MESSAGE && !hasUrlForm(leaf.message!))
          problems.push(`path variable "${name}" binds a message field; bind one of its scalar fields`);
      }
    }
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    problems.push(error.message);
  }
  if (binding.body !== "" && binding.body !== "*" && fieldByName(info, binding.body) === undefined)
    problems.push(`body field "${binding.body}" is not a field of ${info.typeName}`);
  return problems;
}
