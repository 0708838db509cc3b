import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ajv } from "ajv";
import { policyTypeSchemas } from "../policy/policy-types.js";
import {
  configDocumentsJsonSchema,
  createDocumentValidator,
  documentLabel,
  formatProblem,
  kindOf,
  type PolicyTypeSchema,
} from "./validate-documents.js";

// Stand-ins with the shape of real types' schemas; the real table is tested in the e2e tests.
const TYPES: PolicyTypeSchema[] = [
  {
    type: "jwt",
    configSchema: {
      type: "object",
      required: ["issuer"],
      properties: { issuer: { type: "string" }, audiences: { type: "array", items: { type: "string" } } },
      additionalProperties: false,
    },
  },
  {
    type: "ip-restriction",
    configSchema: {
      type: "object",
      properties: { deny: { type: "array", items: { type: "string" } } },
      additionalProperties: false,
    },
  },
];

const HASH = "a".repeat(64);

function problems(result: { ok: boolean; problems?: readonly { path: string; problem: string }[] }) {
  assert.equal(result.ok, false);
  return (result.problems ?? []).map((p) => `${p.path}: ${p.problem}`).sort();
}

describe("policy documents", () => {
  const validator = createDocumentValidator(TYPES);

  test("a valid document comes back deep-frozen", () => {
    const value = {
      name: "books-need-login",
      type: "jwt",
      match: {
        backends: ["library"],
        methods: ["acme.library.v1.LibraryService/*"],
        routes: ["/v1/shelves/**"],
      },
      priority: 10,
      config: { issuer: "https://issuer.example", audiences: ["books"] },
    };
    const result = validator.policy(value);
    assert.ok(result.ok);
    assert.deepEqual(result.document, value);
    assert.notEqual(result.document, value);
    assert.ok(Object.isFrozen(result.document));
    assert.ok(Object.isFrozen((result.document.config as { audiences: string[] }).audiences));
  });

  test("each problem with its JSON path, the config checked against its type's schema", () => {
    const result = validator.policy({
      name: "books-need-login",
      type: "jwt",
      priority: 1.5,
      match: { methods: [], colour: "red" },
      config: { issuer: 42, extra: true },
    });
    assert.deepEqual(problems(result), [
      "/config/extra: unknown property",
      "/config/issuer: must be string",
      "/match/colour: unknown property",
      "/match/methods: must NOT have fewer than 1 items",
      "/priority: must be integer",
    ]);
    const label = documentLabel("policies", { name: "books-need-login" }, "policies[0]");
    assert.equal(
      formatProblem(label, { path: "/config/issuer", problem: "must be string" }),
      "policies/books-need-login: /config/issuer: must be string",
    );
  });

  test("missing fields, bad names, unknown types", () => {
    assert.deepEqual(problems(validator.policy({ type: "jwt" })), ["/config: required", "/name: required"]);
    assert.deepEqual(problems(validator.policy({ name: "Books_Login", type: "oauth", config: {} })), [
      '/name: must match pattern "^[a-z0-9]([a-z0-9-]{0,62})$"',
      '/type: unknown policy type "oauth" (one of: jwt, ip-restriction)',
    ]);
    assert.deepEqual(problems(validator.policy("name: x")), ["/: must be object"]);
    assert.deepEqual(problems(validator.policy({ name: "a", type: "jwt", config: {} }, "b")), [
      "/config/issuer: required",
      '/name: must equal the name in its key ("b")',
    ]);
  });

  test("a type's schema is compiled once, not per document", () => {
    let compiled = 0;
    const counting: PolicyTypeSchema = {
      type: "count",
      get configSchema() {
        compiled++;
        return { type: "object" };
      },
    };
    const once = createDocumentValidator([counting]);
    for (let i = 0; i < 5; i++) assert.ok(once.policy({ name: "c", type: "count", config: {} }).ok);
    assert.equal(compiled, 1);
  });
});

describe("consumer documents", () => {
  const validator = createDocumentValidator(TYPES);

  test("valid, with labels", () => {
    const result = validator.consumer({
      name: "mobile-app",
      apiKeys: [{ sha256: HASH }],
      labels: { tier: "gold" },
    });
    assert.ok(result.ok);
  });

  test("hashes must be 64 lower-case hex digits; labels strings", () => {
    assert.deepEqual(
      problems(
        validator.consumer({
          name: "app",
          apiKeys: [{ sha256: HASH.toUpperCase() }, {}],
          labels: { tier: 1 },
        }),
      ),
      [
        '/apiKeys/0/sha256: must match pattern "^[0-9a-f]{64}$"',
        "/apiKeys/1/sha256: required",
        "/labels/tier: must be string",
      ],
    );
  });

  test("a clear-text key is rejected without being echoed", () => {
    const secret = "sk_live_do-not-print-me-0123456789";
    for (const apiKeys of [[{ key: secret }], [secret], [{ sha256: HASH }, { key: secret, sha256: HASH }]]) {
      const result = validator.consumer({ name: "app", apiKeys });
      assert.equal(result.ok, false);
      const text = JSON.stringify(result);
      assert.ok(!text.includes(secret), text);
      assert.ok(!text.includes(String(secret.length)), text);
      assert.match(text, /a clear-text API key is not accepted/);
    }
    // An unknown property name inside a key entry might be the key itself.
    const named = validator.consumer({ name: "app", apiKeys: [{ sha256: HASH, [secret]: true }] });
    assert.deepEqual(problems(named), ["/apiKeys/0: only sha256 is accepted"]);
    assert.ok(!JSON.stringify(named).includes(secret));
  });
});

describe("helpers", () => {
  test("kindOf: a policy has a type", () => {
    assert.equal(kindOf({ name: "x", type: "jwt", config: {} }), "policies");
    assert.equal(kindOf({ name: "x", apiKeys: [] }), "consumers");
  });

  test("documentLabel falls back to where the document was found", () => {
    assert.equal(documentLabel("consumers", { name: "app" }, "file consumers[0]"), "consumers/app");
    assert.equal(documentLabel("consumers", { name: "a/b" }, "file consumers[0]"), "file consumers[0]");
    assert.equal(documentLabel("policies", 42, "etcd key k"), "etcd key k");
  });
});

describe("the JSON Schema for editors", () => {
  const schema = configDocumentsJsonSchema(TYPES);
  const validate = new Ajv({ strict: false }).compile(schema);

  test("accepts one document, a list, and {policies, consumers}", () => {
    const policy = { name: "p", type: "jwt", config: { issuer: "i" } };
    const consumer = { name: "c", apiKeys: [{ sha256: HASH }] };
    assert.ok(validate(policy), JSON.stringify(validate.errors));
    assert.ok(validate(consumer), JSON.stringify(validate.errors));
    assert.ok(validate([policy, consumer]), JSON.stringify(validate.errors));
    assert.ok(validate({ policies: [policy], consumers: [consumer] }), JSON.stringify(validate.errors));
  });

  test("checks a policy's config against its type, and rejects strangers", () => {
    assert.equal(validate({ name: "p", type: "jwt", config: { issuer: 1 } }), false);
    assert.equal(validate({ name: "p", type: "nope", config: {} }), false);
    assert.equal(
      validate({ policies: [{ name: "p", type: "ip-restriction", config: { allow: [] } }] }),
      false,
    );
    assert.equal(validate({ name: "c", apiKeys: [{ key: "clear" }] }), false);
    assert.equal(validate({ policies: [], other: 1 }), false);
  });
});

describe("documents the real types cannot compile", () => {
  // What a JSON Schema cannot say is found by compiling the config once, dry: such a version is rejected
  // (its last valid version stays in force) instead of making its methods fail closed with 503.
  const validator = createDocumentValidator(policyTypeSchemas());
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ["an address that is not one", "ip-restriction", { deny: ["300.1.1.1/8"] }, /300\.1\.1\.1\/8/],
    ["a prefix too long for IPv4", "ip-restriction", { allow: ["1.2.3.4/99"] }, /1\.2\.3\.4\/99/],
    ["a prefix too long for IPv6", "ip-restriction", { allow: ["::1/200"] }, /::1\/200/],
    ["a window of zero", "rate-limit", { limit: 3, window: "0s" }, /window/],
  ];
  for (const [what, type, config, message] of cases) {
    test(what, () => {
      const found = problems(validator.policy({ name: "p", type, config }));
      assert.equal(found.length, 1, found.join("\n"));
      assert.match(found[0]!, /^\/config: /);
      assert.match(found[0]!, message);
    });
  }

  test("valid configs of every type still pass, a Redis store included (nothing is opened)", () => {
    for (const [type, config] of [
      ["ip-restriction", { deny: ["10.0.0.0/8", "fd00::/8"] }],
      ["rate-limit", { limit: 3, window: "10s", store: "redis" }],
      ["request-transform", { setMetadata: { "x-user": "{subject}" } }],
      ["authorize", { labels: { tier: "gold" } }],
      ["api-key", {}],
      ["jwt", { issuer: "https://issuer.example", audiences: ["a"], jwksUri: "https://issuer.example/jwks" }],
    ] as const) {
      const result = validator.policy({ name: "p", type, config });
      assert.ok(result.ok, `${type}: ${JSON.stringify(result)}`);
    }
  });
});

test("a jwt policy's inline keys must be public: private key members are refused, and not echoed", () => {
  const validator = createDocumentValidator(policyTypeSchemas());
  const result = validator.policy({
    name: "p",
    type: "jwt",
    config: {
      issuer: "https://issuer.example",
      audiences: ["a"],
      jwks: { keys: [{ kty: "RSA", n: "abc", e: "AQAB", d: "PRIVATEPART" }] },
    },
  });
  const found = problems(result);
  assert.ok(
    found.some((p) => p.startsWith("/config/jwks/keys/0")),
    found.join("\n"),
  );
  assert.ok(!found.join("\n").includes("PRIVATEPART"));
});

test("a jwt policy's inline key that does not import is refused at validation, naming the key", () => {
  const validator = createDocumentValidator(policyTypeSchemas());
  const found = problems(
    validator.policy({
      name: "p",
      type: "jwt",
      config: {
        issuer: "https://issuer.example",
        audiences: ["a"],
        jwks: { keys: [{ kty: "EC", crv: "P-256", x: "bad", y: "bad", kid: "k1" }] },
      },
    }),
  );
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0]!, /^\/config: config\.jwks\.keys\[0\]: not a usable public key \(kid "k1"\)/);
});
