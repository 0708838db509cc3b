/**
 * Per-message-type field tables for request binding, computed once per protobufjs Type and cached in
 * a WeakMap (a snapshot's types are dropped with it). Nothing here walks descriptors per request.
 */
import protobuf from "protobufjs";

/** Well-known message types with a JSON string/number/bool form that a query or path value can hold. */
export const SCALAR_WELL_KNOWN_TYPES: ReadonlySet<string> = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

export interface FieldInfo {
  readonly field: protobuf.Field;
  /** As declared in the .proto (`display_name`). */
  readonly protoName: string;
  /** lowerCamel or `json_name` (`displayName`): the key this router writes. */
  readonly jsonName: string;
  /** Every key the proto3 JSON parser accepts for the field (proto name, JSON name, protobufjs name). */
  readonly keys: readonly string[];
  readonly kind: "scalar" | "enum" | "message" | "map";
  /** `repeated` and not a map. */
  readonly repeated: boolean;
  /** protobufjs scalar type name (`int64`, `bytes`, …) for scalars; `""` otherwise. */
  readonly scalarType: string;
  readonly enumType: protobuf.Enum | undefined;
  readonly messageType: protobuf.Type | undefined;
  /** Full name without the leading dot when the message type is a SCALAR_WELL_KNOWN_TYPES member. */
  readonly wellKnown: string | undefined;
}

export interface MessageInfo {
  /** Full name without the leading dot. */
  readonly typeName: string;
  /** Fields by proto name, JSON name and protobufjs name (the proto3 JSON mapping accepts the first two). */
  readonly byName: ReadonlyMap<string, FieldInfo>;
}

const cache = new WeakMap<protobuf.Type, MessageInfo>();

/** The cached field table of a message type (built on first use). */
export function messageInfo(type: protobuf.Type): MessageInfo {
  let info = cache.get(type);
  if (info === undefined) {
    info = buildMessageInfo(type);
    cache.set(type, info);
  }
  return info;
}

/** `acme.Book` from protobufjs's `.acme.Book`. */
export function typeNameOf(type: protobuf.Type | protobuf.Enum): string {
  return type.fullName.replace(/^\./, "");
}

function buildMessageInfo(type: protobuf.Type): MessageInfo {
  const byName = new Map<string, FieldInfo>();
  for (const raw of type.fieldsArray) {
    const field = raw.resolve();
    // Extensions are not part of the request's own fields (their JSON key is "[full.name]").
    if (field.declaringField !== null || field.name.startsWith(".")) continue;
    const info = fieldInfo(field);
    for (const key of info.keys) byName.set(key, info);
  }
  return { typeName: typeNameOf(type), byName };
}

function fieldInfo(field: protobuf.Field): FieldInfo {
  const protoName = field.protoName ?? field.name;
  const jsonName = field.jsonName ?? protobuf.util.jsonName(protoName);
  const keys = [...new Set([protoName, jsonName, field.name])];
  const resolved = field.resolvedType;
  const isMap = field instanceof protobuf.MapField;
  const base = { field, protoName, jsonName, keys, repeated: field.repeated && !isMap };
  if (isMap) {
    return {
      ...base,
      kind: "map",
      scalarType: "",
      enumType: undefined,
      messageType: undefined,
      wellKnown: undefined,
    };
  }
  if (resolved instanceof protobuf.Enum) {
    return {
      ...base,
      kind: "enum",
      scalarType: "",
      enumType: resolved,
      messageType: undefined,
      wellKnown: undefined,
    };
  }
  if (resolved instanceof protobuf.Type) {
    const name = typeNameOf(resolved);
    return {
      ...base,
      kind: "message",
      scalarType: "",
      enumType: undefined,
      messageType: resolved,
      wellKnown: SCALAR_WELL_KNOWN_TYPES.has(name) ? name : undefined,
    };
  }
  return {
    ...base,
    kind: "scalar",
    scalarType: field.type,
    enumType: undefined,
    messageType: undefined,
    wellKnown: undefined,
  };
}
