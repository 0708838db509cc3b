/**
 * The codec interface the gateway uses: proto3 JSON ⇄ protobuf binary for one message type.
 * Implementations are compiled once per type (off the request path) and cached; see json-codec.ts.
 */

/** Options of the JSON mapping (CONTRACT.md §2). Configurable per gateway, overridable per backend. */
export interface JsonOptions {
  /** Emit every field, with its default, in responses (proto3 presence rules apply). Default true. */
  emitUnpopulated: boolean;
  /** Use proto field names (`created_at`) instead of lowerCamel/json_name in responses. Default false. */
  useProtoNames: boolean;
  /** Emit enum values as numbers instead of names. Default false. */
  enumsAsInts: boolean;
  /** Drop unknown JSON fields instead of answering 400. Default false. */
  discardUnknownFields: boolean;
  /** Maximum nesting of JSON objects/arrays in a request. Default 64. */
  maxDepth: number;
}

export const DEFAULT_JSON_OPTIONS: Readonly<JsonOptions> = Object.freeze({
  emitUnpopulated: true,
  useProtoNames: false,
  enumsAsInts: false,
  discardUnknownFields: false,
  maxDepth: 64,
});

/**
 * JSON ⇄ binary for one message type. Decoding errors are GatewayError INVALID_ARGUMENT whose message
 * starts with the JSON path of the offending value (`items[3].createdAt: invalid timestamp "2024-13-01"`).
 */
export interface MessageCodec {
  /** Fully-qualified message name without leading dot (`acme.library.v1.Book`). */
  readonly typeName: string;
  /** JSON text → protobuf bytes. Empty text is the empty message. */
  jsonToBinary(json: string): Uint8Array;
  /** An already-parsed JSON value (e.g. a body merged with path/query bindings) → protobuf bytes. */
  valueToBinary(value: unknown): Uint8Array;
  /** protobuf bytes → JSON text. */
  binaryToJson(bytes: Uint8Array): string;
  /** protobuf bytes → JSON value (for `response_body` and stream framing). */
  binaryToValue(bytes: Uint8Array): unknown;
}
