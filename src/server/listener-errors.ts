import { ServerResponse, STATUS_CODES } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import { Code, errorResponse, GatewayError } from "../errors.js";

/**
 * Errors the HTTP layer finds before Fastify sees a request (a head over the size limit, a head that
 * never ends, bytes that are not HTTP), answered with the contract's google.rpc.Status body like every
 * other error (CONTRACT.md §3) instead of Node's or Fastify's own bodies.
 */

/** The request head is over `--max-header-bytes`. */
export function headersTooLarge(limitBytes: number): GatewayError {
  return new GatewayError(
    Code.RESOURCE_EXHAUSTED,
    `request headers exceed the limit of ${limitBytes} bytes`,
    { httpStatus: 431 },
  );
}

/**
 * More header fields than the listener keeps. Node would silently drop the ones past its count limit
 * (a `Host` or `Grpc-Timeout` among them), so such a head is refused instead (issue 13, point 6).
 */
export function tooManyHeaders(limit: number): GatewayError {
  return new GatewayError(Code.RESOURCE_EXHAUSTED, `request has more than ${limit} header fields`, {
    httpStatus: 431,
  });
}

/** RFC 9112 §3.2: an HTTP/1.1 request without `Host` is answered 400. */
export function missingHost(): GatewayError {
  return new GatewayError(Code.INVALID_ARGUMENT, "an HTTP/1.1 request needs a Host header");
}

/** RFC 9110 §10.1.1: an expectation other than `100-continue` may be refused with 417. */
export function expectationFailed(): GatewayError {
  return new GatewayError(
    Code.FAILED_PRECONDITION,
    'unsupported Expect header; the only expectation served is "100-continue"',
    { httpStatus: 417 },
  );
}

function clientError(error: NodeJS.ErrnoException, maxHeaderBytes: number): GatewayError {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return headersTooLarge(maxHeaderBytes);
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new GatewayError(Code.DEADLINE_EXCEEDED, "the request was not received in time", {
        httpStatus: 408,
      });
    default:
      return new GatewayError(Code.INVALID_ARGUMENT, "malformed HTTP request");
  }
}

/**
 * Fastify's `clientErrorHandler` for the HTTP/1.1 side: the same statuses as Fastify's default (431,
 * 408, 400), with a Status body, then the connection is closed (its parser state is unusable).
 */
export function createClientErrorHandler(maxHeaderBytes: number) {
  return function onClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
    // A reset connection has nobody to answer (Node's own handler does the same).
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const gatewayError = clientError(error, maxHeaderBytes);
    this.log.debug({ err: error, status: gatewayError.httpStatus }, "client error before routing");
    // A parse error in a body whose answer has already started (a bidi stream) cannot get an answer of
    // its own: writing one into the middle of the other would corrupt it (Node's own handler checks too).
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (answering?.headersSent === true) socket.destroy();
    else answerOnSocket(socket, gatewayError);
  };
}

/**
 * Writes a whole HTTP/1.1 answer with the error's Status body straight to a socket that has no
 * ServerResponse (Node's parser gave up on it, or it was handed over for an upgrade), then closes it.
 */
export function answerOnSocket(socket: Duplex, error: GatewayError): void {
  if (socket.writable) {
    const { status, headers, body } = errorResponse(error);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    socket.write(`${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * Size of an HTTP/2 header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it: name + value + 32 octets per
 * field (RFC 9113 §6.5.2, RFC 7541 §4.1).
 */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    size += rawHeaders[i]!.length + rawHeaders[i + 1]!.length + 32;
  }
  return size;
}

/**
 * Answers a request refused before it reaches Fastify (header limits, missing Host, a bad Expect) with
 * its Status body. An HTTP/1.1 connection is closed after it: its head was not trustworthy, and the body
 * behind it is not read.
 */
export function refuseRequest(response: ServerResponse | Http2ServerResponse, error: GatewayError): void {
  if (response instanceof ServerResponse) response.shouldKeepAlive = false;
  const { status, headers, body } = errorResponse(error);
  response.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) });
  response.end(body);
}
