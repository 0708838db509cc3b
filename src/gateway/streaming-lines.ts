import type { Readable } from "node:stream";
import { Code, errors, GatewayError } from "../errors.js";

/**
 * Reads an NDJSON request body line by line as it arrives, never holding more than one line plus the
 * chunk being split. Lines end with LF (a CR before it is dropped); lines that are empty or only
 * whitespace are skipped but still counted, so numbers match what an editor shows. Splitting on the LF
 * byte is safe in UTF-8: 0x0A never occurs inside a multi-byte sequence.
 */

export interface LineHandlers {
  /** One non-blank line and its 1-based number. May call `pause()` (e.g. the backend is not draining). */
  onLine(line: string, lineNumber: number): void;
  /** The body ended (a last line without LF was delivered first). */
  onEnd(): void;
  /** A line over the limit, invalid UTF-8, or a broken request stream. Reading has stopped. */
  onError(error: GatewayError): void;
}

export interface LineReader {
  /** Stops delivering lines, also in the middle of a chunk, and stops reading the socket. */
  pause(): void;
  resume(): void;
  /** Stops for good: listeners removed, the rest of the body discarded so a response can still be sent. */
  stop(): void;
}

const LF = 0x0a;

export function readLines(body: Readable, maxLineBytes: number, handlers: LineHandlers): LineReader {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  // The current line's bytes that arrived in earlier chunks.
  let partial: Buffer[] = [];
  let partialBytes = 0;
  // The chunk being split, and where in it the next line starts.
  let chunk: Buffer | undefined;
  let offset = 0;
  let lineNumber = 0;
  let paused = false;
  let ended = false;
  let stopped = false;
  let pumping = false;

  const fail = (error: GatewayError): void => {
    if (stopped) return;
    stop();
    handlers.onError(error);
  };

  const deliver = (bytes: Buffer): void => {
    lineNumber++;
    let line: string;
    try {
      line = decoder.decode(bytes);
    } catch (cause) {
      fail(errors.invalidArgument(`line ${lineNumber}: not valid UTF-8`, cause));
      return;
    }
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "") return;
    handlers.onLine(line, lineNumber);
  };

  const tooLong = (): GatewayError =>
    new GatewayError(
      Code.RESOURCE_EXHAUSTED,
      `line ${lineNumber + 1}: longer than the limit of ${maxLineBytes} bytes`,
      { httpStatus: 413 },
    );

  // Splits what is buffered into lines until paused, stopped or out of data.
  const pump = (): void => {
    if (pumping) return;
    pumping = true;
    try {
      while (!paused && !stopped && chunk !== undefined) {
        const newline = chunk.indexOf(LF, offset);
        if (newline === -1) {
          const rest = chunk.subarray(offset);
          chunk = undefined;
          if (partialBytes + rest.length > maxLineBytes) {
            fail(tooLong());
            return;
          }
          if (rest.length > 0) {
            partial.push(rest);
            partialBytes += rest.length;
          }
          break;
        }
        if (partialBytes + (newline - offset) > maxLineBytes) {
          fail(tooLong());
          return;
        }
        const piece = chunk.subarray(offset, newline);
        offset = newline + 1;
        if (offset >= chunk.length) chunk = undefined;
        if (partialBytes === 0) deliver(piece);
        else {
          partial.push(piece);
          const line = Buffer.concat(partial, partialBytes + piece.length);
          partial = [];
          partialBytes = 0;
          deliver(line);
        }
      }
      if (ended && chunk === undefined && !paused && !stopped) {
        stopped = true;
        detach();
        if (partialBytes > 0) deliver(Buffer.concat(partial, partialBytes));
        partial = [];
        handlers.onEnd();
      }
    } finally {
      pumping = false;
    }
  };

  const onData = (data: Buffer | string): void => {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    // Defensive: a chunk that arrives while one is still being split is appended, never dropped.
    chunk = chunk === undefined ? bytes : Buffer.concat([chunk.subarray(offset), bytes]);
    offset = 0;
    pump();
    // Lines left in this chunk wait for resume(); so does the socket.
    if (chunk !== undefined && !stopped) body.pause();
  };
  const onEnd = (): void => {
    ended = true;
    pump();
  };
  const onError = (cause: Error): void =>
    fail(
      isZlibError(cause)
        ? errors.invalidArgument("the request body is not valid data of its Content-Encoding", cause)
        : new GatewayError(Code.CANCELLED, "the request body broke off", { cause, httpStatus: 499 }),
    );
  const onAborted = (): void => onError(new Error("request aborted"));

  const detach = (): void => {
    body.off("data", onData);
    body.off("end", onEnd);
    body.off("error", onError);
    body.off("aborted", onAborted);
  };
  const stop = (): void => {
    stopped = true;
    chunk = undefined;
    partial = [];
    detach();
    // Drain and drop the rest, so the connection can still carry the response.
    body.on("error", () => {});
    body.resume();
  };

  body.on("data", onData);
  body.on("end", onEnd);
  body.on("error", onError);
  body.on("aborted", onAborted);
  // A 'data' listener does not start a stream that was paused explicitly: the inflating stream of a
  // compressed body arrives paused, and without this the request was never read nor answered.
  body.resume();

  return {
    pause() {
      if (stopped) return;
      paused = true;
      body.pause();
    },
    resume() {
      if (stopped || !paused) return;
      paused = false;
      pump();
      if (!paused && !stopped && chunk === undefined) body.resume();
    },
    stop() {
      if (!stopped) stop();
    },
  };
}

/**
 * The inflating stream of a `Content-Encoding` body failed on the client's bytes: zlib's Z_* codes, or
 * the same error once @fastify/compress has marked it (FST_CP_ERR_INVALID_CONTENT, `decompressError`).
 */
function isZlibError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    "decompressError" in error ||
    (typeof code === "string" && (code.startsWith("Z_") || code.startsWith("ERR_BROTLI")))
  );
}
