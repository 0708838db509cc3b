/**
 * 64-bit integers as two unsigned 32-bit halves (`lo`, `hi`, two's complement), the form the wire
 * reader and writer use. Numbers up to 2^53 take a fast path; larger values go through BigInt.
 */

const TWO_32 = 4294967296;
const MAX_SAFE_HI = 0x1fffff; // hi * 2^32 + lo stays below 2^53

/** Scratch output of the conversions below; one per writer, never shared across requests in flight. */
export interface Int64Halves {
  lo: number;
  hi: number;
}

/** Splits a safe integer (|n| ≤ 2^53) into two's-complement halves. */
export function halvesFromSafeInteger(n: number, out: Int64Halves): void {
  if (n >= 0) {
    out.lo = (n % TWO_32) >>> 0;
    out.hi = Math.floor(n / TWO_32) >>> 0;
    return;
  }
  const a = -n;
  let lo = (a % TWO_32) >>> 0;
  let hi = Math.floor(a / TWO_32) >>> 0;
  hi = ~hi >>> 0;
  lo = (~lo + 1) >>> 0;
  if (lo === 0) hi = (hi + 1) >>> 0;
  out.lo = lo;
  out.hi = hi;
}

/** Splits any 64-bit BigInt (signed or unsigned, already range-checked) into halves. */
export function halvesFromBigInt(b: bigint, out: Int64Halves): void {
  const u = BigInt.asUintN(64, b);
  out.lo = Number(u & 0xffffffffn);
  out.hi = Number(u >> 32n);
}

/** Decimal text of an unsigned 64-bit value. */
export function uint64ToDecimal(lo: number, hi: number): string {
  if (hi <= MAX_SAFE_HI) return String(hi * TWO_32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Decimal text of a signed (two's complement) 64-bit value. */
export function int64ToDecimal(lo: number, hi: number): string {
  if ((hi & 0x80000000) === 0) return uint64ToDecimal(lo, hi);
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return `-${uint64ToDecimal(nlo, nhi)}`;
}

/** ZigZag encoding of a signed 64-bit value (sint64), in place. */
export function zigZagEncode64(v: Int64Halves): void {
  const sign = v.hi >> 31;
  const hi = ((v.hi << 1) | (v.lo >>> 31)) ^ sign;
  const lo = (v.lo << 1) ^ sign;
  v.hi = hi >>> 0;
  v.lo = lo >>> 0;
}

/** ZigZag decoding of a sint64, in place. */
export function zigZagDecode64(v: Int64Halves): void {
  const sign = -(v.lo & 1);
  const lo = ((v.lo >>> 1) | (v.hi << 31)) ^ sign;
  const hi = (v.hi >>> 1) ^ sign;
  v.lo = lo >>> 0;
  v.hi = hi >>> 0;
}
