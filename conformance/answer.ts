import { CONFORMANCE_PACKAGE, CONFORMANCE_SERVICES } from "../fixtures/conformance-backend.js";
import {
  type ConformanceRequest,
  type ConformanceResponse,
  FAILURE_SET_TYPE,
  TestCategory,
  WireFormat,
} from "./protocol.js";

/**
 * Answers one ConformanceRequest through a running gateway (conformance/testee.ts starts it). Nothing here
 * converts between JSON and protobuf: JSON goes to the gateway as the HTTP body and comes back as the
 * HTTP body; protobuf bytes cross the gateway inside a google.protobuf.BytesValue (base64 in JSON), which
 * the echo backend unwraps into, or wraps around, the message's own wire bytes.
 *
 * | input → output     | gateway method | what the gateway does                                           |
 * |--------------------|----------------|-----------------------------------------------------------------|
 * | JSON → JSON        | Echo           | JSON → bytes (request), bytes → JSON (response)                 |
 * | JSON → protobuf    | Serialize      | JSON → bytes; the answer carries exactly those bytes            |
 * | protobuf → JSON    | Parse          | the backend answers the given bytes; the gateway renders them   |
 * | protobuf → protobuf| —              | skipped: no JSON on either side, nothing of the gateway's to test |
 */

/** Public URLs of the gateways that answer: one per option set the suite needs. */
export interface GatewayUrls {
  /** Unknown JSON fields rejected (the default): JSON_TEST and everything else. */
  strict: string;
  /** `discardUnknownFields: true`: JSON_IGNORE_UNKNOWN_PARSING_TEST. */
  lenient: string;
}

type Method = "Echo" | "Serialize" | "Parse";

export async function answerRequest(
  request: ConformanceRequest,
  urls: GatewayUrls,
): Promise<ConformanceResponse> {
  // The handshake: the runner asks for the testee's list of expected failures; an empty one defers to
  // the runner's --failure_list.
  if (request.messageType === FAILURE_SET_TYPE) return { protobufPayload: new Uint8Array(0) };
  const output = request.requestedOutputFormat ?? WireFormat.UNSPECIFIED;
  if (output === WireFormat.JSPB || request.payload === "jspbPayload") {
    return { skipped: "JSPB is Google-internal" };
  }
  if (output === WireFormat.TEXT_FORMAT || request.payload === "textPayload") {
    return { skipped: "the gateway speaks JSON, not the text format" };
  }
  if (output !== WireFormat.JSON && output !== WireFormat.PROTOBUF) {
    return { runtimeError: `unsupported output format ${output}` };
  }
  const service = CONFORMANCE_SERVICES[request.messageType ?? ""];
  if (service === undefined) return { runtimeError: `no echo service for ${request.messageType}` };
  const base =
    request.testCategory === TestCategory.JSON_IGNORE_UNKNOWN_PARSING_TEST ? urls.lenient : urls.strict;
  const url = (method: Method) => `${base}/${CONFORMANCE_PACKAGE}.${service}/${method}`;

  if (request.payload === "jsonPayload") {
    const json = request.jsonPayload ?? "";
    if (output === WireFormat.JSON) return call(url("Echo"), "Echo", json, (text) => ({ jsonPayload: text }));
    return call(url("Serialize"), "Serialize", json, (text) => ({ protobufPayload: bytesFromJson(text) }));
  }
  if (request.payload === "protobufPayload") {
    if (output === WireFormat.PROTOBUF) {
      return { skipped: "protobuf → protobuf never crosses the JSON mapping" };
    }
    const body = JSON.stringify(Buffer.from(request.protobufPayload ?? new Uint8Array(0)).toString("base64"));
    return call(url("Parse"), "Parse", body, (text) => ({ jsonPayload: text }));
  }
  return { runtimeError: "request without a payload" };
}

async function call(
  url: string,
  method: Method,
  body: string,
  ok: (text: string) => ConformanceResponse,
): Promise<ConformanceResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: Buffer.from(body, "utf8"),
  });
  const text = await response.text();
  if (response.status === 200) return ok(text);
  return errorResponse(method, response.status, text);
}

/** gRPC codes (google.rpc.Code) the mapping below tells apart. */
const INVALID_ARGUMENT = 3;
const INTERNAL = 13;
const DATA_LOSS = 15;

/**
 * A gateway error as the suite's verdict:
 * - 400 INVALID_ARGUMENT: the gateway refused the request JSON → parse_error.
 * - DATA_LOSS: the backend's bytes are not valid protobuf. On Parse those bytes are the test's input, so
 *   it is a parse_error; elsewhere they are the gateway's own encoding → serialize_error.
 * - INTERNAL: valid bytes without a JSON form (a Timestamp out of range, …) → serialize_error.
 * - anything else (404, 503, …) is a fault of the set-up, not a verdict → runtime_error.
 */
export function errorResponse(method: Method, status: number, text: string): ConformanceResponse {
  let code: unknown;
  let message = text;
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
    code = parsed.code;
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // Not a google.rpc.Status: report the raw text.
  }
  const described = `HTTP ${status}, code ${String(code)}: ${message}`;
  if (status === 400 && code === INVALID_ARGUMENT) return { parseError: described };
  if (code === DATA_LOSS)
    return method === "Parse" ? { parseError: described } : { serializeError: described };
  if (code === INTERNAL) return { serializeError: described };
  return { runtimeError: described };
}

/** The body of a Serialize answer: a google.protobuf.BytesValue in JSON, i.e. one base64 string. */
function bytesFromJson(text: string): Uint8Array {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "string") throw new Error(`Serialize answered ${text}, not a base64 string`);
  return Buffer.from(value, "base64");
}
