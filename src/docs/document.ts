import protobuf from "protobufjs";
import type { CatalogMethod, CatalogSnapshot } from "../catalog/catalog.js";
import {
  type CommentLookup,
  ComponentSchemas,
  isUrlLeaf,
  isWellKnown,
  type JsonSchema,
  type SchemaStyle,
  typeName,
} from "./json-schema.js";
import { openApiPath, type PathParameter } from "./paths.js";
import { methodsByName, type RestRoute } from "./rest-routes.js";

export interface OpenApiInput {
  snapshot: CatalogSnapshot;
  /** The REST routes the gateway serves for this snapshot (inactive ones are left out). */
  restRoutes: readonly RestRoute[];
  /** Proto comments by full name, when the descriptors carry source info. */
  comments: CommentLookup;
  /** `info.title`. Default "Refract gateway". */
  title?: string;
}

type Operation = Record<string, unknown>;

const OPENAPI_VERBS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);
const NDJSON = "application/x-ndjson";
const JSON_TYPE = "application/json";
const ERROR_RESPONSE = { $ref: "#/components/responses/Error" };
// How deep query parameters reach into nested request messages (`a.b.c`), as grpc-gateway does.
const MAX_QUERY_DEPTH = 3;

/**
 * The OpenAPI 3.1 document of everything one catalog snapshot routes: the default
 * `POST /<package>.<Service>/<Method>` route of every method and every active REST binding, with
 * schemas of the proto3 JSON forms, path and query parameters, and google.rpc.Status errors.
 * Pure: the caller caches it per snapshot.
 */
export function buildOpenApiDocument(input: OpenApiInput): Record<string, unknown> {
  const { snapshot, comments } = input;
  const schemas = new ComponentSchemas(comments);
  const paths: Record<string, Record<string, Operation>> = {};
  const add = (path: string, verb: string, operation: Operation): boolean => {
    const item = paths[path] ?? {};
    if (item[verb]) return false; // first binding wins, as in the router
    item[verb] = operation;
    paths[path] = item;
    return true;
  };
  const methods = [...snapshot.methodsByPath.values()].sort((a, b) => a.path.localeCompare(b.path));
  // Issue 15: what each method's chain asks of a caller, so the docs page's Authorize button works.
  const securitySchemes: Record<string, unknown> = {};
  const secured = (method: CatalogMethod, operation: Operation): Operation => {
    const security = securityOf(method, securitySchemes);
    return security ? { ...operation, security } : operation;
  };
  for (const method of methods) {
    add(method.path, "post", secured(method, defaultOperation(method, schemas, comments)));
  }
  const byName = methodsByName(snapshot);
  const skipped: string[] = [];
  for (const route of input.restRoutes) {
    const method = byName.get(route.selector);
    const verb = route.verb.toLowerCase();
    if (!route.active || !method) continue;
    if (!OPENAPI_VERBS.has(verb)) {
      skipped.push(`${route.verb} ${route.pattern}: OpenAPI has no such operation`);
      continue;
    }
    const built = restOperation(route, method, schemas, comments);
    if (!add(built.path, verb, secured(method, built.operation)))
      skipped.push(`${route.verb} ${route.pattern}: same path as another`);
  }
  const services = [...new Set(methods.map((m) => m.service))].sort();
  return {
    openapi: "3.1.0",
    info: {
      title: input.title ?? "Refract gateway",
      version: `catalog-${snapshot.generation}`,
      description:
        "Every gRPC method the gateway discovered, as HTTP+JSON (proto3 JSON mapping). Regenerated with " +
        "every catalog change. Errors are google.rpc.Status JSON.",
    },
    tags: services.map((name) => {
      const description = comments(name);
      return description ? { name, description } : { name };
    }),
    paths,
    components: {
      schemas: { ...schemas.components, "google.rpc.Status": STATUS_SCHEMA },
      responses: {
        Error: {
          description: "Any error, from the backend or the gateway, as google.rpc.Status.",
          content: { [JSON_TYPE]: { schema: { $ref: "#/components/schemas/google.rpc.Status" } } },
        },
      },
      ...(Object.keys(securitySchemes).length > 0 ? { securitySchemes } : {}),
    },
    "x-refract-generation": snapshot.generation,
    ...(skipped.length > 0 ? { "x-refract-skipped-routes": skipped } : {}),
  };
}

/** A bearer token checked as a JWT: how a `jwt` policy that declares nothing itself is described. */
const BEARER_JWT = Object.freeze({ type: "http", scheme: "bearer", bearerFormat: "JWT" });

/**
 * The OpenAPI `security` of a method. Every required authenticate policy of its chain must find its own
 * credential, so they form ONE requirement (AND); optional ones add a second requirement with them,
 * and a chain whose policies are all optional also allows `{}` (anonymous). Each policy's scheme is added
 * to `schemes` under the policy's name. Undefined when the chain asks nothing.
 */
function securityOf(
  method: CatalogMethod,
  schemes: Record<string, unknown>,
): Array<Record<string, string[]>> | undefined {
  // Methods made by hand (tests, embedders) may carry no chain at all.
  if (!method.policies || method.policies.length === 0) return undefined;
  const required: Record<string, string[]> = {};
  const optional: Record<string, string[]> = {};
  for (const policy of method.policies) {
    if (policy.phase !== "authenticate") continue;
    const declared =
      policy.openApiSecurity ?? (policy.type === "jwt" ? { scheme: BEARER_JWT, optional: false } : undefined);
    if (declared === undefined) continue;
    schemes[policy.name] = declared.scheme;
    (declared.optional ? optional : required)[policy.name] = [];
  }
  const hasRequired = Object.keys(required).length > 0;
  const hasOptional = Object.keys(optional).length > 0;
  if (!hasRequired && !hasOptional) return undefined;
  if (!hasOptional) return [required];
  return [{ ...required, ...optional }, required];
}

function styleOf(method: CatalogMethod): SchemaStyle {
  return { useProtoNames: method.jsonOptions.useProtoNames, enumsAsInts: method.jsonOptions.enumsAsInts };
}

function defaultOperation(
  method: CatalogMethod,
  schemas: ComponentSchemas,
  comments: CommentLookup,
): Operation {
  const style = styleOf(method);
  const clientStreams = method.kind === "client-streaming" || method.kind === "bidi-streaming";
  return {
    operationId: method.fullName,
    tags: [method.service],
    summary: summaryOf(method),
    ...describe(method, comments),
    requestBody: {
      required: false,
      description: clientStreams
        ? "One request message per line (NDJSON)."
        : "The request message; an empty body is the empty message.",
      content: {
        [clientStreams ? NDJSON : JSON_TYPE]: { schema: schemas.typeSchema(method.requestType, style) },
      },
    },
    responses: {
      "200": okResponse(method, schemas.typeSchema(method.responseType, style)),
      default: ERROR_RESPONSE,
    },
  };
}

function restOperation(
  route: RestRoute,
  method: CatalogMethod,
  schemas: ComponentSchemas,
  comments: CommentLookup,
): { path: string; operation: Operation } {
  const style = styleOf(method);
  const request = method.requestType;
  const { path, parameters: pathParams, boundFields } = openApiPath(route.pattern);
  const parameters: Operation[] = pathParams.map((p) => pathParameter(p, request, schemas, style));
  if (route.body !== "*") {
    parameters.push(
      ...queryParameters(request, { schemas, style, bound: boundFields, bodyField: route.body }),
    );
  }
  const operation: Operation = {
    operationId: `${method.fullName}_${route.verb}${route.bindingIndex > 0 ? route.bindingIndex : ""}`,
    tags: [method.service],
    summary: summaryOf(method),
    ...describe(method, comments),
    ...(parameters.length > 0 ? { parameters } : {}),
  };
  const bodySchema = requestBodySchema(route.body, request, schemas, style, boundFields);
  if (bodySchema) {
    operation.requestBody = {
      required: route.body !== "*",
      content: { [JSON_TYPE]: { schema: bodySchema } },
    };
  }
  const responseField = route.responseBody ? method.responseType.fields[route.responseBody] : undefined;
  const responseSchema = responseField
    ? schemas.fieldSchema(responseField, style, method.responseType)
    : schemas.typeSchema(method.responseType, style);
  operation.responses = { "200": okResponse(method, responseSchema), default: ERROR_RESPONSE };
  return { path, operation };
}

function summaryOf(method: CatalogMethod): string {
  return method.kind === "unary" ? method.name : `${method.name} (${method.kind})`;
}

function describe(method: CatalogMethod, comments: CommentLookup): { description?: string } {
  const parts = [method.description ?? comments(method.fullName) ?? ""];
  if (method.kind === "server-streaming" || method.kind === "bidi-streaming")
    parts.push(
      'Streams NDJSON lines `{"result": …}`, ending with `{"error": Status}` on failure; ' +
        "send `Accept: text/event-stream` for Server-Sent Events, or use a WebSocket on the same path.",
    );
  if (method.kind === "bidi-streaming") parts.push("Bidirectional: best used over a WebSocket on this path.");
  const text = parts.filter(Boolean).join("\n\n");
  return text ? { description: text } : {};
}

function okResponse(method: CatalogMethod, schema: JsonSchema): Operation {
  if (method.kind === "server-streaming" || method.kind === "bidi-streaming") {
    return {
      description: "One JSON object per line: each message as `result`, a failure as a last `error` line.",
      content: {
        [NDJSON]: {
          schema: {
            type: "object",
            properties: { result: schema, error: { $ref: "#/components/schemas/google.rpc.Status" } },
          },
        },
      },
    };
  }
  return { description: "The response message.", content: { [JSON_TYPE]: { schema } } };
}

function pathParameter(
  param: PathParameter,
  request: protobuf.Type,
  schemas: ComponentSchemas,
  style: SchemaStyle,
): Operation {
  const leaf = !param.partial && param.fieldPath ? fieldAt(request, param.fieldPath) : undefined;
  const schema = leaf
    ? withoutDescription(schemas.fieldSchema(leaf.field, style, leaf.owner))
    : { type: "string" };
  const comment = leaf ? schemas.fieldSchema(leaf.field, style, leaf.owner).description : undefined;
  return {
    name: param.name,
    in: "path",
    required: true,
    description: typeof comment === "string" ? `${param.description} ${comment}` : param.description,
    schema,
  };
}

interface QueryContext {
  schemas: ComponentSchemas;
  style: SchemaStyle;
  /** Proto field paths bound by the path template. */
  bound: readonly string[];
  /** The top-level field taken by `body`, or "". */
  bodyField: string;
}

/** Every field a URL can set that path and body do not: scalars, enums, string-form WKTs, nested ones dotted. */
function queryParameters(type: protobuf.Type, ctx: QueryContext): Operation[] {
  const out: Operation[] = [];
  const walk = (
    owner: protobuf.Type,
    jsonPrefix: string,
    protoPrefix: string,
    depth: number,
    seen: Set<string>,
  ) => {
    for (const field of owner.fieldsArray) {
      const protoPath = `${protoPrefix}${field.name}`;
      if (depth === 0 && field.name === ctx.bodyField) continue;
      // Bound by the path: skip it; a message holding a bound field (`book` of `book.name`) still
      // offers its other fields.
      if (ctx.bound.some((b) => b === protoPath || protoPath.startsWith(`${b}.`))) continue;
      const name = `${jsonPrefix}${ctx.schemas.jsonKey(field, ctx.style)}`;
      if (isUrlLeaf(field)) {
        const schema = ctx.schemas.fieldSchema(field, ctx.style, owner);
        const { description } = schema;
        out.push({
          name,
          in: "query",
          required: false,
          ...(typeof description === "string" ? { description } : {}),
          schema: withoutDescription(schema),
          ...(field.repeated ? { style: "form", explode: true } : {}),
        });
      } else if (isNestedMessage(field) && depth + 1 < MAX_QUERY_DEPTH) {
        const nested = field.resolvedType as protobuf.Type;
        const id = typeName(nested);
        if (seen.has(id)) continue; // recursive messages would never end
        walk(nested, `${name}.`, `${protoPath}.`, depth + 1, new Set([...seen, id]));
      }
    }
  };
  walk(type, "", "", 0, new Set([typeName(type)]));
  return out;
}

function isNestedMessage(field: protobuf.Field): boolean {
  field.resolve();
  return (
    !field.repeated &&
    !field.map &&
    field.resolvedType instanceof protobuf.Type &&
    !isWellKnown(field.resolvedType)
  );
}

function requestBodySchema(
  body: string,
  request: protobuf.Type,
  schemas: ComponentSchemas,
  style: SchemaStyle,
  boundFields: readonly string[],
): JsonSchema | undefined {
  if (body === "") return undefined;
  if (body !== "*") {
    const field = request.fields[body];
    return field ? schemas.fieldSchema(field, style, request) : undefined;
  }
  // `*`: every field the path does not bind. A top-level field only partly bound (`book.name`) stays.
  const boundTop = new Set(boundFields.filter((f) => !f.includes(".")));
  const properties: Record<string, JsonSchema> = {};
  for (const field of request.fieldsArray) {
    if (!boundTop.has(field.name))
      properties[schemas.jsonKey(field, style)] = schemas.fieldSchema(field, style, request);
  }
  return { title: request.name, type: "object", properties, additionalProperties: false };
}

function fieldAt(
  type: protobuf.Type,
  path: readonly string[],
): { field: protobuf.Field; owner: protobuf.Type } | undefined {
  let owner = type;
  for (let i = 0; i < path.length; i++) {
    const field = owner.fields[path[i]!];
    if (!field) return undefined;
    if (i === path.length - 1) return { field, owner };
    field.resolve();
    if (!(field.resolvedType instanceof protobuf.Type)) return undefined;
    owner = field.resolvedType;
  }
  return undefined;
}

function withoutDescription(schema: JsonSchema): JsonSchema {
  const { description: _, ...rest } = schema;
  return rest;
}

// google/rpc/status.proto in its JSON form; `details` are Any with "@type" (CONTRACT.md §3).
const STATUS_SCHEMA: JsonSchema = {
  title: "Status",
  type: "object",
  description: "The error model of gRPC and of this gateway (google.rpc.Status).",
  required: ["code", "message", "details"],
  properties: {
    code: { type: "integer", format: "int32", description: "The gRPC status code (5 = NOT_FOUND, …)." },
    message: { type: "string", description: "A developer-facing error message." },
    details: {
      type: "array",
      description: "Error details, each an Any with @type (unresolvable ones as {@type, value}).",
      items: {
        type: "object",
        required: ["@type"],
        properties: { "@type": { type: "string" } },
        additionalProperties: true,
      },
    },
  },
};
