import type { CidrSet } from "./cidr.js";

/**
 * The client's address for policies (CONTRACT.md §10): the socket's peer, unless that peer is a trusted
 * proxy (`--trusted-proxy`), in which case X-Forwarded-For is walked from the right — the hop each proxy
 * appended — past every trusted hop; the first untrusted one is the client. A client can put anything at
 * the left of the header, so nothing left of the first untrusted hop is believed (the "rightmost
 * untrusted" rule, as nginx's real_ip_recursive and Envoy's xff_num_trusted_hops do it).
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: CidrSet | undefined,
): string | undefined {
  const peer = socketAddress === undefined ? undefined : unmapped(socketAddress);
  if (peer === undefined || trustedProxies === undefined || trustedProxies.size === 0) return peer;
  if (forwardedFor === undefined || !trustedProxies.contains(peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",");
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = unmapped(stripPort(hops[i]!.trim()));
    if (hop === "") break;
    client = hop;
    if (!trustedProxies.contains(hop)) break;
  }
  return client;
}

/** `::ffff:1.2.3.4` (a dual-stack socket's IPv4 peer) as `1.2.3.4`, so logs and rules read naturally. */
function unmapped(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** X-Forwarded-For entries are addresses, but some proxies write `1.2.3.4:5678` or `[::1]:5678`. */
function stripPort(hop: string): string {
  if (hop.startsWith("[")) {
    const end = hop.indexOf("]");
    return end === -1 ? hop : hop.slice(1, end);
  }
  const colon = hop.indexOf(":");
  return colon !== -1 && colon === hop.lastIndexOf(":") ? hop.slice(0, colon) : hop;
}
