import { STATUS_CODES } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { Code, GatewayError } from "../errors.js";

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
    if (socket.writable) {
      const body = JSON.stringify(gatewayError.toStatusBody());
      socket.write(
        `HTTP/1.1 ${gatewayError.httpStatus} ${STATUS_CODES[gatewayError.httpStatus]}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
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

/** Answers an HTTP/2 request whose header list is over the limit: 431 with a Status body. */
export function refuseHttp2Headers(response: Http2ServerResponse, limitBytes: number): void {
  const error = headersTooLarge(limitBytes);
  response.writeHead(error.httpStatus, { "content-type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(error.toStatusBody()));
}
