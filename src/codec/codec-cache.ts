import type protobuf from "protobufjs";
import type { JsonOptions, MessageCodec } from "./codec.js";
import { createMessageCodec } from "./json-codec.js";

// Per type, then per options object: the gateway hands out one frozen JsonOptions object per backend,
// so identity is the right key, and a schema that did not change keeps its codecs across catalog builds.
const codecs = new WeakMap<protobuf.Type, Map<JsonOptions, MessageCodec>>();

/** The codec of a type under some options, compiled on first request and shared afterwards. */
export function codecFor(type: protobuf.Type, options: JsonOptions): MessageCodec {
  let byOptions = codecs.get(type);
  if (!byOptions) {
    byOptions = new Map();
    codecs.set(type, byOptions);
  }
  let codec = byOptions.get(options);
  if (!codec) {
    codec = createMessageCodec(type, options);
    byOptions.set(options, codec);
  }
  return codec;
}
