import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatRegistryValue,
  normalizePrefix,
  parseRegistryEntry,
  parseRegistryKey,
  parseRegistryValue,
  registryKey,
} from "./registry-value.js";

const PREFIX = "/refract/backends/";

describe("parseRegistryKey", () => {
  const cases: Array<[string, string, ReturnType<typeof parseRegistryKey>]> = [
    ["plain", "/refract/backends/library/i-1", { ok: true, backend: "library", id: "i-1" }],
    [
      "address as id",
      "/refract/backends/library/10.0.0.1:50051",
      { ok: true, backend: "library", id: "10.0.0.1:50051" },
    ],
    [
      "id with slash",
      "/refract/backends/library/zone-a/pod-1",
      { ok: true, backend: "library", id: "zone-a/pod-1" },
    ],
    [
      "outside prefix",
      "/other/library/i-1",
      { ok: false, reason: "key is outside the prefix /refract/backends/" },
    ],
    [
      "no id",
      "/refract/backends/library",
      { ok: false, reason: "key has no instance id (want <prefix><backend>/<instance-id>)" },
    ],
    ["empty id", "/refract/backends/library/", { ok: false, reason: "instance id is empty" }],
    ["empty backend", "/refract/backends//i-1", { ok: false, reason: 'invalid backend name ""' }],
    [
      "bad backend",
      "/refract/backends/lib rary/i-1",
      { ok: false, reason: 'invalid backend name "lib rary"' },
    ],
    [
      "control char id",
      "/refract/backends/library/a\nb",
      { ok: false, reason: "instance id contains control characters" },
    ],
  ];
  for (const [name, key, expected] of cases) {
    test(name, () => assert.deepEqual(parseRegistryKey(key, PREFIX), expected));
  }

  test("prefix without trailing slash is normalized", () => {
    assert.deepEqual(parseRegistryKey("/p/library/1", "/p"), { ok: true, backend: "library", id: "1" });
    assert.equal(parseRegistryKey("/plibrary/1", "/p").ok, false);
  });
});

describe("parseRegistryValue", () => {
  const add = (address: string, metadata = {}) => ({ ok: true, op: "add", address, metadata }) as const;
  const cases: Array<[string, string, ReturnType<typeof parseRegistryValue>]> = [
    ["naming JSON", '{"Op":0,"Addr":"10.0.0.1:50051","Metadata":null}', add("10.0.0.1:50051")],
    ["Op omitted", '{"Addr":"svc:1"}', add("svc:1")],
    ["lower-case keys", '{"op":0,"addr":"svc:1","metadata":{"tls":true}}', add("svc:1", { tls: true })],
    [
      "mixed-case keys",
      '{"oP":0,"ADDR":"svc:1","MetaData":{"TLS":false,"Authority":"x.example"}}',
      add("svc:1", { tls: false, authority: "x.example" }),
    ],
    ["last duplicate wins", '{"Addr":"a:1","addr":"b:2"}', add("b:2")],
    ["unknown fields ignored", '{"Addr":"svc:1","Weight":3}', add("svc:1")],
    ["non-object metadata ignored", '{"Addr":"svc:1","Metadata":"v2"}', add("svc:1")],
    ["IPv6", '{"Addr":"[::1]:50051"}', add("[::1]:50051")],
    ["bare host:port", "localhost:50051", add("localhost:50051")],
    ["bare with whitespace", "  127.0.0.1:9000\n", add("127.0.0.1:9000")],
    ["Op 1 means deleted", '{"Op":1,"Addr":"svc:1"}', { ok: true, op: "delete" }],
    ["Op 1 without Addr", '{"Op":1}', { ok: true, op: "delete" }],
    ["empty", "", { ok: false, reason: "value is empty" }],
    ["bad JSON", '{"Addr":', { ok: false, reason: "invalid JSON: Unexpected end of JSON input" }],
    ["array", '["svc:1"]', { ok: false, reason: '"["svc:1"]" is not host:port and not naming JSON' }],
    ["JSON null", "null", { ok: false, reason: '"null" is not host:port and not naming JSON' }],
    ["missing Addr", '{"Op":0}', { ok: false, reason: "Addr is missing or not a string" }],
    ["Addr not a string", '{"Addr":5}', { ok: false, reason: "Addr is missing or not a string" }],
    ["Addr without port", '{"Addr":"svc"}', { ok: false, reason: 'Addr "svc" is not host:port' }],
    [
      "port out of range",
      "svc:70000",
      { ok: false, reason: 'port 70000 in "svc:70000" is out of range 1-65535 and not naming JSON' },
    ],
    [
      "port zero",
      '{"Addr":"svc:0"}',
      { ok: false, reason: 'Addr port 0 in "svc:0" is out of range 1-65535' },
    ],
    [
      "unknown Op",
      '{"Op":2,"Addr":"svc:1"}',
      { ok: false, reason: "unsupported Op 2 (want 0 = add or 1 = delete)" },
    ],
    [
      "string Op",
      '{"Op":"0","Addr":"svc:1"}',
      { ok: false, reason: 'unsupported Op "0" (want 0 = add or 1 = delete)' },
    ],
    [
      "tls not boolean",
      '{"Addr":"svc:1","Metadata":{"tls":"yes"}}',
      { ok: false, reason: 'Metadata.tls must be a boolean, got "yes"' },
    ],
    [
      "authority empty",
      '{"Addr":"svc:1","Metadata":{"authority":""}}',
      { ok: false, reason: 'Metadata.authority must be a non-empty string, got ""' },
    ],
    [
      "garbage",
      "not an address",
      { ok: false, reason: '"not an address" is not host:port and not naming JSON' },
    ],
  ];
  for (const [name, raw, expected] of cases) {
    test(name, () => assert.deepEqual(parseRegistryValue(raw), expected));
  }
});

describe("parseRegistryEntry", () => {
  test("instance", () => {
    assert.deepEqual(parseRegistryEntry("/refract/backends/user/a", "h:1", PREFIX), {
      kind: "instance",
      backend: "user",
      id: "a",
      address: "h:1",
      metadata: {},
    });
  });
  test("deleted by Op 1", () => {
    assert.deepEqual(parseRegistryEntry("/refract/backends/user/a", '{"Op":1}', PREFIX), {
      kind: "deleted",
      backend: "user",
      id: "a",
    });
  });
  test("key problems come first", () => {
    assert.deepEqual(parseRegistryEntry("/refract/backends/user", "garbage", PREFIX), {
      kind: "invalid",
      reason: "key has no instance id (want <prefix><backend>/<instance-id>)",
    });
  });
});

describe("formatting", () => {
  test("formatRegistryValue round-trips through the parser", () => {
    const value = formatRegistryValue("svc:1", { tls: true, authority: "svc.example" });
    assert.equal(value, '{"Op":0,"Addr":"svc:1","Metadata":{"tls":true,"authority":"svc.example"}}');
    assert.deepEqual(parseRegistryValue(value), {
      ok: true,
      op: "add",
      address: "svc:1",
      metadata: { tls: true, authority: "svc.example" },
    });
    assert.equal(formatRegistryValue("svc:1"), '{"Op":0,"Addr":"svc:1"}');
  });
  test("registryKey and normalizePrefix", () => {
    assert.equal(registryKey("/p", "library", "1"), "/p/library/1");
    assert.equal(registryKey(PREFIX, "library", "1"), "/refract/backends/library/1");
    assert.equal(normalizePrefix("/x/"), "/x/");
  });
});
