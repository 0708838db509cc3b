import { describe, fail, quote } from "./problems.js";

/**
 * google.protobuf.Timestamp and Duration in their JSON forms (RFC 3339 with 0, 3, 6 or 9 fractional
 * digits; "1.5s"). Dates are computed with integer calendar arithmetic (Hinnant's days-from-civil), so
 * years 1 to 9999 work, unlike Date.UTC's two-digit-year quirk.
 */

export const TIMESTAMP_MIN_SECONDS = -62135596800; // 0001-01-01T00:00:00Z
export const TIMESTAMP_MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z
export const DURATION_MAX_SECONDS = 315576000000; // 10000 years

const DURATION_RE = /^(-)?([0-9]+)(?:\.([0-9]{1,9}))?s$/;

export interface SecondsNanos {
  seconds: number;
  nanos: number;
}

/** Digits of `text` from `at` (`count` of them) as a number, or -1 if any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

function invalidTimestamp(text: string): never {
  fail(`invalid timestamp ${quote(text)} (expected RFC 3339 like "2024-01-31T12:00:00Z")`);
}

/** RFC 3339 as the proto3 JSON mapping has it: `2024-01-31T12:00:00[.fraction](Z|±hh:mm)`, uppercase T and Z. */
export function parseTimestamp(value: unknown): SecondsNanos {
  if (typeof value !== "string") fail(`expected timestamp string (RFC 3339), got ${describe(value)}`);
  const t = value;
  if (t.length < 20 || t[4] !== "-" || t[7] !== "-" || t[10] !== "T" || t[13] !== ":" || t[16] !== ":")
    invalidTimestamp(t);
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) invalidTimestamp(t);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) invalidTimestamp(t);
  let i = 19;
  let nanos = 0;
  if (t[i] === ".") {
    let count = 0;
    for (i++; count < 10 && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57; i++) {
      nanos = nanos * 10 + t.charCodeAt(i) - 48;
      count++;
    }
    if (count === 0 || count > 9) invalidTimestamp(t);
    nanos *= 10 ** (9 - count);
  }
  let offset = 0;
  if (t[i] === "Z" && i + 1 === t.length) {
    // UTC
  } else if ((t[i] === "+" || t[i] === "-") && i + 6 === t.length && t[i + 3] === ":") {
    const oh = digits(t, i + 1, 2);
    const om = digits(t, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) invalidTimestamp(t);
    offset = (t[i] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  } else invalidTimestamp(t);
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS) {
    fail(`timestamp ${quote(t)} is out of range (0001-01-01 to 9999-12-31)`);
  }
  return { seconds, nanos };
}

/** RFC 3339 text of a Timestamp; undefined when out of range (the caller reports it). */
export function formatTimestamp(seconds: number, nanos: number): string | undefined {
  if (
    !(seconds >= TIMESTAMP_MIN_SECONDS && seconds <= TIMESTAMP_MAX_SECONDS) ||
    nanos < 0 ||
    nanos > 999999999
  ) {
    return undefined;
  }
  const days = Math.floor(seconds / 86400);
  const secOfDay = seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const hh = Math.floor(secOfDay / 3600);
  const mm = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  const year = y >= 1000 ? String(y) : pad(y, 4);
  return `${year}-${TWO_DIGITS[mo]}-${TWO_DIGITS[d]}T${TWO_DIGITS[hh]}:${TWO_DIGITS[mm]}:${TWO_DIGITS[ss]}${fraction(nanos)}Z`;
}

export function parseDuration(value: unknown): SecondsNanos {
  if (typeof value !== "string") fail(`expected duration string (like "1.5s"), got ${describe(value)}`);
  const m = DURATION_RE.exec(value);
  if (m === null) fail(`invalid duration ${quote(value)} (expected seconds with an "s" suffix, like "1.5s")`);
  const digits = m[2]!;
  if (digits.length > 12 || Number(digits) > DURATION_MAX_SECONDS)
    fail(`duration ${quote(value)} is out of range`);
  const sign = m[1] === "-" ? -1 : 1;
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, "0"));
  return { seconds: sign * Number(digits) || 0, nanos: sign * nanos || 0 };
}

/** "1.5s" text of a Duration; undefined when out of range or the signs disagree. */
export function formatDuration(seconds: number, nanos: number): string | undefined {
  if (Math.abs(seconds) > DURATION_MAX_SECONDS || Math.abs(nanos) > 999999999) return undefined;
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return undefined;
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? "-" : ""}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

/** ".123", ".123456", ".123456789" or "" (the spec's 0/3/6/9 digit forms). */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  if (nanos % 1000000 === 0) return `.${pad(nanos / 1000000, 3)}`;
  if (nanos % 1000 === 0) return `.${pad(nanos / 1000, 6)}`;
  return `.${pad(nanos, 9)}`;
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
