import { createHash } from "node:crypto";
import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { bundleFilesFor, sharedBundleRoot } from "./bundle-index.js";
import { bundledFiles, type DescriptorFile, type FileDescriptorProtoMessage } from "./descriptor-file.js";

/**
 * Builds one protobufjs Root from the files an instance sent plus the bundled google protos, linking
 * leniently (../shared/REFLECTION-NOTES.md): declared dependency lists are ignored, type names resolve
 * by protobuf scope rules across every file, a name defined twice keeps its first definition, and a
 * method whose types cannot be resolved is reported instead of failing the whole backend.
 */

export interface SchemaRoot {
  root: protobuf.Root;
  /** Non-fatal problems met while linking (duplicate definitions skipped, …), for logs and /admin. */
  problems: string[];
}

// The canonical well-known types go first (only those the backend uses; see bundle-index.ts): every
// stack agrees on them, and @grpc/reflection's merged synthetic `google_protobuf.proto` can carry odd
// fields (one literally named `.google.api.http`).

export function buildSchemaRoot(files: Iterable<DescriptorFile>): SchemaRoot {
  const root = new protobuf.Root();
  const problems: string[] = [];
  const backendFiles = [...files];
  const bundle = bundleFilesFor(backendFiles);
  for (const file of bundle) addFile(root, file.proto, problems, false);
  const bundleNames = new Set(bundle.map((f) => f.name));
  // A backend's own copy of a bundled type is expected (every server ships the WKTs), not a problem.
  const bundledPackages = new Set(bundledFiles().map((f) => f.package));
  for (const file of backendFiles) {
    if (!bundleNames.has(file.name)) addFile(root, file.proto, problems, !bundledPackages.has(file.package));
  }
  return { root, problems };
}

/** The whole bundle in one root, shared: the fallback for types a backend's root does not link (error details). */
export function bundleRoot(): protobuf.Root {
  return sharedBundleRoot((files) => {
    const root = new protobuf.Root();
    for (const file of files) addFile(root, file.proto, [], false);
    return root;
  });
}

function addFile(
  root: protobuf.Root,
  file: FileDescriptorProtoMessage,
  problems: string[],
  reportDuplicates: boolean,
): void {
  let ns: protobuf.Namespace;
  try {
    ns = file.package ? root.define(file.package) : root;
  } catch (error) {
    problems.push(`${file.name}: package ${file.package} clashes with a type: ${(error as Error).message}`);
    return;
  }
  const context = descriptorContext(file);
  const add = (what: string, make: () => protobuf.ReflectionObject): void => {
    let object: protobuf.ReflectionObject;
    try {
      object = make();
    } catch (error) {
      problems.push(`${file.name}: cannot read ${what}: ${(error as Error).message}`);
      return;
    }
    if (ns.get(object.name)) {
      // Synthetic per-package files (stock @grpc/reflection) repeat definitions other files carry too.
      if (reportDuplicates)
        problems.push(`${file.name}: ${qualified(ns, object.name)} already defined; kept the first`);
      return;
    }
    ns.add(object);
  };
  // The decoded messages have exactly the shape ext/descriptor reads (same descriptor.proto), only typed
  // through our own FileDescriptorProtoMessage view.
  type Input<T extends (d: never, c: never) => unknown> = Parameters<T>[0];
  for (const message of file.messageType)
    add("message", () =>
      protobuf.Type.fromDescriptor(message as Input<typeof protobuf.Type.fromDescriptor>, context),
    );
  for (const enumType of file.enumType)
    add("enum", () =>
      protobuf.Enum.fromDescriptor(enumType as Input<typeof protobuf.Enum.fromDescriptor>, context),
    );
  for (const service of file.service)
    add("service", () =>
      protobuf.Service.fromDescriptor(service as Input<typeof protobuf.Service.fromDescriptor>, context),
    );
  // Extensions are not added: options are read from the raw descriptors, and an extension whose extendee
  // is missing (options-only imports are often absent) would make the whole root unresolvable.
}

function qualified(ns: protobuf.Namespace, name: string): string {
  const prefix = ns.fullName.replace(/^\./, "");
  return prefix ? `${prefix}.${name}` : name;
}

// keepCase: protobufjs field names are the proto names (`create_time`), so path templates and query
// parameters find fields by their proto names; JSON names come from `json_name`, or are derived the
// way protoc derives them when a server leaves `json_name` out (C++ servers do).
function descriptorContext(file: FileDescriptorProtoMessage): DescriptorContext {
  if (file.syntax === "proto3") return { edition: "proto3", keepCase: true };
  if (file.syntax === "editions") {
    const edition = (file as unknown as { edition?: number }).edition;
    // google.protobuf.Edition: EDITION_2023 = 1000, EDITION_2024 = 1001.
    const name = edition === 1001 ? "2024" : "2023";
    const features = fileFeatures(file);
    // File-level features (field_presence = IMPLICIT, message_encoding = DELIMITED, …) decide presence
    // and wire encoding of every field in the file; protobufjs takes them through the context.
    return features ? { edition: name, keepCase: true, features } : { edition: name, keepCase: true };
  }
  return { edition: "proto2", keepCase: true };
}

interface DescriptorContext {
  edition: string;
  keepCase: true;
  features?: Record<string, unknown>;
}

/** The file's `options.features` in the shape protobufjs's descriptor reader uses: snake_case keys, enum names. */
function fileFeatures(file: FileDescriptorProtoMessage): Record<string, unknown> | undefined {
  const features = (file.options as { features?: protobuf.Message | null } | null | undefined)?.features;
  if (!features) return undefined;
  const type = (features as unknown as { $type: protobuf.Type }).$type;
  const object = type.toObject(features, { enums: String }) as Record<string, unknown>;
  const snake: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object))
    snake[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  return Object.keys(snake).length > 0 ? snake : undefined;
}

/**
 * Resolves everything a method needs (its request and response types and every type they reach).
 * Returns the problem instead of throwing, so one broken method does not take its service down.
 */
export function resolveMethod(method: protobuf.Method): string | undefined {
  try {
    method.resolve();
    const pending: protobuf.Type[] = [method.resolvedRequestType!, method.resolvedResponseType!];
    const seen = new Set<protobuf.Type>();
    for (let type = pending.pop(); type; type = pending.pop()) {
      if (seen.has(type)) continue;
      seen.add(type);
      type.resolveAll();
      for (const field of type.fieldsArray) {
        if (field.resolvedType instanceof protobuf.Type) pending.push(field.resolvedType);
      }
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A stable hash of a set of descriptor files: equal hashes mean an identical schema, so no rebuild. */
export function hashDescriptorFiles(files: Iterable<DescriptorFile>): string {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash("sha256");
  for (const file of sorted) {
    hash.update(file.name);
    hash.update("\0");
    hash.update(file.bytes);
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}
