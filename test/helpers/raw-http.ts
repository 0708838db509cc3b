import net from "node:net";

/** One HTTP/1.1 response as it came over the wire. */
export interface RawResponse {
  status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

const HEAD_END = Buffer.from("\r\n\r\n");
const STATUS_LINE_RE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;

/**
 * A client connection that writes raw bytes and reads the answers back one at a time, framed as
 * RFC 9112 §6.3 says (Content-Length, chunked, or until close): for requests no HTTP client would send.
 */
export class RawHttpConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;
  /** Resolves once the server closed the connection (or it was destroyed here). */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#notify();
    });
    // A reset is a close like any other here; what was read before it still counts.
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#ended = true;
        this.#notify();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawHttpConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.#socket.write(bytes);
  }

  /** Half-closes: the server sees the end of the request stream. */
  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Whether the server has closed the connection. */
  get isClosed(): boolean {
    return this.#ended;
  }

  /**
   * The next final response (1xx interim answers are skipped), or undefined when the connection closed
   * cleanly before another one began. A response cut off by the close throws.
   * `head`: the request was a HEAD, so the answer has no body whatever its headers say.
   */
  async response(options: { head?: boolean } = {}): Promise<RawResponse | undefined> {
    for (;;) {
      const parsed = parseResponse(this.#buffer, this.#ended, options.head === true);
      if (parsed === "incomplete") {
        if (this.#ended) {
          throw new Error(
            `connection closed mid-response: ${JSON.stringify(this.#buffer.toString("latin1"))}`,
          );
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      if (parsed === undefined) return undefined;
      this.#buffer = this.#buffer.subarray(parsed.length);
      const { status } = parsed.response;
      if (status >= 100 && status < 200 && status !== 101) continue;
      return parsed.response;
    }
  }

  /** Bytes received and not yet returned as a response. */
  get unread(): Buffer {
    return this.#buffer;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Sends one request on a new connection and returns its answer; the connection is closed after it. */
export async function rawRequest(
  port: number,
  bytes: string | Buffer,
  options: { head?: boolean } = {},
): Promise<RawResponse | undefined> {
  const connection = await RawHttpConnection.open(port);
  try {
    connection.write(bytes);
    return await connection.response(options);
  } finally {
    connection.destroy();
  }
}

function parseResponse(
  buffer: Buffer,
  ended: boolean,
  head: boolean,
): { response: RawResponse; length: number } | "incomplete" | undefined {
  if (buffer.length === 0) return ended ? undefined : "incomplete";
  const headEnd = buffer.indexOf(HEAD_END);
  if (headEnd === -1) return "incomplete";
  const [statusLine = "", ...fields] = buffer.subarray(0, headEnd).toString("latin1").split("\r\n");
  const match = STATUS_LINE_RE.exec(statusLine);
  if (!match) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine)}`);
  const status = Number(match[1]);
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(":");
    if (colon <= 0) throw new Error(`malformed response header: ${JSON.stringify(field)}`);
    const name = field.slice(0, colon).toLowerCase();
    const value = field.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const bodyStart = headEnd + HEAD_END.length;
  const done = (body: Buffer, length: number) => ({ response: { status, headers, body }, length });
  // RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304.
  if (head || status < 200 || status === 204 || status === 304) return done(Buffer.alloc(0), bodyStart);
  if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) return readChunked(buffer, bodyStart, done);
  const declared = headers["content-length"];
  if (declared !== undefined) {
    const end = bodyStart + Number(declared);
    return buffer.length < end ? "incomplete" : done(buffer.subarray(bodyStart, end), end);
  }
  return ended ? done(buffer.subarray(bodyStart), buffer.length) : "incomplete";
}

function readChunked<T>(
  buffer: Buffer,
  start: number,
  done: (body: Buffer, length: number) => T,
): T | "incomplete" {
  const chunks: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", at);
    if (lineEnd === -1) return "incomplete";
    const size = Number.parseInt(buffer.subarray(at, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) throw new Error("malformed chunk size in a response");
    if (size === 0) {
      // The last chunk's line and the trailer section (usually empty) end with an empty line.
      const end = buffer.indexOf(HEAD_END, lineEnd);
      return end === -1 ? "incomplete" : done(Buffer.concat(chunks), end + HEAD_END.length);
    }
    const dataEnd = lineEnd + 2 + size;
    if (buffer.length < dataEnd + 2) return "incomplete";
    chunks.push(buffer.subarray(lineEnd + 2, dataEnd));
    at = dataEnd + 2;
  }
}

/** Whether a body is a google.rpc.Status in its JSON form (CONTRACT.md §3). */
export function isStatusBody(body: Buffer): boolean {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    return false;
  }
  const status = value as { code?: unknown; message?: unknown; details?: unknown };
  return (
    typeof value === "object" &&
    value !== null &&
    Number.isInteger(status.code) &&
    typeof status.message === "string" &&
    Array.isArray(status.details) &&
    Object.keys(value).length === 3
  );
}
