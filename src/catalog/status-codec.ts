import type protobuf from "protobufjs";
import type { JsonOptions, MessageCodec } from "../codec/codec.js";
import { createMessageCodec } from "../codec/json-codec.js";
import { bundleRoot } from "../reflection/schema-root.js";

/**
 * The google.rpc.Status codec of one backend schema under one set of JSON options, for
 * `grpc-status-details-bin` (CONTRACT.md §3). Its Any rendering resolves each detail's type in the
 * backend's own schema first, then in the bundled google/rpc/*.proto (BadRequest, ErrorInfo, RetryInfo,
 * …). Built when a snapshot is built, so the first error with details compiles nothing.
 */
export function createStatusCodec(root: protobuf.Root, options: JsonOptions): MessageCodec {
  const bundle = bundleRoot();
  return createMessageCodec(bundle.lookupType("google.rpc.Status"), options, {
    resolveType: (name) => resolveType(root, name) ?? resolveType(bundle, name),
  });
}

function resolveType(root: protobuf.Root, name: string): protobuf.Type | undefined {
  try {
    const type = root.lookupType(name);
    type.resolveAll();
    return type;
  } catch {
    return undefined;
  }
}
