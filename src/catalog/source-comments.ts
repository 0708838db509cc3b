import type { DescriptorFile } from "../reflection/descriptor-file.js";

interface Location {
  path: number[];
  leadingComments?: string;
  trailingComments?: string;
}

// Field numbers in descriptor.proto that make up SourceCodeInfo.Location paths.
const FILE_MESSAGE_TYPE = 4;
const FILE_SERVICE = 6;
const SERVICE_METHOD = 2;
const MESSAGE_FIELD = 2;

/**
 * Leading comments of services, methods, top-level messages and their fields, by fully-qualified name,
 * when the descriptors carry source info (protoc/buf files do; stock @grpc/reflection's do not).
 */
export function sourceComments(files: Iterable<DescriptorFile>): Map<string, string> {
  const comments = new Map<string, string>();
  for (const file of files) {
    const locations = (file.proto.sourceCodeInfo as { location?: Location[] } | null | undefined)?.location;
    if (!locations?.length) continue;
    const prefix = file.package ? `${file.package}.` : "";
    const byPath = new Map<string, string>();
    for (const location of locations) {
      const text = (location.leadingComments || location.trailingComments || "").trim();
      if (text) byPath.set(location.path.join("."), text);
    }
    file.proto.service.forEach((service, si) => {
      const serviceName = `${prefix}${service.name}`;
      const serviceComment = byPath.get(`${FILE_SERVICE}.${si}`);
      if (serviceComment) comments.set(serviceName, serviceComment);
      service.method.forEach((method, mi) => {
        const comment = byPath.get(`${FILE_SERVICE}.${si}.${SERVICE_METHOD}.${mi}`);
        if (comment) comments.set(`${serviceName}.${method.name}`, comment);
      });
    });
    file.proto.messageType.forEach((message, ti) => {
      const typed = message as unknown as { name: string; field: { name: string }[] };
      const messageName = `${prefix}${typed.name}`;
      const comment = byPath.get(`${FILE_MESSAGE_TYPE}.${ti}`);
      if (comment) comments.set(messageName, comment);
      typed.field.forEach((field, fi) => {
        const fieldComment = byPath.get(`${FILE_MESSAGE_TYPE}.${ti}.${MESSAGE_FIELD}.${fi}`);
        if (fieldComment) comments.set(`${messageName}.${field.name}`, fieldComment);
      });
    });
  }
  return comments;
}
