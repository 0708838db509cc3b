import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createCidrSet, parseCidr } from "./cidr.js";
import { clientAddress } from "./client-ip.js";

describe("CIDR sets", () => {
  const cases: Array<[string[], string, boolean]> = [
    [["10.0.0.0/8"], "10.1.2.3", true],
    [["10.0.0.0/8"], "11.1.2.3", false],
    [["10.0.0.0/8"], "::ffff:10.1.2.3", true],
    [["192.168.1.7"], "192.168.1.7", true],
    [["192.168.1.7"], "192.168.1.8", false],
    [["0.0.0.0/0"], "8.8.8.8", true],
    [["0.0.0.0/0"], "2001:db8::1", false],
    [["2001:db8::/32"], "2001:db8:ffff::1", true],
    [["2001:db8::/32"], "2001:db9::1", false],
    [["::1"], "::1", true],
    [["::/0"], "10.0.0.1", true],
    [["fe80::/10"], "fe80::1%eth0", true],
    [["10.0.0.0/8"], "not an address", false],
  ];
  for (const [ranges, address, expected] of cases) {
    test(`${ranges.join(",")} ${expected ? "contains" : "does not contain"} ${address}`, () => {
      assert.equal(createCidrSet(ranges).contains(address), expected);
    });
  }
  test("bad ranges are refused with their reason", () => {
    assert.throws(() => parseCidr("10.0.0.0/33"), /prefix length/);
    assert.throws(() => parseCidr("300.1.1.1"), /not an IP address/);
    assert.throws(() => parseCidr("::1/129"), /prefix length/);
  });
});

describe("client address", () => {
  const trusted = createCidrSet(["127.0.0.1/32", "10.0.0.0/8"]);
  const cases: Array<[string, string | undefined, string | undefined, string | undefined]> = [
    ["no trusted proxies: the socket", "127.0.0.1", "1.2.3.4", undefined],
    ["untrusted peer: its X-Forwarded-For is ignored", "5.6.7.8", "1.2.3.4", "5.6.7.8"],
    ["trusted peer: the hop it appended", "127.0.0.1", "1.2.3.4", "1.2.3.4"],
    ["through two trusted hops", "127.0.0.1", "9.9.9.9, 1.2.3.4, 10.0.0.2", "1.2.3.4"],
    ["a spoofed left part is not believed", "127.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"],
    ["every hop trusted: the leftmost", "127.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"],
    ["dual-stack peer", "::ffff:127.0.0.1", "1.2.3.4", "1.2.3.4"],
    ["hop with a port", "127.0.0.1", "1.2.3.4:5555", "1.2.3.4"],
  ];
  for (const [name, socket, xff, expected] of cases) {
    test(name, () => {
      const set = expected === undefined ? undefined : trusted;
      assert.equal(clientAddress(socket, xff, set), expected ?? socket);
    });
  }
});
