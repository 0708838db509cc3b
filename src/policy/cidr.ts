import { isIP } from "node:net";

/**
 * CIDR ranges (IPv4 and IPv6) parsed once, matched per request without allocating: an address is read
 * into a 128-bit value (IPv4 as IPv4-mapped IPv6, `::ffff:a.b.c.d`, so `10.0.0.0/8` also matches a dual-stack
 * socket's `::ffff:10.1.2.3`) and compared with each range's network under its mask.
 */

/** A set of CIDR ranges; `contains` is false for anything that is not an IP address. */
export interface CidrSet {
  readonly size: number;
  contains(address: string): boolean;
}

interface Range {
  readonly network: bigint;
  readonly mask: bigint;
}

const ALL = (1n << 128n) - 1n;
const MAPPED_PREFIX = 0xffffn << 32n;

/** Parses `a.b.c.d[/n]` or `h:h::h[/n]` (a bare address is /32 or /128); throws with the reason. */
export function parseCidr(text: string): Range {
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) throw new Error(`"${text}" is not an IP address or CIDR range`);
  const width = family === 4 ? 32 : 128;
  let bits = width;
  if (slash !== -1) {
    const prefix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > width) {
      throw new Error(`"${text}": the prefix length must be 0 to ${width}`);
    }
    bits = Number(prefix);
  }
  // IPv4 ranges live in the IPv4-mapped block: 96 more leading bits.
  const total = family === 4 ? bits + 96 : bits;
  const mask = total === 0 ? 0n : (ALL << BigInt(128 - total)) & ALL;
  const value = addressValue(address)!;
  return { network: value & mask, mask };
}

/** A set of ranges from CIDR texts; throws on the first bad one. */
export function createCidrSet(ranges: readonly string[]): CidrSet {
  const parsed = ranges.map(parseCidr);
  return {
    size: parsed.length,
    contains(address) {
      const value = addressValue(address);
      if (value === undefined) return false;
      for (const range of parsed) if ((value & range.mask) === range.network) return true;
      return false;
    },
  };
}

/** The address as a 128-bit value (IPv4 mapped), or undefined when it is not an IP address. */
export function addressValue(address: string): bigint | undefined {
  // A zone index (`fe80::1%eth0`) names an interface, not part of the address.
  const zone = address.indexOf("%");
  const bare = zone === -1 ? address : address.slice(0, zone);
  const family = isIP(bare);
  if (family === 4) return MAPPED_PREFIX | ipv4Value(bare);
  if (family === 6) return ipv6Value(bare);
  return undefined;
}

function ipv4Value(address: string): bigint {
  let value = 0n;
  for (const part of address.split(".")) value = (value << 8n) | BigInt(Number(part));
  return value;
}

function ipv6Value(address: string): bigint {
  let head = address;
  let tailV4: bigint | undefined;
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) is two groups.
  const lastColon = address.lastIndexOf(":");
  if (address.includes(".", lastColon)) {
    tailV4 = ipv4Value(address.slice(lastColon + 1));
    head = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = head.split("::");
  const leftGroups = left === "" ? [] : left.split(":");
  const rightGroups = right === undefined || right === "" ? [] : right.split(":");
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [
    ...leftGroups,
    ...Array<string>(right === undefined ? 0 : missing).fill("0"),
    ...rightGroups,
  ];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}
