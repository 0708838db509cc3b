import { GatewayConfigError } from "../errors.js";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
// One or more `<number><unit>` parts, as Go's time.ParseDuration and the `--ttl 10s` style flags write them.
const PART_RE = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)/y;

/**
 * Parses a duration such as `10s`, `500ms`, `1.5s`, `2m`, `1h30m` into milliseconds (fractions are kept:
 * `0.5ms` is 0.5). Units: ms, s, m, h. A bare `0` is accepted; any other number needs a unit, because
 * "10" is ambiguous between seconds and milliseconds. Throws a GatewayConfigError naming `option`.
 */
export function parseDurationMs(text: string, option = "duration"): number {
  const value = text.trim();
  if (value === "0") return 0;
  if (value.length === 0) throw new GatewayConfigError(option, "empty duration");
  if (/^[+-]?\d+(\.\d*)?$/.test(value)) {
    throw new GatewayConfigError(option, `"${text}" has no unit (use ms, s, m or h, e.g. "10s")`);
  }
  let total = 0;
  PART_RE.lastIndex = 0;
  while (PART_RE.lastIndex < value.length) {
    const start = PART_RE.lastIndex;
    const match = PART_RE.exec(value);
    if (!match) {
      throw new GatewayConfigError(
        option,
        `"${text}" is not a duration (at "${value.slice(start)}"; want e.g. "10s", "500ms", "1m30s")`,
      );
    }
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  if (!Number.isFinite(total)) throw new GatewayConfigError(option, `"${text}" is too large`);
  return total;
}
