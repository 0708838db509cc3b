/**
 * The codec interface the gateway uses: proto3 JSON ⇄ protobuf binary for one message type.
 * Implementations are compiled once per type (off the request path) and cached; see json-codec.ts.
 */

/**
 * Options of the JSON mapping (CONTRACT.md §2). Configurable per gateway, overridable per backend.
 * `resolveJsonOptions()` (options.ts) fills defaults into a partial set and validates it.
 */
export interface JsonOptions {
  /**
   * Emit every field, with its default, in responses. Default true. Presence rules apply: proto3
   * `optional` fields, oneof members and other explicit-presence fields (proto2, editions) appear only
   * when set; an unset message field is `null`, as grpc-gateway prints it (an unset
   * google.protobuf.Value is omitted, since `null` is a Value); repeated fields are `[]`, maps `{}`.
   * Either way, a default value the backend wrote explicitly on the wire renders like an absent one.
   */
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
 * JSON ⇄ binary for one message type. Request errors are GatewayError INVALID_ARGUMENT whose message
 * starts with the JSON path of the offending value (`items[3].createdAt: invalid timestamp "2024-13-01"`).
 * Response errors are DATA_LOSS (the backend's bytes are not valid protobuf) or INTERNAL (valid, but
 * with no JSON form: a Timestamp out of range, a NaN in a google.protobuf.Value), with the path too.
 * Responses print fields in declaration order and map keys sorted, whatever order the backend used.
 */
export interface MessageCodec {
  /** Fully-qualified message name without leading dot (`acme.library.v1.Book`). */
  readonly typeName: string;
  /** JSON text → protobuf bytes. Empty text is the empty message. */
  jsonToBinary(json: string): Uint8Array;
  /**
   * Raw request body bytes (UTF-8 JSON) → protobuf bytes: invalid UTF-8 is rejected with its offset,
   * then as `jsonToBinary`. Prefer this on the request path over decoding the body elsewhere.
   */
  bytesToBinary(body: Uint8Array): Uint8Array;
  /** An already-parsed JSON value (e.g. a body merged with path/query bindings) → protobuf bytes. */
  valueToBinary(value: unknown): Uint8Array;
  /** protobuf bytes → JSON text (printed directly; a double -0 prints as -0). */
  binaryToJson(bytes: Uint8Array): string;
  /**
   * protobuf bytes → the JSON text of one top-level field (`response_body`): what binaryToJson prints
   * under that field's key, or `null` where it prints nothing. `fieldName` is the proto field name (as
   * google.api.http has it), else the field's JSON key under these options; no such field prints `null`.
   */
  fieldToJson(bytes: Uint8Array, fieldName: string): string;
}
