import type { Int64Halves } from "./int64.js";

/** Buffer's own UTF-8 writer: Buffer#write minus its argument juggling (documented since Node 0.x, untyped). */
interface NodeBuffer extends Buffer {
  utf8Write(text: string, offset: number): number;
}

/** Protobuf wire types. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Strings up to this length are encoded by a JS loop; longer ones by Buffer#utf8Write (native). */
const SHORT_STRING = 32;

/**
 * A growable protobuf writer over one buffer. Length-delimited values reserve one byte for their length
 * and shift their content only when it reaches 128 bytes, so there is no second pass to size messages.
 * One writer per codec, reused across requests (conversions are synchronous); `finish()` copies out.
 */
export class WireWriter implements Int64Halves {
  buf: Buffer;
  view: DataView;
  pos = 0;
  /** Scratch 64-bit halves for the 64-bit conversions (see int64.ts). */
  lo = 0;
  hi = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafeSlow(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  reset(): void {
    this.pos = 0;
  }

  /** A copy of the bytes written since the last reset (a Buffer: small ones come from Node's pool). */
  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(needed, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** A precomputed tag (`fieldNumber << 3 | wireType`, as an unsigned number). */
  tag(tag: number): void {
    this.uint32(tag);
  }

  uint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** int32 and enum values: negative numbers take ten bytes (sign-extended to 64 bits). */
  int32(v: number): void {
    if (v >= 0) this.uint32(v);
    else this.varint64(v >>> 0, 0xffffffff);
  }

  sint32(v: number): void {
    this.uint32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, lo, true);
    this.view.setUint32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  float(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(v: Uint8Array): void {
    this.uint32(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A length-prefixed UTF-8 string (the caller has checked it is well-formed UTF-16). */
  string(s: string): void {
    const n = s.length;
    this.ensure(n * 3 + 5);
    const start = this.fork();
    const buf = this.buf;
    let pos = this.pos;
    if (n <= SHORT_STRING) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) break;
        buf[pos++] = c;
      }
      if (i < n) pos += (buf as NodeBuffer).utf8Write(s.slice(i), pos);
    } else pos += (buf as NodeBuffer).utf8Write(s, pos);
    this.pos = pos;
    this.join(start);
  }

  /** Length-prefixed bytes from base64 text (standard or URL-safe, unpadded; validated by the caller). */
  base64(text: string): void {
    this.ensure(Math.ceil((text.length * 3) / 4) + 5);
    const start = this.fork();
    this.pos += this.buf.write(text, this.pos, "base64");
    this.join(start);
  }

  /** Starts a length-delimited value; returns the mark to pass to `join`. */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends a length-delimited value started by `fork`, writing its length. */
  join(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 128) {
      this.buf[mark] = len;
      return;
    }
    let size = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) size++;
    this.ensure(size - 1);
    const buf = this.buf;
    buf.copyWithin(mark + size, mark + 1, this.pos);
    let v = len;
    let p = mark;
    while (v > 127) {
      buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[p] = v;
    this.pos += size - 1;
  }
}
