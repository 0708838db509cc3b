import net from "node:net";
import { encodeHeader, HpackDecoder, HpackError } from "./hpack.js";

/**
 * One HTTP/2 client connection speaking just what gRPC unary calls need, framed by hand on a net.Socket.
 *
 * Why not node:http2: every node:http2 stream is a Duplex with its own events, header objects and
 * nextTicks; a unary gRPC call over it costs ~85 µs of client CPU on the benchmark machine, the same
 * call framed here ~12 µs (bench/README.md), and the gateway makes one per request. The protocol subset
 * is small and fixed: client-initiated streams only, no push, no priority, HEADERS/CONTINUATION,
 * DATA with flow control both ways, SETTINGS, PING, RST_STREAM, GOAWAY (RFC 9113), HPACK in hpack.ts.
 */

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

enum FrameType {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
}

const Flag = {
  EndStream: 0x1,
  /** SETTINGS and PING: the same bit as END_STREAM. */
  Ack: 0x1,
  EndHeaders: 0x4,
  Padded: 0x8,
  Priority: 0x20,
} as const;

/** RFC 9113 §7 error codes used here. */
export const H2Error = {
  NoError: 0x0,
  ProtocolError: 0x1,
  InternalError: 0x2,
  FlowControlError: 0x3,
  FrameSizeError: 0x6,
  RefusedStream: 0x7,
  Cancel: 0x8,
  CompressionError: 0x9,
  EnhanceYourCalm: 0xb,
} as const;

enum Setting {
  HeaderTableSize = 0x1,
  EnablePush = 0x2,
  MaxConcurrentStreams = 0x3,
  InitialWindowSize = 0x4,
  MaxFrameSize = 0x5,
  MaxHeaderListSize = 0x6,
}

const DEFAULT_WINDOW = 65_535;
/** Receive windows: large enough that a response up to a few MiB never waits for a WINDOW_UPDATE. */
const STREAM_RECEIVE_WINDOW = 4 << 20;
const CONNECTION_RECEIVE_WINDOW = 64 << 20;
/** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE): fewer frames for large responses. */
const MAX_RECEIVE_FRAME = 1 << 20;
const MAX_STREAM_ID = 0x7fff_ffff;
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_WINDOW = 0x7fff_ffff;
/**
 * Default largest response header list accepted (RFC 9113 §6.5.2 size: name + value + 32 octets per
 * field), advertised as SETTINGS_MAX_HEADER_LIST_SIZE: 16 times gRPC core's default metadata limit (16 KiB), so
 * no real backend comes near it, while a backend sending an endless or self-expanding header block
 * costs at most this much per connection before the connection is failed (issue 13).
 */
const DEFAULT_MAX_HEADER_LIST_BYTES = 256 << 10;
/**
 * The largest header block on the wire (HEADERS + CONTINUATION payloads, buffered until END_HEADERS) is
 * the list limit: an encoder never needs more octets than the list decodes to (a literal costs its
 * octets plus a few length octets, against 32 of list overhead per field). CONTINUATION frames per
 * header block are bounded to a block at the size limit in 4 KiB frames: that bounds the per-frame cost
 * of a flood of tiny or empty frames, which no byte limit catches (CVE-2024-27316; nghttp2 allows 8).
 */
const CONTINUATION_FRAME_BYTES = 4096;
/**
 * Request header lists up to this size are sent before the peer's first SETTINGS arrives; larger ones
 * wait for it (one round trip, on a new connection only) so that its SETTINGS_MAX_HEADER_LIST_SIZE is
 * honoured from the first call: 8 KiB is the smallest limit common servers apply (gRPC core's default
 * soft limit on metadata).
 */
const HEADER_LIST_BYTES_BEFORE_SETTINGS = 8 << 10;
/** How long a failed connection waits for its GOAWAY to be flushed before the socket is dropped. */
const GOAWAY_FLUSH_MS = 1_000;

/** How a stream ended, as the connection saw it; the unary layer turns it into a gRPC status. */
export type StreamEnd =
  | { kind: "complete" }
  /** The peer reset the stream (RST_STREAM) with this HTTP/2 error code. */
  | { kind: "reset"; code: number }
  /** The connection failed or went away; notDelivered = the backend cannot have seen the request. */
  | { kind: "connection"; message: string; notDelivered: boolean }
  /** Not sent: the request's header list is above the peer's SETTINGS_MAX_HEADER_LIST_SIZE (`limit`). */
  | { kind: "headerListTooLarge"; limit: number };

/** One request/response exchange on the connection. Fields are read by the unary layer when it ends. */
export interface H2Stream {
  /** Its HTTP/2 stream id once opened (set by the connection); 0 while it waits for a slot. */
  id: number;
  /**
   * Set by the caller: the request's header list size (RFC 9113 §6.5.2), checked against the peer's
   * SETTINGS_MAX_HEADER_LIST_SIZE before the stream is opened.
   */
  readonly headerListSize: number;
  /** Decoded fields of the first HEADERS frame, names and values alternating. */
  headers: string[] | undefined;
  /** Decoded fields of the trailing HEADERS frame. */
  trailers: string[] | undefined;
  chunks: Buffer[];
  received: number;
  /** Called exactly once. */
  onEnd: (stream: H2Stream, end: StreamEnd) => void;
}

interface StreamState {
  readonly stream: H2Stream;
  /** Header block bytes, until the HEADERS frame is written. */
  block: Buffer;
  id: number;
  /** Request bytes not yet sent (flow control), with END_STREAM on the last frame. */
  body: Buffer;
  sendWindow: number;
  receivedUnacked: number;
  ended: boolean;
  /** Largest response body accepted before the stream is reset. */
  readonly maxReceive: number;
}

export interface H2ConnectionOptions {
  host: string;
  port: number;
  /** Largest response header list accepted (`--max-backend-header-bytes`). Default 256 KiB. */
  maxHeaderListBytes?: number | undefined;
}

export class H2Connection {
  readonly #socket: net.Socket;
  readonly #decoder: HpackDecoder;
  readonly #maxHeaderBlockBytes: number;
  readonly #maxContinuationFrames: number;
  readonly #streams = new Map<number, StreamState>();
  /** Calls waiting for a stream slot (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly #queued: StreamState[] = [];
  /** Streams waiting for send window. */
  readonly #blocked = new Set<StreamState>();
  #nextStreamId = 1;
  #connected = false;
  #closed = false;
  /** No new streams: GOAWAY received, ids exhausted, or close() called. */
  #draining = false;
  #corked = false;
  /** The start of a frame not yet complete, in the chunks it arrived in. */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** Bytes needed before parsing can go on: the frame header, then the whole frame. */
  #pendingNeeded = 0;
  #connectTimer: NodeJS.Timeout | undefined;
  /** HEADERS without END_HEADERS: the stream, the fragments so far, their octets and frame count. */
  #continuation:
    | { id: number; flags: number; fragments: Buffer[]; octets: number; frames: number }
    | undefined;
  // Peer settings (RFC 9113 §6.5.2 defaults until its SETTINGS arrive).
  #peerMaxConcurrent = Number.POSITIVE_INFINITY;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = 16_384;
  #peerMaxHeaderList = Number.POSITIVE_INFINITY;
  #peerSettingsReceived = false;
  #connectionSendWindow = DEFAULT_WINDOW;
  #connectionReceivedUnacked = 0;
  /** Called once when the connection can take no more streams (closed, failed or going away). */
  onRetire: (() => void) | undefined;
  /** Called once when the TCP connection is established. */
  onConnect: (() => void) | undefined;

  constructor(options: H2ConnectionOptions) {
    const maxHeaderListBytes = options.maxHeaderListBytes ?? DEFAULT_MAX_HEADER_LIST_BYTES;
    this.#decoder = new HpackDecoder(4096, maxHeaderListBytes);
    this.#maxHeaderBlockBytes = maxHeaderListBytes;
    this.#maxContinuationFrames = Math.ceil(maxHeaderListBytes / CONTINUATION_FRAME_BYTES);
    this.#socket = net.connect({ host: options.host, port: options.port });
    this.#socket.setNoDelay(true);
    // Detects a backend host that vanished without closing the connection.
    this.#socket.setKeepAlive(true, 30_000);
    // An idle connection must not keep the process alive; calls in flight hold their own handles.
    this.#socket.unref();
    // A backend address that swallows SYNs would leave calls waiting on a connection that never comes;
    // failing it early lets them go to another instance (nothing was delivered).
    this.#connectTimer = setTimeout(
      () => this.#fail(`No connection to the backend after ${CONNECT_TIMEOUT_MS} ms`),
      CONNECT_TIMEOUT_MS,
    ).unref();
    this.#socket.on("connect", () => {
      this.#connected = true;
      clearTimeout(this.#connectTimer);
      this.onConnect?.();
    });
    this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on("error", (error) => this.#fail(error.message));
    this.#socket.on("close", () => this.#fail("Connection closed by the backend"));
    const settings = Buffer.allocUnsafe(24);
    settings.writeUInt16BE(Setting.EnablePush, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(Setting.InitialWindowSize, 6);
    settings.writeUInt32BE(STREAM_RECEIVE_WINDOW, 8);
    settings.writeUInt16BE(Setting.MaxFrameSize, 12);
    settings.writeUInt32BE(MAX_RECEIVE_FRAME, 14);
    settings.writeUInt16BE(Setting.MaxHeaderListSize, 18);
    settings.writeUInt32BE(maxHeaderListBytes, 20);
    this.#write(PREFACE);
    this.#write(frame(FrameType.Settings, 0, 0, settings));
    this.#write(windowUpdate(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW));
  }

  /** False once the connection takes no new streams; the owner then opens another. */
  get usable(): boolean {
    return !this.#draining && !this.#closed;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Starts a stream: `block` is the encoded request header block, `body` the whole request (sent with
   * END_STREAM). The stream's onEnd is called exactly once.
   */
  request(stream: H2Stream, block: Buffer, body: Buffer, maxReceive: number): void {
    const state: StreamState = {
      stream,
      block,
      id: 0,
      body,
      sendWindow: 0,
      receivedUnacked: 0,
      ended: false,
      maxReceive,
    };
    if (!this.usable) {
      state.ended = true;
      stream.onEnd(stream, { kind: "connection", message: "Connection is closing", notDelivered: true });
      return;
    }
    if (
      this.#streams.size >= this.#peerMaxConcurrent ||
      (stream.headerListSize > HEADER_LIST_BYTES_BEFORE_SETTINGS && !this.#peerSettingsReceived)
    ) {
      this.#queued.push(state);
    } else this.#open(state);
  }

  /** Abandons a stream (client cancel or deadline): RST_STREAM(CANCEL) if it was opened. */
  cancel(stream: H2Stream): void {
    const state = this.#streams.get(stream.id);
    if (state !== undefined && state.stream === stream) {
      this.#write(rstStream(state.id, H2Error.Cancel));
      this.#finish(state, undefined);
      return;
    }
    const index = this.#queued.findIndex((waiting) => waiting.stream === stream);
    if (index >= 0) {
      const [waiting] = this.#queued.splice(index, 1);
      if (waiting) waiting.ended = true;
    }
  }

  /** Takes no new streams and closes once the open ones end. */
  close(): void {
    if (this.#closed) return;
    this.#retire();
    if (this.#streams.size === 0 && this.#queued.length === 0)
      this.#fail("Connection closed", H2Error.NoError);
  }

  #open(state: StreamState): void {
    // Sending a larger list would only earn a reset, a 431 or a GOAWAY (RFC 9113 §6.5.2, §10.5.1).
    if (state.stream.headerListSize > this.#peerMaxHeaderList) {
      state.ended = true;
      state.stream.onEnd(state.stream, { kind: "headerListTooLarge", limit: this.#peerMaxHeaderList });
      return;
    }
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    if (this.#nextStreamId > MAX_STREAM_ID) this.#retire();
    state.id = id;
    state.stream.id = id;
    state.sendWindow = this.#peerInitialWindow;
    this.#streams.set(id, state);
    if (this.#streams.size === 1) this.#socket.ref();
    this.#writeHeaders(id, state.block);
    this.#sendBody(state);
  }

  #writeHeaders(id: number, block: Buffer): void {
    if (block.length <= this.#peerMaxFrame) {
      this.#write(frame(FrameType.Headers, Flag.EndHeaders, id, block));
      return;
    }
    // A block larger than the peer's frame size continues in CONTINUATION frames (RFC 9113 §6.10).
    let offset = 0;
    let type = FrameType.Headers;
    while (offset < block.length) {
      const end = Math.min(block.length, offset + this.#peerMaxFrame);
      this.#write(frame(type, end === block.length ? Flag.EndHeaders : 0, id, block.subarray(offset, end)));
      type = FrameType.Continuation;
      offset = end;
    }
  }

  /** Sends as much of the request as the flow-control windows allow; the rest waits for WINDOW_UPDATE. */
  #sendBody(state: StreamState): void {
    while (state.body.length > 0) {
      const size = Math.min(
        state.body.length,
        state.sendWindow,
        this.#connectionSendWindow,
        this.#peerMaxFrame,
      );
      if (size <= 0) {
        this.#blocked.add(state);
        return;
      }
      const last = size === state.body.length;
      this.#write(frame(FrameType.Data, last ? Flag.EndStream : 0, state.id, state.body.subarray(0, size)));
      state.body = state.body.subarray(size);
      state.sendWindow -= size;
      this.#connectionSendWindow -= size;
    }
    this.#blocked.delete(state);
  }

  #write(buffer: Buffer): void {
    if (this.#closed) return;
    // Writes of one event-loop turn leave in one writev: many calls share a syscall under load.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(buffer);
  }

  #onData(chunk: Buffer): void {
    // A failed connection reads on until its GOAWAY is flushed, but keeps nothing.
    if (this.#closed) return;
    let buffer = chunk;
    if (this.#pendingLength > 0) {
      // Chunks of a partial frame are gathered and joined once, when the frame is complete.
      this.#pending.push(chunk);
      this.#pendingLength += chunk.length;
      if (this.#pendingLength < this.#pendingNeeded) return;
      buffer = Buffer.concat(this.#pending, this.#pendingLength);
      this.#pending = [];
      this.#pendingLength = 0;
    }
    let offset = 0;
    try {
      while (buffer.length - offset >= 9) {
        const length = (buffer[offset]! << 16) | (buffer[offset + 1]! << 8) | buffer[offset + 2]!;
        if (length > MAX_RECEIVE_FRAME) throw new ConnectionError(H2Error.FrameSizeError, "Frame too large");
        if (buffer.length - offset < 9 + length) break;
        const type = buffer[offset + 3]!;
        const flags = buffer[offset + 4]!;
        const id = buffer.readUInt32BE(offset + 5) & MAX_STREAM_ID;
        this.#onFrame(type, flags, id, buffer.subarray(offset + 9, offset + 9 + length));
        if (this.#closed) return;
        offset += 9 + length;
      }
    } catch (error) {
      const code = error instanceof ConnectionError ? error.code : H2Error.ProtocolError;
      const message = error instanceof Error ? error.message : String(error);
      this.#fail(`HTTP/2 protocol error from the backend: ${message}`, code);
      return;
    }
    const rest = buffer.length - offset;
    if (rest > 0) {
      // Copied out of the socket's chunk, so that chunk can be freed.
      this.#pending.push(Buffer.from(buffer.subarray(offset)));
      this.#pendingLength = rest;
      this.#pendingNeeded =
        rest < 9 ? 9 : 9 + ((buffer[offset]! << 16) | (buffer[offset + 1]! << 8) | buffer[offset + 2]!);
    }
  }

  #onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.#continuation !== undefined && type !== FrameType.Continuation) {
      throw new ConnectionError(H2Error.ProtocolError, "Expected CONTINUATION");
    }
    switch (type) {
      case FrameType.Data:
        this.#onDataFrame(flags, id, payload);
        return;
      case FrameType.Headers:
        this.#onHeadersFrame(flags, id, payload);
        return;
      case FrameType.Continuation:
        this.#onContinuation(flags, id, payload);
        return;
      case FrameType.RstStream: {
        if (payload.length !== 4) throw new ConnectionError(H2Error.FrameSizeError, "Bad RST_STREAM");
        const state = this.#streams.get(id);
        if (state) this.#finish(state, { kind: "reset", code: payload.readUInt32BE(0) });
        else this.#checkOpened(id, "RST_STREAM");
        return;
      }
      case FrameType.Settings:
        this.#onSettings(flags, id, payload);
        return;
      case FrameType.Ping:
        if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, "PING on a stream");
        if (payload.length !== 8) throw new ConnectionError(H2Error.FrameSizeError, "Bad PING");
        if (!(flags & Flag.Ack)) this.#write(frame(FrameType.Ping, Flag.Ack, 0, Buffer.from(payload)));
        return;
      case FrameType.GoAway:
        this.#onGoAway(id, payload);
        return;
      case FrameType.WindowUpdate:
        this.#onWindowUpdate(id, payload);
        return;
      case FrameType.PushPromise:
        throw new ConnectionError(H2Error.ProtocolError, "PUSH_PROMISE with push disabled");
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
        return;
    }
  }

  #onDataFrame(flags: number, id: number, payload: Buffer): void {
    // Flow control counts the whole payload, padding included, even for streams already closed.
    this.#connectionReceivedUnacked += payload.length;
    if (this.#connectionReceivedUnacked >= CONNECTION_RECEIVE_WINDOW / 2) {
      this.#write(windowUpdate(0, this.#connectionReceivedUnacked));
      this.#connectionReceivedUnacked = 0;
    }
    const state = this.#streams.get(id);
    if (state === undefined) {
      // A stream we closed may still see DATA the peer sent before it learnt so; others are errors.
      this.#checkOpened(id, "DATA");
      return;
    }
    const data = flags & Flag.Padded ? unpad(payload) : payload;
    const { stream } = state;
    stream.received += data.length;
    if (stream.received > state.maxReceive) {
      this.#write(rstStream(id, H2Error.Cancel));
      this.#finish(state, { kind: "reset", code: H2Error.Cancel });
      return;
    }
    if (data.length > 0) stream.chunks.push(data);
    if (flags & Flag.EndStream) {
      this.#finish(state, { kind: "complete" });
      return;
    }
    state.receivedUnacked += payload.length;
    if (state.receivedUnacked >= STREAM_RECEIVE_WINDOW / 2) {
      this.#write(windowUpdate(id, state.receivedUnacked));
      state.receivedUnacked = 0;
    }
  }

  #onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    // A server opens no stream with HEADERS (even ids are pushed streams, and push is off): a HEADERS
    // frame on a stream the gateway never opened is a connection error (RFC 9113 §5.1, §5.1.1, §6.2).
    this.#checkOpened(id, "HEADERS");
    let block = flags & Flag.Padded ? unpad(payload) : payload;
    if (flags & Flag.Priority) {
      if (block.length < 5) throw new ConnectionError(H2Error.FrameSizeError, "Bad HEADERS priority");
      block = block.subarray(5);
    }
    if (block.length > this.#maxHeaderBlockBytes) throw this.#headerBlockTooLarge();
    if (!(flags & Flag.EndHeaders)) {
      this.#continuation = { id, flags, fragments: [Buffer.from(block)], octets: block.length, frames: 0 };
      return;
    }
    this.#onHeaderBlock(id, flags, block);
  }

  /** RFC 9113 §10.5: a peer sending more header block than we take is treated as an attack. */
  #headerBlockTooLarge(): ConnectionError {
    return new ConnectionError(
      H2Error.EnhanceYourCalm,
      `Header block above ${this.#maxHeaderBlockBytes} bytes or ${this.#maxContinuationFrames} CONTINUATION frames`,
    );
  }

  #onContinuation(flags: number, id: number, payload: Buffer): void {
    const pending = this.#continuation;
    if (pending === undefined || pending.id !== id) {
      throw new ConnectionError(H2Error.ProtocolError, "Unexpected CONTINUATION");
    }
    pending.octets += payload.length;
    if (pending.octets > this.#maxHeaderBlockBytes || ++pending.frames > this.#maxContinuationFrames) {
      throw this.#headerBlockTooLarge();
    }
    pending.fragments.push(Buffer.from(payload));
    if (!(flags & Flag.EndHeaders)) return;
    this.#continuation = undefined;
    this.#onHeaderBlock(id, pending.flags, Buffer.concat(pending.fragments, pending.octets));
  }

  #onHeaderBlock(id: number, flags: number, block: Buffer): void {
    let fields: string[];
    try {
      // Decoded even for streams we no longer track: the dynamic table is shared by the connection.
      fields = this.#decoder.decode(block);
    } catch (error) {
      // Also a list above the header list limit: decoding stopped, so the table is out of step with the
      // peer's (RFC 9113 §10.5.1 allows closing the connection rather than processing the block).
      if (error instanceof HpackError) throw new ConnectionError(H2Error.CompressionError, error.message);
      throw error;
    }
    const state = this.#streams.get(id);
    if (state === undefined) return;
    const { stream } = state;
    if (stream.headers === undefined) {
      // 1xx informational headers are not part of gRPC; the final headers follow.
      if (fields[0] === ":status" && fields[1]?.startsWith("1")) return;
      stream.headers = fields;
    } else {
      stream.trailers = fields;
    }
    if (flags & Flag.EndStream) this.#finish(state, { kind: "complete" });
    else if (stream.trailers !== undefined) {
      throw new ConnectionError(H2Error.ProtocolError, "Trailers without END_STREAM");
    }
  }

  #onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, "SETTINGS on a stream");
    if (flags & Flag.Ack) return;
    if (payload.length % 6 !== 0) throw new ConnectionError(H2Error.FrameSizeError, "Bad SETTINGS");
    this.#peerSettingsReceived = true;
    for (let offset = 0; offset < payload.length; offset += 6) {
      const key = payload.readUInt16BE(offset);
      const value = payload.readUInt32BE(offset + 2);
      if (key === Setting.MaxConcurrentStreams) this.#peerMaxConcurrent = value;
      else if (key === Setting.InitialWindowSize) {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FlowControlError, "Window too large");
        // A new initial window applies to open streams as a delta (RFC 9113 §6.9.2).
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const state of this.#streams.values()) state.sendWindow += delta;
      } else if (key === Setting.MaxFrameSize) {
        if (value < 16_384 || value > 16_777_215) {
          throw new ConnectionError(H2Error.ProtocolError, "Bad SETTINGS_MAX_FRAME_SIZE");
        }
        this.#peerMaxFrame = value;
      } else if (key === Setting.MaxHeaderListSize) this.#peerMaxHeaderList = value;
      // HEADER_TABLE_SIZE concerns the peer's decoder: our encoder never indexes, so any size suits it.
    }
    this.#write(frame(FrameType.Settings, Flag.Ack, 0, Buffer.alloc(0)));
    this.#flushBlocked();
    this.#openQueued();
  }

  #onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2Error.FrameSizeError, "Bad WINDOW_UPDATE");
    const increment = payload.readUInt32BE(0) & MAX_WINDOW;
    if (id === 0) {
      this.#connectionSendWindow += increment;
      if (this.#connectionSendWindow > MAX_WINDOW) {
        throw new ConnectionError(H2Error.FlowControlError, "Connection window overflow");
      }
    } else {
      const state = this.#streams.get(id);
      if (state === undefined) {
        this.#checkOpened(id, "WINDOW_UPDATE");
        return;
      }
      state.sendWindow += increment;
    }
    this.#flushBlocked();
  }

  #flushBlocked(): void {
    for (const state of this.#blocked) {
      this.#sendBody(state);
      if (this.#connectionSendWindow <= 0) return;
    }
  }

  #onGoAway(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, "GOAWAY on a stream");
    if (payload.length < 8) throw new ConnectionError(H2Error.FrameSizeError, "Bad GOAWAY");
    const lastStreamId = payload.readUInt32BE(0) & MAX_STREAM_ID;
    const code = payload.readUInt32BE(4);
    const message =
      code === H2Error.NoError
        ? "Backend is going away"
        : `Backend ended the connection with HTTP/2 error ${code}`;
    this.#retire();
    // Streams above the last one the peer processed were never seen by it: safe to send elsewhere.
    for (const [streamId, state] of this.#streams) {
      if (streamId > lastStreamId) this.#finish(state, { kind: "connection", message, notDelivered: true });
    }
    this.#failQueued(message);
    // A GOAWAY for an error ends the connection (RFC 9113 §5.4.1): the streams it left open will never
    // complete. node:http2 sends one for a header block it cannot take and leaves the socket open, so
    // waiting for the close would hold the calls until their deadline (issue 13).
    if (code !== H2Error.NoError) this.#fail(message);
    else if (this.#streams.size === 0) this.#fail(message, H2Error.NoError);
  }

  /**
   * A frame for a stream that is not open: fine for one the gateway opened and has closed (the peer may
   * not know yet), a connection error for stream 0 and for one never opened, which includes every even
   * id (RFC 9113 §5.1 "idle", §5.1.1, §6.1, §6.4, §6.9).
   */
  #checkOpened(id: number, frameName: string): void {
    if ((id & 1) === 0 || id >= this.#nextStreamId) {
      throw new ConnectionError(H2Error.ProtocolError, `${frameName} on stream ${id}, never opened`);
    }
  }

  #openQueued(): void {
    while (this.#queued.length > 0 && this.#streams.size < this.#peerMaxConcurrent && this.usable) {
      const state = this.#queued.shift();
      if (state && !state.ended) this.#open(state);
    }
  }

  #finish(state: StreamState, end: StreamEnd | undefined): void {
    if (state.ended) return;
    state.ended = true;
    this.#streams.delete(state.id);
    this.#blocked.delete(state);
    if (this.#streams.size === 0) {
      this.#socket.unref();
      if (this.#draining && this.#queued.length === 0) this.#fail("Connection closed", H2Error.NoError);
    }
    if (end) state.stream.onEnd(state.stream, end);
    this.#openQueued();
  }

  #retire(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.onRetire?.();
  }

  #failQueued(message: string): void {
    for (const state of this.#queued.splice(0)) {
      if (state.ended) continue;
      state.ended = true;
      state.stream.onEnd(state.stream, { kind: "connection", message, notDelivered: true });
    }
  }

  /**
   * The connection ends: every stream ends; those the backend cannot have seen say so. With a GOAWAY
   * code the socket is ended with that frame (flushed, then closed), else it is dropped at once.
   */
  #fail(message: string, goAwayCode?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    this.#continuation = undefined;
    this.#pending = [];
    this.#pendingLength = 0;
    this.#retire();
    const notDelivered = !this.#connected;
    for (const state of [...this.#streams.values()]) {
      this.#finish(state, { kind: "connection", message, notDelivered });
    }
    this.#failQueued(message);
    if (goAwayCode === undefined || this.#socket.destroyed) this.#socket.destroy();
    // A client's GOAWAY names the last server-initiated stream it processed: none (no push).
    else {
      this.#socket.end(goAway(0, goAwayCode), () => this.#socket.destroy());
      // A peer that does not read (a flood) would hold the socket open until the flush.
      setTimeout(() => this.#socket.destroy(), GOAWAY_FLUSH_MS).unref();
    }
  }
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function frame(type: number, flags: number, id: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out[0] = payload.length >>> 16;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(id, 5);
  out.set(payload, 9);
  return out;
}

function windowUpdate(id: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FrameType.WindowUpdate, 0, id, payload);
}

function rstStream(id: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return frame(FrameType.RstStream, 0, id, payload);
}

function goAway(lastStreamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(8);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  return frame(FrameType.GoAway, 0, 0, payload);
}

/** Strips the PADDED flag's pad length byte and padding (RFC 9113 §6.1). */
function unpad(payload: Buffer): Buffer {
  if (payload.length < 1) throw new ConnectionError(H2Error.FrameSizeError, "Bad padding");
  const padLength = payload[0]!;
  if (padLength >= payload.length) throw new ConnectionError(H2Error.ProtocolError, "Padding too long");
  return payload.subarray(1, payload.length - padLength);
}

/** Encodes fields (names lowercase) as a header block in the representation hpack.ts writes. */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>, prefix?: Buffer): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of fields) encodeHeader(name, value, bytes);
  return prefix === undefined ? Buffer.from(bytes) : Buffer.concat([prefix, Buffer.from(bytes)]);
}
