/**
 * HPACK (RFC 7541) for the gateway's own HTTP/2 client (h2-connection.ts). Hand-written on purpose: the
 * unary hot path frames HTTP/2 itself on a net.Socket because node:http2 costs ~85 µs of CPU per unary
 * call against ~12 µs for direct framing, and npm has no maintained HPACK library (hpack.js was last
 * published in 2017 and pulls in readable-stream@2). The decoder is complete — static and dynamic table,
 * table size updates, every representation, Huffman — because the peer's encoder picks the representation.
 * The encoder writes one representation only (literal without indexing, static name index when there is
 * one, no Huffman): it needs no state, every decoder accepts it, and a caller can cache the fixed part
 * of a block and append the per-call fields.
 */

/** A malformed header block: the caller treats it as an HTTP/2 COMPRESSION_ERROR (a connection error). */
export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** The static table (RFC 7541 Appendix A), index 1..61; index 0 is unused. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  ["", ""],
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_COUNT = STATIC_TABLE.length - 1;
const STATIC_NAMES = STATIC_TABLE.map(([name]) => name);
const STATIC_VALUES = STATIC_TABLE.map(([, value]) => value);
/** Name → lowest static index with that name, for the encoder. */
const STATIC_NAME_INDEX = new Map<string, number>();
for (let index = STATIC_COUNT; index >= 1; index--) STATIC_NAME_INDEX.set(STATIC_NAMES[index]!, index);

/** Dynamic table entry overhead, octets (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** Largest integer accepted (RFC 7541 §5.1 leaves the limit to the implementation): lengths, indexes, sizes. */
const MAX_INTEGER = 0x7fffffff;
/** Continuation octets of one integer: 5 carry 35 bits, more than MAX_INTEGER needs. */
const MAX_INTEGER_CONTINUATIONS = 5;

/**
 * The Huffman code (RFC 7541 Appendix B): code of symbol 0..255 and EOS (256), aligned to the least
 * significant bit, and its length in bits — the two columns "code as hex" and "len" of the RFC.
 */
const HUFFMAN_CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea,
  0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef,
  0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7,
  0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa,
  0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c,
  0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
  0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0,
  0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29,
  0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd,
  0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda,
  0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0,
  0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6,
  0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea,
  0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0,
  0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5,
  0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3,
  0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9,
  0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7,
  0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, 0x7ffffeb,
  0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, 0x3fffffff,
];
const HUFFMAN_BITS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

// Huffman decoding is a state machine fed 4 bits at a time (the approach of nghttp2): a state is an
// internal node of the code tree (256 of them, 0 = root), and an entry of HUFFMAN_DECODE_TABLE, indexed
// by state * 16 + nibble, gives the next state, the symbol completed on the way (at most one: no code is
// shorter than 5 bits) and whether the string may end there.
const HUFFMAN_NEXT_STATE = 0xff;
const HUFFMAN_SYMBOL_SHIFT = 8;
const HUFFMAN_EMITS = 1 << 16;
/** Ending here is valid: at a symbol boundary, or after at most 7 bits of the EOS prefix (all ones). */
const HUFFMAN_ACCEPTS = 1 << 17;
/** The nibble completes EOS, which must not appear in a string (RFC 7541 §5.2). */
const HUFFMAN_FAILS = 1 << 18;
const HUFFMAN_DECODE_TABLE = buildHuffmanDecodeTable();

function buildHuffmanDecodeTable(): Uint32Array {
  // The code tree: children[2 * node + bit] is an internal node, or LEAF | symbol.
  const LEAF = 0x1000;
  const children = new Int32Array(512).fill(-1);
  const depth = new Uint8Array(256);
  const onEosPath = new Uint8Array(256);
  onEosPath[0] = 1;
  let nodeCount = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    const bits = HUFFMAN_BITS[symbol]!;
    let node = 0;
    for (let i = bits - 1; i > 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = 2 * node + bit;
      if (children[slot] === -1) {
        depth[nodeCount] = depth[node]! + 1;
        onEosPath[nodeCount] = onEosPath[node]! & bit;
        children[slot] = nodeCount++;
      }
      node = children[slot]!;
    }
    children[2 * node + (code & 1)] = LEAF | symbol;
  }
  const table = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const child = children[2 * node + ((nibble >> i) & 1)]!;
        if ((child & LEAF) === 0) {
          node = child;
        } else if ((child & ~LEAF) === EOS) {
          entry = HUFFMAN_FAILS;
          break;
        } else {
          entry = HUFFMAN_EMITS | ((child & ~LEAF) << HUFFMAN_SYMBOL_SHIFT);
          node = 0;
        }
      }
      if (entry !== HUFFMAN_FAILS) {
        entry |= node;
        if (onEosPath[node] === 1 && depth[node]! <= 7) entry |= HUFFMAN_ACCEPTS;
      }
      table[state * 16 + nibble] = entry;
    }
  }
  return table;
}

/** Output of Huffman decoding before it becomes a string; shared, since decoding is synchronous. */
const huffmanScratch = Buffer.allocUnsafe(4096);

function decodeHuffman(bytes: Buffer, start: number, end: number): string {
  // No code is shorter than 5 bits, so n octets decode to at most 8n/5 symbols.
  const maxLength = Math.ceil(((end - start) * 8) / 5);
  const out = maxLength <= huffmanScratch.length ? huffmanScratch : Buffer.allocUnsafe(maxLength);
  let length = 0;
  let state = 0;
  let accepts = true;
  for (let i = start; i < end; i++) {
    const octet = bytes[i]!;
    let entry = HUFFMAN_DECODE_TABLE[(state << 4) | (octet >> 4)]!;
    if (entry & HUFFMAN_FAILS) throw new HpackError("EOS in a Huffman-coded string");
    if (entry & HUFFMAN_EMITS) out[length++] = (entry >> HUFFMAN_SYMBOL_SHIFT) & 0xff;
    entry = HUFFMAN_DECODE_TABLE[((entry & HUFFMAN_NEXT_STATE) << 4) | (octet & 0x0f)]!;
    if (entry & HUFFMAN_FAILS) throw new HpackError("EOS in a Huffman-coded string");
    if (entry & HUFFMAN_EMITS) out[length++] = (entry >> HUFFMAN_SYMBOL_SHIFT) & 0xff;
    state = entry & HUFFMAN_NEXT_STATE;
    accepts = (entry & HUFFMAN_ACCEPTS) !== 0;
  }
  if (!accepts) throw new HpackError("Invalid Huffman padding");
  return latin1(out, 0, length);
}

/** Buffer's latin1 decoder without toString's encoding dispatch (@types/node leaves it out). */
const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Buffer, start: number, end: number): string }
).latin1Slice;

/**
 * Octets as a string, one character per octet, as node:http2 reads header values. Short strings are
 * built in JS: the call into C++ costs more than a few fromCharCode (and V8 keeps them flat below 13).
 */
function latin1(bytes: Buffer, start: number, end: number): string {
  if (end - start > 8) return latin1Slice.call(bytes, start, end);
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Decoder of one HTTP/2 connection's header blocks (the dynamic table is per connection and direction).
 * After an HpackError the decoder's state is undefined: the connection must be closed.
 */
export class HpackDecoder {
  /** SETTINGS_HEADER_TABLE_SIZE we advertise: the most the encoder may set the table size to. */
  readonly #maxTableSize: number;
  /** Largest header list one block may decode to (RFC 9113 §6.5.2 size: octets of name and value + 32). */
  readonly #maxListSize: number;
  /** Current table size limit, set by the encoder's dynamic table size updates. */
  #tableSizeLimit: number;
  #tableSize = 0;
  // The dynamic table as a ring of #count entries, newest at slot #newest, oldest at the highest age;
  // grown by doubling, so a large SETTINGS_HEADER_TABLE_SIZE costs nothing until the peer uses it.
  #names: string[] = [];
  #values: string[] = [];
  #newest = 0;
  #count = 0;
  /** The block being decoded, and the read position in it. */
  #bytes = EMPTY;
  #pos = 0;

  /**
   * maxTableSize: the SETTINGS_HEADER_TABLE_SIZE advertised (default 4096). maxListSize: the largest
   * header list a block may decode to (default unlimited); it bounds what a small block can expand to
   * through references to large dynamic table entries (an "HPACK bomb", RFC 7541 §7.3).
   */
  constructor(maxTableSize = 4096, maxListSize = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INTEGER) {
      throw new RangeError(`Invalid HPACK table size ${maxTableSize}`);
    }
    if (!(maxListSize >= 0)) throw new RangeError(`Invalid header list size ${maxListSize}`);
    this.#maxTableSize = maxTableSize;
    this.#maxListSize = maxListSize;
    this.#tableSizeLimit = maxTableSize;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads concatenated, padding and priority
   * removed). Returns names and values alternating: [name0, value0, name1, value1, ...]. Throws HpackError
   * on malformed input and on a header list above maxListSize (the table is then out of step: the
   * connection must close, which RFC 9113 §10.5.1 allows instead of processing the block).
   */
  decode(block: Uint8Array): string[] {
    const bytes = Buffer.isBuffer(block)
      ? block
      : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = bytes.length;
    const fields: string[] = [];
    let listSize = 0;
    this.#bytes = bytes;
    this.#pos = 0;
    while (this.#pos < end) {
      const first = bytes[this.#pos]!;
      let name: string;
      let value: string;
      if (first & 0x80) {
        // Indexed header field (§6.1).
        const index = this.#readInteger(0x7f);
        if (index === 0) throw new HpackError("Indexed header field with index 0");
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const slot = this.#dynamicSlot(index);
          name = this.#names[slot]!;
          value = this.#values[slot]!;
        }
      } else if (first & 0x40) {
        // Literal header field with incremental indexing (§6.2.1).
        name = this.#readName(0x3f);
        value = this.#readString();
        this.#insert(name, value);
      } else if (first & 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block (§4.2).
        if (fields.length > 0) throw new HpackError("Dynamic table size update after a header field");
        const size = this.#readInteger(0x1f);
        if (size > this.#maxTableSize) {
          throw new HpackError(
            `Dynamic table size update to ${size} above the limit of ${this.#maxTableSize}`,
          );
        }
        this.#tableSizeLimit = size;
        this.#evictTo(size);
        continue;
      } else {
        // Literal header field without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3).
        name = this.#readName(0x0f);
        value = this.#readString();
      }
      fields.push(name, value);
      // Strings are latin1, one octet per character: lengths are the octet counts of RFC 9113 §6.5.2.
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.#maxListSize) {
        throw new HpackError(`Header list larger than the limit of ${this.#maxListSize} octets`);
      }
    }
    this.#bytes = EMPTY;
    return fields;
  }

  /** Reads an integer whose prefix is the low bits of the current octet selected by prefixMask (§5.1). */
  #readInteger(prefixMask: number): number {
    const bytes = this.#bytes;
    let value = bytes[this.#pos++]! & prefixMask;
    if (value < prefixMask) return value;
    let scale = 1;
    for (let continuations = 0; continuations < MAX_INTEGER_CONTINUATIONS; continuations++) {
      if (this.#pos >= bytes.length) throw new HpackError("Truncated integer");
      const octet = bytes[this.#pos++]!;
      value += (octet & 0x7f) * scale;
      if (value > MAX_INTEGER) throw new HpackError("Integer overflow");
      if ((octet & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new HpackError("Integer overflow");
  }

  /** A literal field's name: indexed (prefix bits of the current octet) or, for index 0, a string. */
  #readName(prefixMask: number): string {
    const index = this.#readInteger(prefixMask);
    if (index === 0) return this.#readString();
    if (index <= STATIC_COUNT) return STATIC_NAMES[index]!;
    return this.#names[this.#dynamicSlot(index)]!;
  }

  /** A string literal (§5.2): H bit, 7-bit prefix length, octets; octets are read as latin1. */
  #readString(): string {
    const bytes = this.#bytes;
    if (this.#pos >= bytes.length) throw new HpackError("Truncated header block");
    const huffman = (bytes[this.#pos]! & 0x80) !== 0;
    const length = this.#readInteger(0x7f);
    const start = this.#pos;
    const end = start + length;
    if (end > bytes.length) throw new HpackError("Truncated string literal");
    this.#pos = end;
    return huffman ? decodeHuffman(bytes, start, end) : latin1(bytes, start, end);
  }

  /** The ring slot of dynamic table index (62 = newest). */
  #dynamicSlot(index: number): number {
    const age = index - STATIC_COUNT - 1;
    if (age >= this.#count) throw new HpackError(`Header table index ${index} out of range`);
    const slot = this.#newest + age;
    return slot < this.#names.length ? slot : slot - this.#names.length;
  }

  #insert(name: string, value: string): void {
    // Strings are latin1, one octet per character, so length is the octet count of §4.1.
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#tableSizeLimit) {
      // An entry larger than the table empties it and is not added (§4.4).
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#tableSizeLimit - size);
    if (this.#count === this.#names.length) this.#grow();
    this.#newest = this.#newest === 0 ? this.#names.length - 1 : this.#newest - 1;
    this.#names[this.#newest] = name;
    this.#values[this.#newest] = value;
    this.#count++;
    this.#tableSize += size;
  }

  /** Doubles the ring, entries moved to ages 0..count-1 = slots 0..count-1. */
  #grow(): void {
    const capacity = Math.max(16, 2 * this.#names.length);
    const names = new Array<string>(capacity).fill("");
    const values = new Array<string>(capacity).fill("");
    for (let age = 0; age < this.#count; age++) {
      const slot = (this.#newest + age) % this.#names.length;
      names[age] = this.#names[slot]!;
      values[age] = this.#values[slot]!;
    }
    this.#names = names;
    this.#values = values;
    this.#newest = 0;
  }

  /** Evicts the oldest entries until the table takes at most `size` octets (§4.3). */
  #evictTo(size: number): void {
    while (this.#tableSize > size) {
      let oldest = this.#newest + this.#count - 1;
      if (oldest >= this.#names.length) oldest -= this.#names.length;
      this.#tableSize -= this.#names[oldest]!.length + this.#values[oldest]!.length + ENTRY_OVERHEAD;
      this.#names[oldest] = "";
      this.#values[oldest] = "";
      this.#count--;
    }
  }
}

/**
 * Encodes header fields as "literal without indexing" (RFC 7541 §6.2.2), with the static table's name
 * index when the name is in it, no Huffman. Names must already be lowercase; names and values are written
 * as latin1 (a character above U+00FF keeps its low 8 bits, as with Buffer's "latin1").
 */
export function encodeHeaders(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) encodeHeader(name, value, out);
  return Buffer.from(out);
}

/** Appends one field, in the representation of encodeHeaders, to a block being built. */
export function encodeHeader(name: string, value: string, out: number[]): void {
  const nameIndex = STATIC_NAME_INDEX.get(name);
  if (nameIndex === undefined) {
    out.push(0x00);
    pushString(name, out);
  } else {
    pushInteger(nameIndex, 0x0f, out);
  }
  pushString(value, out);
}

/** An integer with an N-bit prefix (§5.1) in a fresh octet whose high bits are 0. */
function pushInteger(value: number, prefixMax: number, out: number[]): void {
  if (value < prefixMax) {
    out.push(value);
    return;
  }
  out.push(prefixMax);
  let rest = value - prefixMax;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
}

/** A string literal without Huffman (§5.2): 7-bit prefix length with H = 0, then latin1 octets. */
function pushString(text: string, out: number[]): void {
  pushInteger(text.length, 0x7f, out);
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 0xff);
}
