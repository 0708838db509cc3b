import protobuf from "protobufjs";
import type { JsonOptions, MessageCodec } from "./codec.js";
import { decodeMessage } from "./decode.js";
import { writeMessage } from "./from-json.js";
import type { FromJsonContext } from "./from-json-context.js";
import { decodeUtf8Body, parseJsonCarefully, parseJsonText } from "./json-text.js";
import { resolveJsonOptions } from "./options.js";
import { type FieldPlan, type MessagePlan, messagePlan } from "./plan.js";
import { requestError, responseError } from "./problems.js";
import type { ToJsonContext } from "./to-json-forms.js";
import { fieldOfMessageToText, messageToText } from "./to-json-text.js";
import { WireReader } from "./wire-reader.js";
import { WireWriter } from "./wire-writer.js";

/** Extra wiring for createMessageCodec. */
export interface MessageCodecExtras {
  /**
   * Resolves a fully-qualified message name (`acme.v1.Book`) named by a google.protobuf.Any `@type`.
   * Default: the message types of `type.root`, indexed once.
   */
  resolveType?: (fullName: string) => protobuf.Type | undefined;
}

/** Writers larger than this are dropped after use, so one big request does not pin memory per type. */
const MAX_RETAINED_WRITER_BYTES = 64 * 1024;

/**
 * proto3 JSON ⇄ binary for one message type. The type is compiled once into a plan (cached per type,
 * shared by every codec of it); the conversions write and read protobuf bytes directly. protobufjs's
 * ext/protojson is the reference these are tested against (see *.test.ts). Errors are GatewayErrors:
 * INVALID_ARGUMENT for requests, with the JSON path first; DATA_LOSS / INTERNAL for responses.
 */
export function createMessageCodec(
  type: protobuf.Type,
  options: JsonOptions,
  extras: MessageCodecExtras = {},
): MessageCodec {
  const opts = resolveJsonOptions(options);
  const plan = messagePlan(type);
  const typeName = plan.typeName;
  const resolveAny = anyResolver(type.root, extras.resolveType);
  let writer = new WireWriter();
  const input: FromJsonContext = {
    w: writer,
    discardUnknown: opts.discardUnknownFields,
    maxDepth: opts.maxDepth,
    members: 0,
    messageDepth: 0,
    resolveAny,
  };
  const output: ToJsonContext = {
    emitUnpopulated: opts.emitUnpopulated,
    useProtoNames: opts.useProtoNames,
    enumsAsInts: opts.enumsAsInts,
    resolveAny,
  };

  /** `members`: object members in the JSON text (-1: not from text, or already checked). */
  const encode = (value: unknown, members: number, text: string): Uint8Array => {
    writer.reset();
    input.members = 0;
    input.messageDepth = 0;
    writeMessage(plan, value, input, 1);
    if (members >= 0 && input.members !== members) {
      // JSON.parse kept only the last of some duplicate keys: the careful parser says which, and where.
      // (Should the counts ever differ for another reason, it finds nothing and the bytes stand.)
      parseJsonCarefully(text, opts.maxDepth);
    }
    const bytes = writer.finish();
    if (writer.buf.length > MAX_RETAINED_WRITER_BYTES) {
      writer = new WireWriter();
      input.w = writer;
    }
    return bytes;
  };

  const jsonToBinary = (json: string): Uint8Array => {
    if (isBlank(json)) return new Uint8Array(0);
    try {
      const parsed = parseJsonText(json, opts.maxDepth);
      return encode(parsed.value, parsed.members, json);
    } catch (error) {
      throw requestError(error, typeName);
    }
  };

  return {
    typeName,
    jsonToBinary,
    bytesToBinary(body) {
      let text: string;
      try {
        text = decodeUtf8Body(body);
      } catch (error) {
        throw requestError(error, typeName);
      }
      return jsonToBinary(text);
    },
    valueToBinary(value) {
      if (value === undefined) return new Uint8Array(0);
      try {
        return encode(value, -1, "");
      } catch (error) {
        throw requestError(error, typeName);
      }
    },
    binaryToJson(bytes) {
      try {
        const slots = decodeMessage(plan, new WireReader(bytes), bytes.length, undefined, 0, 0);
        return messageToText(plan, slots, output, 0);
      } catch (error) {
        throw responseError(error, typeName);
      }
    },
    fieldToJson(bytes, fieldName) {
      const field = selectField(plan, fieldName, opts.useProtoNames);
      try {
        const slots = decodeMessage(plan, new WireReader(bytes), bytes.length, undefined, 0, 0);
        return fieldOfMessageToText(field, slots, output);
      } catch (error) {
        throw responseError(error, typeName);
      }
    },
  };
}

/** A top-level field by proto name, else by the key it prints under (json_name, or the proto name). */
function selectField(plan: MessagePlan, name: string, useProtoNames: boolean): FieldPlan | undefined {
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) if (fields[i]!.protoName === name) return fields[i];
  if (useProtoNames) return undefined;
  for (let i = 0; i < fields.length; i++) if (fields[i]!.jsonName === name) return fields[i];
  return undefined;
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

const typeIndexes = new WeakMap<protobuf.Root, Map<string, protobuf.Type>>();

/** Message types of a root by full name, built once per root (Any resolution must not walk per request). */
function typeIndex(root: protobuf.Root): Map<string, protobuf.Type> {
  let index = typeIndexes.get(root);
  if (index !== undefined) return index;
  index = new Map();
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) index!.set(nested.fullName.replace(/^\./, ""), nested);
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  visit(root);
  typeIndexes.set(root, index);
  return index;
}

/** Any `@type` URL → plan: the name after the last "/", looked up exactly (no scope search, no caching of misses). */
function anyResolver(
  root: protobuf.Root,
  resolveType: MessageCodecExtras["resolveType"],
): (typeUrl: string) => MessagePlan | undefined {
  return (typeUrl) => {
    const name = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    if (name === "") return undefined;
    const type = resolveType?.(name) ?? typeIndex(root).get(name);
    return type === undefined ? undefined : messagePlan(type);
  };
}
