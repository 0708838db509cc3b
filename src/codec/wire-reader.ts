import { isUtf8 } from "node:buffer";
import type { Int64Halves } from "./int64.js";
import { CodecProblem } from "./problems.js";
import { WireType } from "./wire-writer.js";

/** Buffer's own UTF-8 decoder (Buffer#toString minus its argument juggling; untyped but long-standing). */
interface NodeBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
}

/** Nesting limit for groups skipped as unknown fields (messages have their own limit in decode). */
const MAX_GROUP_DEPTH = 100;

export function malformed(problem: string): CodecProblem {
  return new CodecProblem(problem, "malformed");
}

/** A protobuf reader over one buffer. Every read is bounds-checked: bad bytes are a CodecProblem. */
export class WireReader implements Int64Halves {
  readonly buf: NodeBuffer;
  readonly view: DataView;
  pos: number;
  /** Halves of the last 64-bit value read. */
  lo = 0;
  hi = 0;

  constructor(bytes: Uint8Array) {
    this.buf = (
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    ) as NodeBuffer;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  /** A varint's low 32 bits, unsigned; the rest of a longer varint (negative int32s) is consumed. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (buf.length - pos >= 10) {
      let b = buf[pos++]!;
      let v = b & 127;
      if (b < 128) {
        this.pos = pos;
        return v;
      }
      b = buf[pos++]!;
      v |= (b & 127) << 7;
      if (b < 128) {
        this.pos = pos;
        return v;
      }
      b = buf[pos++]!;
      v |= (b & 127) << 14;
      if (b < 128) {
        this.pos = pos;
        return v;
      }
      b = buf[pos++]!;
      v |= (b & 127) << 21;
      if (b < 128) {
        this.pos = pos;
        return v;
      }
      b = buf[pos++]!;
      v |= (b & 15) << 28;
      for (let i = 5; b >= 128; i++) {
        if (i === 10) throw malformed(`varint longer than 10 bytes at byte ${this.pos}`);
        b = buf[pos++]!;
      }
      this.pos = pos;
      return v >>> 0;
    }
    this.varint64();
    return this.lo;
  }

  /** Reads a varint of up to 64 bits into `lo`/`hi`. */
  varint64(): void {
    const buf = this.buf;
    const end = buf.length;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; ; i++) {
      if (pos >= end) throw malformed(`truncated varint at byte ${this.pos}`);
      if (i === 10) throw malformed(`varint longer than 10 bytes at byte ${this.pos}`);
      const b = buf[pos++]!;
      if (shift < 28) lo |= (b & 127) << shift;
      else if (shift === 28) {
        lo |= (b & 15) << 28;
        hi = (b & 127) >> 4;
      } else hi |= (b & 127) << (shift - 32);
      shift += 7;
      if (b < 128) break;
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  fixed32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed64(): void {
    this.need(8);
    this.lo = this.view.getUint32(this.pos, true);
    this.hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the end offset of the value it announces. */
  lengthEnd(limit: number): number {
    const at = this.pos;
    const len = this.uint32();
    const end = this.pos + len;
    if (len > 0x7fffffff || end > limit) throw malformed(`length ${len} at byte ${at} runs past the end`);
    return end;
  }

  bytes(limit: number): Uint8Array {
    const end = this.lengthEnd(limit);
    const v = this.buf.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  /** A length-delimited string; `strict` rejects invalid UTF-8 (proto3 `utf8_validation = VERIFY`). */
  string(limit: number, strict: boolean): string {
    const end = this.lengthEnd(limit);
    const start = this.pos;
    this.pos = end;
    if (start === end) return "";
    const buf = this.buf;
    // The native decoder replaces bad sequences with U+FFFD; only then is the slice checked strictly.
    const s = buf.utf8Slice(start, end);
    if (strict && s.includes("\uFFFD") && !isUtf8(buf.subarray(start, end))) {
      throw malformed("string field holds invalid UTF-8");
    }
    return s;
  }

  /** Skips one field's value of the given wire type (an unknown field). */
  skip(wireType: number, fieldNumber: number, limit: number, depth = 0): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint64();
        return;
      case WireType.I64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.lengthEnd(limit);
        return;
      case WireType.I32:
        this.need(4);
        this.pos += 4;
        return;
      case WireType.SGROUP:
        this.skipGroup(fieldNumber, limit, depth + 1);
        return;
      default:
        throw malformed(`invalid wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private skipGroup(fieldNumber: number, limit: number, depth: number): void {
    if (depth > MAX_GROUP_DEPTH) throw malformed("groups nested too deeply");
    while (this.pos < limit) {
      const tag = this.uint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      if (no === 0) throw malformed(`invalid field number 0 at byte ${this.pos}`);
      if (wt === WireType.EGROUP) {
        if (no !== fieldNumber) throw malformed(`mismatched end of group ${no} (expected ${fieldNumber})`);
        return;
      }
      this.skip(wt, no, limit, depth);
    }
    throw malformed(`group ${fieldNumber} is not closed`);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw malformed(`truncated value at byte ${this.pos}`);
  }
}
