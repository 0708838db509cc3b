import fc from "fast-check";
import type protobuf from "protobufjs";
import { type FieldPlan, Kind, type MessagePlan, messagePlan, Scalar, Wkt } from "./plan.js";

/**
 * fast-check arbitraries of protobuf messages for any reflected type, as protobufjs plain objects
 * (encoded with protobufjs's own encoder, independent of the codec under test). Values stay inside what
 * JSON can represent (finite Value numbers, Timestamps in range, FieldMask paths that round-trip).
 */

const noNegativeZero = (v: number) => (Object.is(v, -0) ? 0 : v);

/** Options of the generated messages. */
export interface MessageArbitraryOptions {
  /** Message nesting depth. Default 2. */
  readonly depth?: number;
  /**
   * Stay where ext/protojson is exact: floats within ±3.4e38 (it refuses FLT_MAX's shortest text,
   * 3.4028235e+38) and no -0 (it reads "-0" as the default 0).
   */
  readonly referenceSafeFloats?: boolean;
}

function scalarArbitrary(scalar: Scalar, safeFloats = false): fc.Arbitrary<unknown> {
  switch (scalar) {
    case Scalar.INT32:
    case Scalar.SINT32:
    case Scalar.SFIXED32:
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case Scalar.UINT32:
    case Scalar.FIXED32:
      return fc.integer({ min: 0, max: 0xffffffff });
    case Scalar.INT64:
    case Scalar.SINT64:
    case Scalar.SFIXED64:
      return fc
        .oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -1000n, max: 1000n }))
        .map(String);
    case Scalar.UINT64:
    case Scalar.FIXED64:
      return fc
        .oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 1000n }))
        .map(String);
    case Scalar.FLOAT:
      return (
        safeFloats ? fc.float({ min: Math.fround(-3.4e38), max: Math.fround(3.4e38) }) : fc.float()
      ).map(noNegativeZero);
    case Scalar.DOUBLE:
      return fc.double().map(noNegativeZero);
    case Scalar.BOOL:
      return fc.boolean();
    case Scalar.STRING:
      return fc.string({ unit: "binary", maxLength: 12 });
    default:
      return fc.uint8Array({ maxLength: 12 });
  }
}

function mapKeyArbitrary(scalar: Scalar): fc.Arbitrary<string> {
  if (scalar === Scalar.BOOL) return fc.constantFrom("true", "false");
  if (scalar === Scalar.STRING) return fc.string({ unit: "binary", maxLength: 8 });
  return scalarArbitrary(scalar).map(String);
}

const FIELD_MASK_PATH = fc
  .array(
    fc
      .array(fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/), { minLength: 1, maxLength: 3 })
      .map((w) => w.join("_")),
    {
      minLength: 1,
      maxLength: 3,
    },
  )
  .map((segments) => segments.join("."))
  .filter((path) => !/_[0-9]/.test(path));

function jsonValueArbitrary(depth: number): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    fc.constant({ null_value: 0 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => ({ number_value: noNegativeZero(n) })),
    fc.string({ unit: "binary", maxLength: 8 }).map((s) => ({ string_value: s })),
    fc.boolean().map((b) => ({ bool_value: b })),
  );
  if (depth <= 0) return leaf;
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    fc
      .dictionary(fc.string({ maxLength: 5 }), jsonValueArbitrary(depth - 1), { maxKeys: 3 })
      .map((fields) => ({ struct_value: { fields } })),
    fc.array(jsonValueArbitrary(depth - 1), { maxLength: 3 }).map((values) => ({ list_value: { values } })),
  );
}

function wktArbitrary(plan: MessagePlan, root: protobuf.Root, safeFloats: boolean): fc.Arbitrary<unknown> {
  switch (plan.wkt) {
    case Wkt.TIMESTAMP:
      return fc.record({
        seconds: fc.integer({ min: -62135596800, max: 253402300799 }),
        nanos: fc.integer({ min: 0, max: 999999999 }),
      });
    case Wkt.DURATION:
      return fc
        .record({
          seconds: fc.integer({ min: -315576000000, max: 315576000000 }),
          nanos: fc.integer({ min: 0, max: 999999999 }),
        })
        .map(({ seconds, nanos }) => ({ seconds, nanos: seconds < 0 ? -nanos : nanos }));
    case Wkt.FIELD_MASK:
      return fc.record({ paths: fc.array(FIELD_MASK_PATH, { maxLength: 3 }) });
    case Wkt.WRAPPER:
      return fc
        .option(scalarArbitrary(plan.fields[0]!.scalar, safeFloats), { nil: undefined })
        .map((value) => (value === undefined ? {} : { value }));
    case Wkt.VALUE:
      return jsonValueArbitrary(2);
    case Wkt.STRUCT:
      return fc
        .dictionary(fc.string({ maxLength: 5 }), jsonValueArbitrary(1), { maxKeys: 3 })
        .map((fields) => ({ fields }));
    case Wkt.LIST_VALUE:
      return fc.array(jsonValueArbitrary(1), { maxLength: 3 }).map((values) => ({ values }));
    default: {
      // Any: a small known message, packed the way any sender would.
      const inner = root.lookupType("google.protobuf.Duration");
      return fc.integer({ min: 0, max: 1000 }).map((seconds) => ({
        type_url: "type.googleapis.com/google.protobuf.Duration",
        value: inner.encode(inner.fromObject({ seconds })).finish(),
      }));
    }
  }
}

function valueArbitrary(
  field: FieldPlan,
  root: protobuf.Root,
  depth: number,
  safeFloats: boolean,
): fc.Arbitrary<unknown> {
  if (field.kind === Kind.MESSAGE) return messageObjectArbitrary(field.message!, root, depth - 1, safeFloats);
  if (field.kind === Kind.ENUM) {
    const known = fc.constantFrom(...field.enumPlan!.byName.values());
    // NullValue has one value and its JSON is null: other numbers have no JSON form.
    const closed = field.enumPlan!.closed || field.enumPlan!.isNullValue;
    return closed ? known : fc.oneof(known, fc.integer({ min: -100, max: 100 }));
  }
  return scalarArbitrary(field.scalar, safeFloats);
}

/** A protobufjs plain object (proto field names) for `plan`'s type. */
export function messageObjectArbitrary(
  plan: MessagePlan,
  root: protobuf.Root,
  depth = 2,
  safeFloats = false,
): fc.Arbitrary<Record<string, unknown>> {
  if (plan.wkt !== Wkt.NONE)
    return wktArbitrary(plan, root, safeFloats) as fc.Arbitrary<Record<string, unknown>>;
  const fields =
    depth <= 0 ? plan.fields.filter((f) => f.kind !== Kind.MESSAGE || f.repeated || f.map) : plan.fields;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) {
    const name = plan.type.fieldsArray.find((f) => f.id === field.number)!.name;
    if (field.map) {
      const value =
        depth <= 0 && field.kind === Kind.MESSAGE
          ? fc.constant({})
          : valueArbitrary(field, root, depth, safeFloats);
      parts[name] = fc.dictionary(mapKeyArbitrary(field.mapKey), value, {
        maxKeys: field.kind === Kind.MESSAGE ? 2 : 3,
      });
    } else if (field.repeated) {
      parts[name] =
        depth <= 0 && field.kind === Kind.MESSAGE
          ? fc.constant([])
          : fc.array(valueArbitrary(field, root, depth, safeFloats), {
              maxLength: field.kind === Kind.MESSAGE ? 2 : 3,
            });
    } else parts[name] = valueArbitrary(field, root, depth, safeFloats);
  }
  const oneofs = plan.oneofNames;
  return fc.record(parts, { requiredKeys: [] }).map((object) => {
    // Keep one member per oneof at most (protobufjs would write them all).
    for (let o = 0; o < oneofs.length; o++) {
      let kept = false;
      for (const field of plan.fields) {
        if (field.oneof !== o) continue;
        const name = plan.type.fieldsArray.find((f) => f.id === field.number)!.name;
        if (name in object) {
          if (kept) delete object[name];
          kept = true;
        }
      }
    }
    return object;
  });
}

/** Encoded random messages of `type`. */
export function messageBytesArbitrary(
  type: protobuf.Type,
  options: MessageArbitraryOptions = {},
): fc.Arbitrary<Uint8Array> {
  const plan = messagePlan(type);
  return messageObjectArbitrary(
    plan,
    type.root,
    options.depth ?? 2,
    options.referenceSafeFloats === true,
  ).map((object) => type.encode(type.fromObject(object)).finish());
}
