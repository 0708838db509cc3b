import protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { errors } from "../errors.js";
import type { JsonOptions, MessageCodec } from "./codec.js";

/**
 * proto3 JSON ⇄ binary for one message type, on protobufjs's ext/protojson (conformance-tested).
 * Compiled once per type and options; see codec.ts for the contract.
 */
export function createMessageCodec(type: protobuf.Type, options: JsonOptions): MessageCodec {
  const parseOptions = { ignoreUnknownFields: options.discardUnknownFields };
  const typeName = type.fullName.replace(/^\./, "");
  const fromValue = (value: unknown): Uint8Array => {
    let message: protobuf.Message;
    try {
      message = protojson.fromJson(type, value, parseOptions);
    } catch (cause) {
      throw errors.invalidArgument(`invalid ${typeName}: ${(cause as Error).message}`, cause);
    }
    return type.encode(message).finish();
  };
  return {
    typeName,
    jsonToBinary(json) {
      if (json.trim() === "") return new Uint8Array(0);
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch (cause) {
        throw errors.invalidArgument(`malformed JSON: ${(cause as Error).message}`, cause);
      }
      return fromValue(value);
    },
    valueToBinary: fromValue,
    binaryToJson: (bytes) => JSON.stringify(protojson.toJson(type, type.decode(bytes))),
    binaryToValue: (bytes) => protojson.toJson(type, type.decode(bytes)),
  };
}
