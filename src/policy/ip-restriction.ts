import { createCidrSet } from "./cidr.js";
import type { PolicyType } from "./policy.js";
import { denied } from "./policy-errors.js";

/**
 * The `ip-restriction` policy type (phase access): `allow` and `deny` CIDR ranges, IPv4 and IPv6. A
 * client in a `deny` range is refused; with `allow`, a client in none of its ranges is refused (so is
 * one whose address is unknown). The address is the socket's, or X-Forwarded-For's through
 * `--trusted-proxy` hops only (policy/client-ip.ts). Refusal: 403 code 7.
 */
export interface IpRestrictionConfig {
  /** Only these ranges may call. Default: any. */
  allow?: string[];
  /** These ranges may not call (checked first). Default: none. */
  deny?: string[];
}

const CIDR_LIST = {
  type: "array",
  minItems: 1,
  items: {
    type: "string",
    // IPv4 or IPv6 address with an optional prefix length; compile() checks the numbers.
    pattern: "^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(/[0-9]{1,3})?$",
  },
};

export const ipRestrictionPolicyType: PolicyType<IpRestrictionConfig> = {
  type: "ip-restriction",
  phase: "access",
  configSchema: {
    type: "object",
    description: "Allow or deny client addresses by CIDR range (IPv4 and IPv6); deny wins.",
    properties: {
      allow: { ...CIDR_LIST, description: "Only clients in these ranges may call." },
      deny: { ...CIDR_LIST, description: "Clients in these ranges may not call." },
    },
    anyOf: [{ required: ["allow"] }, { required: ["deny"] }],
    additionalProperties: false,
  },
  compile(config, _environment, name) {
    const allow = config.allow === undefined ? undefined : createCidrSet(config.allow);
    const deny = createCidrSet(config.deny ?? []);
    return {
      name,
      type: "ip-restriction",
      phase: "access",
      priority: 0,
      run(context) {
        const ip = context.clientIp;
        if (ip !== undefined && deny.contains(ip)) {
          throw denied(`client address ${ip} is denied by policy ${name}`);
        }
        if (allow !== undefined && (ip === undefined || !allow.contains(ip))) {
          throw denied(`client address ${ip ?? "(unknown)"} is not allowed by policy ${name}`);
        }
      },
    };
  },
};
