import protobuf from "protobufjs";

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

/** How a schema names fields and enums: the JSON options of the method that first uses the type. */
export interface SchemaStyle {
  useProtoNames: boolean;
  enumsAsInts: boolean;
}

/** Where descriptions come from: proto comments by fully-qualified name (`pkg.Msg`, `pkg.Msg.field`). */
export type CommentLookup = (fullName: string) => string | undefined;

export const COMPONENT_PREFIX = "#/components/schemas/";

// `examples` keeps Swagger UI from making up a 19-digit sample out of the pattern.
const INT64 = { type: "string", format: "int64", pattern: "^-?[0-9]+$", examples: ["0"] };
const UINT64 = { type: "string", format: "uint64", pattern: "^[0-9]+$", examples: ["0"] };
const FLOAT_WORDS = { type: "string", enum: ["NaN", "Infinity", "-Infinity"] };

// proto3 JSON mapping (https://protobuf.dev/programming-guides/json/): 64-bit integers are strings (they
// exceed JSON's safe integers), bytes are base64, floats may be the strings NaN/Infinity/-Infinity.
const SCALARS: Record<string, JsonSchema> = {
  double: { oneOf: [{ type: "number", format: "double" }, FLOAT_WORDS] },
  float: { oneOf: [{ type: "number", format: "float" }, FLOAT_WORDS] },
  int32: { type: "integer", format: "int32" },
  sint32: { type: "integer", format: "int32" },
  sfixed32: { type: "integer", format: "int32" },
  uint32: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 },
  fixed32: { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 },
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: UINT64,
  fixed64: UINT64,
  bool: { type: "boolean" },
  string: { type: "string" },
  bytes: { type: "string", format: "byte", contentEncoding: "base64" },
};

const nullable = (schema: JsonSchema, description: string): JsonSchema => {
  const { type, ...rest } = schema;
  if (typeof type === "string") return { type: [type, "null"], ...rest, description };
  return { oneOf: [schema, { type: "null" }], description };
};

// Well-known types have their own JSON forms (same spec), so they are inlined, never referenced.
const WKT: Record<string, JsonSchema> = {
  "google.protobuf.Timestamp": {
    type: "string",
    format: "date-time",
    description: "RFC 3339 timestamp in UTC, e.g. 2024-05-01T12:00:00Z.",
  },
  "google.protobuf.Duration": {
    type: "string",
    pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
    description: 'Duration in seconds with an "s" suffix, e.g. "1.5s".',
  },
  "google.protobuf.FieldMask": {
    type: "string",
    description: 'Comma-separated lowerCamel field paths, e.g. "title,author.name".',
  },
  "google.protobuf.Struct": { type: "object", additionalProperties: true, description: "Any JSON object." },
  "google.protobuf.Value": { description: "Any JSON value." },
  "google.protobuf.ListValue": { type: "array", items: {}, description: "Any JSON array." },
  "google.protobuf.Empty": { type: "object", properties: {}, additionalProperties: false },
  "google.protobuf.Any": {
    type: "object",
    required: ["@type"],
    properties: { "@type": { type: "string", description: "type.googleapis.com/<full message name>" } },
    additionalProperties: true,
    description: "A message of any type: its JSON fields next to @type (or `value` for special forms).",
  },
  "google.protobuf.DoubleValue": nullable(SCALARS.double!, "A double, or null when unset."),
  "google.protobuf.FloatValue": nullable(SCALARS.float!, "A float, or null when unset."),
  "google.protobuf.Int64Value": nullable(INT64, "An int64 as a string, or null when unset."),
  "google.protobuf.UInt64Value": nullable(UINT64, "A uint64 as a string, or null when unset."),
  "google.protobuf.Int32Value": nullable(SCALARS.int32!, "An int32, or null when unset."),
  "google.protobuf.UInt32Value": nullable(SCALARS.uint32!, "A uint32, or null when unset."),
  "google.protobuf.BoolValue": nullable(SCALARS.bool!, "A boolean, or null when unset."),
  "google.protobuf.StringValue": nullable(SCALARS.string!, "A string, or null when unset."),
  "google.protobuf.BytesValue": nullable(SCALARS.bytes!, "Base64 bytes, or null when unset."),
};

/** The fully-qualified name of a protobufjs type, without the leading dot. */
export const typeName = (type: protobuf.ReflectionObject): string => type.fullName.replace(/^\./, "");

/** Whether a message type has a special JSON form (inlined, and a leaf for query parameters). */
export const isWellKnown = (type: protobuf.Type): boolean => typeName(type) in WKT;

/**
 * Builds `components.schemas` from protobufjs types, on demand: a message or enum becomes one
 * component named by its full name and is referenced with `$ref` (recursive types just work); scalars
 * and well-known types are inlined in their proto3 JSON form.
 */
export class ComponentSchemas {
  readonly components: Record<string, JsonSchema> = {};
  readonly #comments: CommentLookup;

  constructor(comments: CommentLookup) {
    this.#comments = comments;
  }

  /** A schema for a message or enum (a `$ref`, or the inline form of a well-known type). */
  typeSchema(type: protobuf.Type | protobuf.Enum, style: SchemaStyle): JsonSchema {
    const name = typeName(type);
    const wkt = WKT[name];
    if (wkt) return { ...wkt };
    if (name === "google.protobuf.NullValue") return { type: "null" };
    if (!(name in this.components)) {
      this.components[name] = {}; // placeholder first: a type that refers to itself finds it
      this.components[name] =
        type instanceof protobuf.Enum ? this.#enumSchema(type, style) : this.#messageSchema(type, style);
    }
    return { $ref: `${COMPONENT_PREFIX}${name}` };
  }

  /** The JSON key of a field in this style (lowerCamel json_name unless proto names are asked for). */
  jsonKey(field: protobuf.Field, style: SchemaStyle): string {
    return style.useProtoNames ? field.name : (field.jsonName ?? field.name);
  }

  /** A field's value schema (map, list or singular), with its proto comment as description. */
  fieldSchema(field: protobuf.Field, style: SchemaStyle, owner: protobuf.Type): JsonSchema {
    field.resolve();
    const value = this.#valueSchema(field.resolvedType, field.type, style);
    let schema: JsonSchema;
    if (field instanceof protobuf.MapField || field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      schema = { type: "object", additionalProperties: value, propertyNames: mapKeySchema(keyType) };
    } else if (field.repeated) {
      schema = { type: "array", items: value };
    } else schema = value;
    const notes: string[] = [];
    const comment = this.#comments(`${typeName(owner)}.${field.name}`);
    if (comment) notes.push(comment);
    if (field.partOf && !isSynthetic(field.partOf)) {
      const others = field.partOf.fieldsArray.filter((f) => f !== field).map((f) => this.jsonKey(f, style));
      notes.push(`Part of oneof \`${field.partOf.name}\`: set at most one of this and ${others.join(", ")}.`);
    }
    return notes.length > 0 ? { ...schema, description: notes.join("\n\n") } : schema;
  }

  #valueSchema(resolved: protobuf.ReflectionObject | null, scalar: string, style: SchemaStyle): JsonSchema {
    if (resolved instanceof protobuf.Type || resolved instanceof protobuf.Enum)
      return this.typeSchema(resolved, style);
    return { ...(SCALARS[scalar] ?? {}) };
  }

  #enumSchema(type: protobuf.Enum, style: SchemaStyle): JsonSchema {
    const names = Object.keys(type.values);
    const numbers = [...new Set(Object.values(type.values))];
    // Names are the canonical form; numbers are accepted on input (and emitted with enumsAsInts).
    const values = style.enumsAsInts ? [...numbers, ...names] : [...names, ...numbers];
    const comment = this.#comments(typeName(type));
    return {
      title: type.name,
      type: style.enumsAsInts ? ["integer", "string"] : ["string", "integer"],
      enum: values,
      ...(comment ? { description: comment } : {}),
    };
  }

  #messageSchema(type: protobuf.Type, style: SchemaStyle): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    for (const field of type.fieldsArray)
      properties[this.jsonKey(field, style)] = this.fieldSchema(field, style, type);
    const notes: string[] = [];
    const comment = this.#comments(typeName(type));
    if (comment) notes.push(comment);
    const exclusive: JsonSchema[] = [];
    for (const oneof of type.oneofsArray) {
      if (isSynthetic(oneof)) continue;
      const keys = oneof.fieldsArray.map((f) => this.jsonKey(f, style));
      notes.push(`Oneof \`${oneof.name}\`: at most one of ${keys.map((k) => `\`${k}\``).join(", ")}.`);
      for (let i = 0; i < keys.length; i++)
        for (let j = i + 1; j < keys.length; j++) exclusive.push({ required: [keys[i], keys[j]] });
    }
    return {
      title: type.name,
      type: "object",
      properties,
      // Unknown fields are rejected with 400 unless discardUnknownFields is on (CONTRACT.md §2).
      additionalProperties: false,
      ...(exclusive.length > 0 ? { not: { anyOf: exclusive } } : {}),
      ...(notes.length > 0 ? { description: notes.join("\n\n") } : {}),
    };
  }
}

/** Scalar query/path parameter value of a field (what a URL can carry), or undefined if it cannot. */
export function isUrlLeaf(field: protobuf.Field): boolean {
  field.resolve();
  if (field.map) return false;
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return isWellKnown(resolved) && !STRUCTURED.has(typeName(resolved));
  return true;
}

// Well-known types whose JSON form is an object or array: they cannot be a single URL value.
const STRUCTURED = new Set([
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.Empty",
  "google.protobuf.Any",
]);

function isSynthetic(oneof: protobuf.OneOf): boolean {
  // proto3 `optional` wraps the field in a synthetic oneof of one member; it is not a real choice.
  // Stock @grpc/reflection drops the proto3_optional flag, so protoc's `_<field>` naming counts too.
  const only = oneof.fieldsArray.length === 1 ? oneof.fieldsArray[0] : undefined;
  return only !== undefined && (only.options?.proto3_optional === true || oneof.name === `_${only.name}`);
}

function mapKeySchema(keyType: string): JsonSchema {
  if (keyType === "bool") return { enum: ["true", "false"] };
  if (keyType === "string") return { type: "string" };
  if (keyType.startsWith("u") || keyType.startsWith("fixed")) return { pattern: "^[0-9]+$" };
  return { pattern: "^-?[0-9]+$" };
}
