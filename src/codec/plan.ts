import protobuf from "protobufjs";
import { WireType } from "./wire-writer.js";

/**
 * Compiled plans: everything the converters need about a message type, computed once per type from its
 * protobufjs reflection object and cached in a WeakMap. Nothing here runs per request.
 */

/** Scalar types, numbered as in descriptor.proto's FieldDescriptorProto.Type. */
export const Scalar = {
  DOUBLE: 1,
  FLOAT: 2,
  INT64: 3,
  UINT64: 4,
  INT32: 5,
  FIXED64: 6,
  FIXED32: 7,
  BOOL: 8,
  STRING: 9,
  BYTES: 12,
  UINT32: 13,
  SFIXED32: 15,
  SFIXED64: 16,
  SINT32: 17,
  SINT64: 18,
} as const;
export type Scalar = (typeof Scalar)[keyof typeof Scalar];

const SCALAR_BY_NAME: Record<string, Scalar> = {
  double: Scalar.DOUBLE,
  float: Scalar.FLOAT,
  int64: Scalar.INT64,
  uint64: Scalar.UINT64,
  int32: Scalar.INT32,
  fixed64: Scalar.FIXED64,
  fixed32: Scalar.FIXED32,
  bool: Scalar.BOOL,
  string: Scalar.STRING,
  bytes: Scalar.BYTES,
  uint32: Scalar.UINT32,
  sfixed32: Scalar.SFIXED32,
  sfixed64: Scalar.SFIXED64,
  sint32: Scalar.SINT32,
  sint64: Scalar.SINT64,
};

export const SCALAR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SCALAR_BY_NAME).map(([name, id]) => [id, name]),
);

/** The wire type a scalar is written with when not packed. */
export function scalarWireType(scalar: Scalar): number {
  switch (scalar) {
    case Scalar.DOUBLE:
    case Scalar.FIXED64:
    case Scalar.SFIXED64:
      return WireType.I64;
    case Scalar.FLOAT:
    case Scalar.FIXED32:
    case Scalar.SFIXED32:
      return WireType.I32;
    case Scalar.STRING:
    case Scalar.BYTES:
      return WireType.LEN;
    default:
      return WireType.VARINT;
  }
}

/** Well-known types with a special JSON form (the proto3 JSON mapping's table). */
export const Wkt = {
  NONE: 0,
  ANY: 1,
  TIMESTAMP: 2,
  DURATION: 3,
  FIELD_MASK: 4,
  STRUCT: 5,
  VALUE: 6,
  LIST_VALUE: 7,
  WRAPPER: 8,
} as const;
export type Wkt = (typeof Wkt)[keyof typeof Wkt];

const WKT_BY_NAME: Record<string, Wkt> = {
  "google.protobuf.Any": Wkt.ANY,
  "google.protobuf.Timestamp": Wkt.TIMESTAMP,
  "google.protobuf.Duration": Wkt.DURATION,
  "google.protobuf.FieldMask": Wkt.FIELD_MASK,
  "google.protobuf.Struct": Wkt.STRUCT,
  "google.protobuf.Value": Wkt.VALUE,
  "google.protobuf.ListValue": Wkt.LIST_VALUE,
  "google.protobuf.DoubleValue": Wkt.WRAPPER,
  "google.protobuf.FloatValue": Wkt.WRAPPER,
  "google.protobuf.Int64Value": Wkt.WRAPPER,
  "google.protobuf.UInt64Value": Wkt.WRAPPER,
  "google.protobuf.Int32Value": Wkt.WRAPPER,
  "google.protobuf.UInt32Value": Wkt.WRAPPER,
  "google.protobuf.BoolValue": Wkt.WRAPPER,
  "google.protobuf.StringValue": Wkt.WRAPPER,
  "google.protobuf.BytesValue": Wkt.WRAPPER,
};

export interface EnumPlan {
  readonly typeName: string;
  /** Every accepted name (aliases included) → number. */
  readonly byName: ReadonlyMap<string, number>;
  /** Number → the first declared name (the one printed). */
  readonly nameByNumber: ReadonlyMap<number, string>;
  /** Number → that name as JSON text (quoted), for the text printer. */
  readonly quotedNameByNumber: ReadonlyMap<number, string>;
  /** Closed enums (proto2) reject unknown numbers. */
  readonly closed: boolean;
  /** google.protobuf.NullValue: JSON `null`. */
  readonly isNullValue: boolean;
}

/** What one value (a singular field, a list element, a map value) holds. */
export const Kind = { SCALAR: 0, ENUM: 1, MESSAGE: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** How an unset field renders with `emitUnpopulated`. */
export const Unset = { OMIT: 0, DEFAULT: 1, NULL: 2, LIST: 3, MAP: 4 } as const;
export type Unset = (typeof Unset)[keyof typeof Unset];

export interface FieldPlan {
  /** Position in declaration order: the index of this field's slot. */
  readonly index: number;
  readonly number: number;
  readonly jsonName: string;
  readonly protoName: string;
  /** `"jsonName":` and `"proto_name":` as JSON text, for the text printer. */
  readonly jsonKeyText: string;
  readonly protoKeyText: string;
  readonly kind: Kind;
  readonly scalar: Scalar;
  readonly enumPlan: EnumPlan | undefined;
  /** The message plan (messages and map values of message type). Cycles share the cached plan. */
  readonly message: MessagePlan | undefined;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly mapKey: Scalar;
  /** Singular field with explicit presence (proto3 `optional`, oneof member, message, proto2). */
  readonly presence: boolean;
  /** Index of the real (non-synthetic) oneof this field belongs to, or -1. */
  readonly oneof: number;
  /** Slot indexes of the other members of this field's oneof (synthetic ones included). */
  readonly oneofSiblings: readonly number[];
  /** Repeated scalars written packed. */
  readonly packed: boolean;
  /** Group / DELIMITED message encoding. */
  readonly delimited: boolean;
  /** proto3 strings are checked for valid UTF-8 on the wire (`utf8_validation = VERIFY`). */
  readonly strictUtf8: boolean;
  /** JSON `null` is a value (google.protobuf.Value, NullValue), not "unset". */
  readonly nullIsValue: boolean;
  readonly unset: Unset;
  /** Precomputed tags. */
  readonly tag: number;
  readonly lenTag: number;
  readonly endTag: number;
  /** Map entry tags: key (field 1) and value (field 2). */
  readonly mapKeyTag: number;
  readonly mapValueTag: number;
}

export interface MessagePlan {
  readonly typeName: string;
  readonly type: protobuf.Type;
  readonly wkt: Wkt;
  readonly fields: FieldPlan[];
  /** JSON key (json_name, proto name, `[ext.name]`) → field. */
  readonly byKey: Map<string, FieldPlan>;
  readonly byNumber: Map<number, FieldPlan>;
  readonly oneofNames: string[];
}

const plans = new WeakMap<protobuf.Type, MessagePlan>();
const enumPlans = new WeakMap<protobuf.Enum, EnumPlan>();

/** The compiled plan of a message type (and, transitively, of every type it references). */
export function messagePlan(type: protobuf.Type): MessagePlan {
  const cached = plans.get(type);
  if (cached !== undefined) return cached;
  const plan: MessagePlan = {
    typeName: type.fullName.replace(/^\./, ""),
    type,
    wkt: WKT_BY_NAME[type.fullName.replace(/^\./, "")] ?? Wkt.NONE,
    fields: [],
    byKey: new Map(),
    byNumber: new Map(),
    oneofNames: [],
  };
  plans.set(type, plan);
  const realOneofs = type.oneofsArray.filter((o) => !isSyntheticOneof(o));
  plan.oneofNames.push(...realOneofs.map((o) => o.name));
  const fields = type.fieldsArray.map((f) => f.resolve());
  const indexOf = new Map(fields.map((f, i) => [f, i]));
  fields.forEach((field, index) => {
    const fieldPlan = fieldPlanOf(field, index, realOneofs, indexOf);
    plan.fields.push(fieldPlan);
    plan.byNumber.set(fieldPlan.number, fieldPlan);
  });
  // Primary names first, so a proto name can never shadow another field's json_name.
  for (const f of plan.fields) plan.byKey.set(f.jsonName, f);
  for (const f of plan.fields) if (!plan.byKey.has(f.protoName)) plan.byKey.set(f.protoName, f);
  return plan;
}

function isSyntheticOneof(oneof: protobuf.OneOf): boolean {
  const only = oneof.fieldsArray.length === 1 ? oneof.fieldsArray[0] : undefined;
  return only?.options?.proto3_optional === true;
}

function isExtension(field: protobuf.Field): boolean {
  return Boolean(field.declaringField) || field.name.startsWith(".");
}

function fieldPlanOf(
  field: protobuf.Field,
  index: number,
  realOneofs: protobuf.OneOf[],
  indexOf: Map<protobuf.Field, number>,
): FieldPlan {
  const resolved = field.resolvedType;
  const kind =
    resolved instanceof protobuf.Type
      ? Kind.MESSAGE
      : resolved instanceof protobuf.Enum
        ? Kind.ENUM
        : Kind.SCALAR;
  const scalar =
    kind === Kind.SCALAR ? scalarOf(field.type) : kind === Kind.ENUM ? Scalar.INT32 : Scalar.BYTES;
  const isMap = field instanceof protobuf.MapField || field.map === true;
  const repeated = !isMap && field.repeated;
  const oneof = field.partOf ? realOneofs.indexOf(field.partOf) : -1;
  const siblings = field.partOf
    ? field.partOf.fieldsArray.filter((f) => f !== field).map((f) => indexOf.get(f) ?? -1)
    : [];
  const features = (field as unknown as { _features?: Record<string, string> })._features ?? {};
  const enumPlan = resolved instanceof protobuf.Enum ? enumPlanOf(resolved) : undefined;
  const valueTypeName = resolved ? resolved.fullName.replace(/^\./, "") : "";
  const extension = isExtension(field);
  const extensionName = extension ? `[${extensionFullName(field)}]` : "";
  const delimited = !isMap && field.delimited === true;
  const presence = !isMap && !repeated && (kind === Kind.MESSAGE || Boolean(field.hasPresence));
  const packed =
    repeated && kind !== Kind.MESSAGE && scalar !== Scalar.STRING && scalar !== Scalar.BYTES && field.packed;
  const number = field.id;
  const jsonName = extension ? extensionName : (field.jsonName ?? field.name);
  const protoName = extension ? extensionName : (field.protoName ?? field.name);
  const plan: FieldPlan = {
    index,
    number,
    jsonName,
    protoName,
    jsonKeyText: `${JSON.stringify(jsonName)}:`,
    protoKeyText: `${JSON.stringify(protoName)}:`,
    kind,
    scalar,
    enumPlan,
    message: resolved instanceof protobuf.Type ? messagePlan(resolved) : undefined,
    repeated,
    map: isMap,
    mapKey: isMap ? scalarOf((field as protobuf.MapField).keyType) : Scalar.STRING,
    presence,
    oneof,
    oneofSiblings: siblings.filter((i) => i >= 0),
    packed,
    delimited,
    strictUtf8: features.utf8_validation !== "NONE",
    nullIsValue: valueTypeName === "google.protobuf.Value" || enumPlan?.isNullValue === true,
    unset: unsetOf(
      isMap,
      repeated,
      presence,
      field.partOf !== null && field.partOf !== undefined,
      kind,
      valueTypeName,
    ),
    tag: ((number << 3) | wireTypeOf(kind, scalar, delimited)) >>> 0,
    lenTag: ((number << 3) | WireType.LEN) >>> 0,
    endTag: ((number << 3) | WireType.EGROUP) >>> 0,
    mapKeyTag: isMap ? (1 << 3) | scalarWireType(scalarOf((field as protobuf.MapField).keyType)) : 0,
    mapValueTag: isMap ? (2 << 3) | wireTypeOf(kind, scalar, false) : 0,
  };
  return plan;
}

function wireTypeOf(kind: Kind, scalar: Scalar, delimited: boolean): number {
  if (kind === Kind.MESSAGE) return delimited ? WireType.SGROUP : WireType.LEN;
  if (kind === Kind.ENUM) return WireType.VARINT;
  return scalarWireType(scalar);
}

function unsetOf(
  isMap: boolean,
  repeated: boolean,
  presence: boolean,
  inOneof: boolean,
  kind: Kind,
  typeName: string,
): Unset {
  if (isMap) return Unset.MAP;
  if (repeated) return Unset.LIST;
  // An unset singular message renders as `null` (as grpc-gateway / Go's EmitUnpopulated): the key is
  // there, and `null` parses back to "unset" everywhere. Except google.protobuf.Value, for which `null`
  // would read back as a *set* Value (null_value), so an unset Value is omitted instead.
  if (kind === Kind.MESSAGE) return inOneof || typeName === "google.protobuf.Value" ? Unset.OMIT : Unset.NULL;
  // proto3 `optional`, oneof members and proto2 fields render only when set (their presence is data).
  if (presence) return Unset.OMIT;
  return Unset.DEFAULT;
}

function extensionFullName(field: protobuf.Field): string {
  const declaring = field.declaringField ?? field;
  const full = declaring.fullName.replace(/^\./, "");
  return full;
}

function scalarOf(typeName: string): Scalar {
  const scalar = SCALAR_BY_NAME[typeName];
  if (scalar === undefined) throw new TypeError(`unsupported scalar type ${typeName}`);
  return scalar;
}

export function enumPlanOf(enm: protobuf.Enum): EnumPlan {
  const cached = enumPlans.get(enm);
  if (cached !== undefined) return cached;
  const byName = new Map<string, number>();
  const nameByNumber = new Map<number, string>();
  for (const [name, number] of Object.entries(enm.values)) {
    byName.set(name, number);
    if (!nameByNumber.has(number)) nameByNumber.set(number, name);
  }
  const features = (enm as unknown as { _features?: Record<string, string> })._features ?? {};
  const typeName = enm.fullName.replace(/^\./, "");
  const plan: EnumPlan = {
    typeName,
    byName,
    nameByNumber,
    quotedNameByNumber: new Map([...nameByNumber].map(([n, name]) => [n, JSON.stringify(name)])),
    closed: features.enum_type === "CLOSED",
    isNullValue: typeName === "google.protobuf.NullValue",
  };
  enumPlans.set(enm, plan);
  return plan;
}
