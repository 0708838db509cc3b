import type protobuf from "protobufjs";
import { bundledFiles, type DescriptorFile } from "./descriptor-file.js";

/**
 * Which bundled google files a backend's schema needs. Adding the whole bundle (descriptor.proto, api,
 * rpc, …) to every backend's root cost about half a megabyte per backend, so only the files that define a
 * type the backend references — by declared import or by type name, since @grpc/reflection sends no
 * imports — are linked in, with their own imports.
 */

interface BundleIndex {
  /** Fully-qualified type name (no leading dot) → bundled file name. */
  fileOfType: Map<string, string>;
  byName: Map<string, DescriptorFile>;
}

let index: BundleIndex | undefined;

interface MessageShape {
  name: string;
  field?: Array<{ typeName?: string }>;
  nestedType?: MessageShape[];
  enumType?: Array<{ name: string }>;
}

function bundleIndex(): BundleIndex {
  if (index) return index;
  const fileOfType = new Map<string, string>();
  const byName = new Map<string, DescriptorFile>();
  for (const file of bundledFiles()) {
    byName.set(file.name, file);
    const prefix = file.package ? `${file.package}.` : "";
    const visit = (message: MessageShape, scope: string): void => {
      const name = `${scope}${message.name}`;
      fileOfType.set(name, file.name);
      for (const nested of message.nestedType ?? []) visit(nested, `${name}.`);
      for (const e of message.enumType ?? []) fileOfType.set(`${name}.${e.name}`, file.name);
    };
    for (const message of file.proto.messageType as unknown as MessageShape[]) visit(message, prefix);
    for (const e of file.proto.enumType as unknown as Array<{ name: string }>)
      fileOfType.set(`${prefix}${e.name}`, file.name);
  }
  index = { fileOfType, byName };
  return index;
}

/** The bundled files a set of backend files needs, imports included, in bundle order. */
export function bundleFilesFor(files: Iterable<DescriptorFile>): DescriptorFile[] {
  const { fileOfType, byName } = bundleIndex();
  const wanted = new Set<string>();
  const want = (typeName: string | undefined): void => {
    if (!typeName) return;
    // Names may be absolute (".google.protobuf.Timestamp") or relative ("google.protobuf.Timestamp").
    const at = typeName.indexOf("google.");
    if (at === -1) return;
    const file = fileOfType.get(typeName.slice(at));
    if (file) wanted.add(file);
  };
  const visit = (message: MessageShape): void => {
    for (const field of message.field ?? []) want(field.typeName);
    for (const nested of message.nestedType ?? []) visit(nested);
  };
  for (const file of files) {
    for (const dep of file.dependencies) if (byName.has(dep)) wanted.add(dep);
    for (const message of file.proto.messageType as unknown as MessageShape[]) visit(message);
    for (const service of file.proto.service) {
      for (const method of service.method) {
        want(method.inputType);
        want(method.outputType);
      }
    }
  }
  // Close over the bundled files' own imports (e.g. google/rpc/status.proto → google/protobuf/any.proto).
  for (const name of [...wanted]) {
    const stack = [name];
    while (stack.length > 0) {
      for (const dep of byName.get(stack.pop()!)?.dependencies ?? []) {
        if (!wanted.has(dep) && byName.has(dep)) {
          wanted.add(dep);
          stack.push(dep);
        }
      }
    }
  }
  return bundledFiles().filter((f) => wanted.has(f.name));
}

let shared: protobuf.Root | undefined;

/**
 * One root holding the whole bundle, shared by every backend: where error details (google.rpc.*) and
 * other well-known types are looked up when a backend's own root does not link them.
 */
export function sharedBundleRoot(build: (files: DescriptorFile[]) => protobuf.Root): protobuf.Root {
  shared ??= build([...bundledFiles()]);
  return shared;
}
