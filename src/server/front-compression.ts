import compress from "@fastify/compress";
import type { FastifyInstance } from "fastify";
import { Code, GatewayError } from "../errors.js";

/** Response compression settings (request bodies are always decompressed). */
export interface CompressionSettings {
  /** Compress responses when the client's Accept-Encoding allows. */
  enabled: boolean;
  /** Smaller responses are sent as they are: compressing a few hundred bytes costs more than it saves. */
  thresholdBytes: number;
}

const REQUEST_ENCODINGS: Array<"br" | "gzip" | "deflate" | "identity"> = [
  "br",
  "gzip",
  "deflate",
  "identity",
];
// JSON answers and errors. NDJSON and SSE streams are left out on purpose: a compressor holds bytes back
// until its block fills, which would delay each message of a stream, and they do not match here nor in
// mime-db (which @fastify/compress asks next). Other types (the docs page) follow mime-db.
const COMPRESSIBLE_RE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * @fastify/compress both ways:
 * - responses: br, gzip or deflate as the client prefers, above the threshold;
 * - requests: `Content-Encoding: gzip | deflate | br` bodies are inflated before the body parser, which
 *   counts the decompressed bytes against `--max-request-bytes` (413), so a small compressed body cannot
 *   expand into a large one. A corrupt stream fails the body read (400; the plugin marks the zlib error
 *   `FST_CP_ERR_INVALID_CONTENT` for the log); an encoding we cannot decode is 415.
 */
export function registerCompression(app: FastifyInstance, settings: CompressionSettings): void {
  app.register(compress, {
    globalCompression: settings.enabled,
    globalDecompression: true,
    threshold: settings.thresholdBytes,
    encodings: ["br", "gzip", "deflate", "identity"],
    customTypes: (type: string) => COMPRESSIBLE_RE.test(type),
    requestEncodings: REQUEST_ENCODINGS,
    onUnsupportedRequestEncoding: (encoding: string) =>
      new GatewayError(
        Code.INVALID_ARGUMENT,
        `unsupported Content-Encoding "${encoding}"; send ${REQUEST_ENCODINGS.join(", ")}`,
        { httpStatus: 415 },
      ),
  });
}
