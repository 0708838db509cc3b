import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
// Installs Root/Type/Field/….fromDescriptor on protobufjs's reflection classes.
import "protobufjs/ext/descriptor.js";
import { packagePath } from "../package-paths.js";

/**
 * Decoding of FileDescriptorProto bytes that keeps what the gateway needs and protobufjs's own
 * descriptor module drops: the `google.api.http` method option (extension 72295728 of MethodOptions).
 * The descriptor types used here come from the bundled google/protobuf/descriptor.proto together with
 * google/api/annotations.proto, so the extension is a known field and survives decoding.
 */

/** One file received through reflection (or bundled), decoded once. */
export interface DescriptorFile {
  name: string;
  package: string;
  dependencies: string[];
  /** The exact bytes, for hashing and for serving `/admin` views. */
  bytes: Uint8Array;
  /** The decoded google.protobuf.FileDescriptorProto (protobufjs message; options keep `.google.api.http`). */
  proto: FileDescriptorProtoMessage;
}

/** The fields of a decoded FileDescriptorProto this project reads (protobufjs camelCase names). */
export interface FileDescriptorProtoMessage extends protobuf.Message {
  name: string;
  package: string;
  dependency: string[];
  messageType: protobuf.Message[];
  enumType: protobuf.Message[];
  service: ServiceDescriptorProtoMessage[];
  extension: protobuf.Message[];
  options?: protobuf.Message | null;
  syntax: string;
  sourceCodeInfo?: protobuf.Message | null;
}

export interface ServiceDescriptorProtoMessage extends protobuf.Message {
  name: string;
  method: MethodDescriptorProtoMessage[];
}

export interface MethodDescriptorProtoMessage extends protobuf.Message {
  name: string;
  inputType: string;
  outputType: string;
  clientStreaming: boolean;
  serverStreaming: boolean;
  options?: (protobuf.Message & { ".google.api.http"?: HttpRuleMessage | null }) | null;
}

/** google.api.HttpRule as decoded by protobufjs (oneof `pattern` members are set one at a time). */
export interface HttpRuleMessage {
  selector?: string;
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  custom?: { kind?: string; path?: string } | null;
  body?: string;
  responseBody?: string;
  additionalBindings?: HttpRuleMessage[];
}

const BUNDLE_PATH = packagePath("proto", "descriptors", "google.binpb");

let descriptorTypes: { fileSet: protobuf.Type; file: protobuf.Type } | undefined;

/** The descriptor.proto types, with google.api.http attached to MethodOptions; built once. */
function types(): { fileSet: protobuf.Type; file: protobuf.Type } {
  if (!descriptorTypes) {
    // Extensions declared in http/annotations.proto are attached to their extendee by resolveAll().
    const root = protobuf.Root.fromDescriptor(readFileSync(BUNDLE_PATH));
    descriptorTypes = {
      fileSet: root.lookupType("google.protobuf.FileDescriptorSet"),
      file: root.lookupType("google.protobuf.FileDescriptorProto"),
    };
  }
  return descriptorTypes;
}

/** Decodes one serialized FileDescriptorProto. Throws on bytes that are not one. */
export function decodeDescriptorFile(bytes: Uint8Array): DescriptorFile {
  const proto = types().file.decode(bytes) as FileDescriptorProtoMessage;
  return { name: proto.name, package: proto.package, dependencies: [...proto.dependency], bytes, proto };
}

/** Decodes a serialized FileDescriptorSet (e.g. `buf build -o x.binpb`) into its files, in order. */
export function decodeDescriptorSet(bytes: Uint8Array): DescriptorFile[] {
  const { fileSet, file } = types();
  const set = fileSet.decode(bytes) as protobuf.Message & { file: protobuf.Message[] };
  return set.file.map((message) => decodeDescriptorFile(file.encode(message).finish()));
}

let bundled: DescriptorFile[] | undefined;

/** The bundled well-known types, google/api/*.proto and google/rpc/*.proto, decoded once. */
export function bundledFiles(): readonly DescriptorFile[] {
  bundled ??= decodeDescriptorSet(readFileSync(BUNDLE_PATH));
  return bundled;
}
