import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { GatewayConfigError } from "../errors.js";
import type { HttpRule } from "./http-rule.js";
import { HttpRulesError, loadHttpRules, mergeHttpRules, readHttpRulesFile } from "./http-rules-file.js";

const SAMPLE = `
type: google.api.Service
config_version: 3
name: library.example.com
http:
  rules:
    - selector: acme.library.v1.LibraryService.GetBook
      get: /v1/{name=shelves/*/books/*}
      response_body: book
      additional_bindings:
        - get: /v1/books/{name}
        - post: /v1/books:get
          body: "*"
    - selector: acme.library.v1.LibraryService.UpdateBook
      patch: /v1/{book.name=shelves/*/books/*}
      body: book
    - selector: acme.library.v1.LibraryService.HeadBook
      custom: { kind: HEAD, path: "/v1/{name=shelves/*/books/*}" }
    - selector: acme.library.v1.LibraryService.Ping
      custom: { kind: "*", path: /v1/ping }
      responseBody: status
`;

describe("loadHttpRules", () => {
  it("reads rules, additional bindings and custom kinds", () => {
    const rules = loadHttpRules(SAMPLE, "rules.yaml");
    assert.deepEqual(
      rules.map((r) => [
        r.selector,
        r.verb,
        r.pattern,
        r.body,
        r.responseBody,
        r.source,
        r.additionalBindings.length,
      ]),
      [
        [
          "acme.library.v1.LibraryService.GetBook",
          "GET",
          "/v1/{name=shelves/*/books/*}",
          "",
          "book",
          "rules-file",
          2,
        ],
        [
          "acme.library.v1.LibraryService.UpdateBook",
          "PATCH",
          "/v1/{book.name=shelves/*/books/*}",
          "book",
          "",
          "rules-file",
          0,
        ],
        [
          "acme.library.v1.LibraryService.HeadBook",
          "HEAD",
          "/v1/{name=shelves/*/books/*}",
          "",
          "",
          "rules-file",
          0,
        ],
        ["acme.library.v1.LibraryService.Ping", "*", "/v1/ping", "", "status", "rules-file", 0],
      ],
    );
    assert.deepEqual(rules[0]?.additionalBindings[1], {
      selector: "acme.library.v1.LibraryService.GetBook",
      verb: "POST",
      pattern: "/v1/books:get",
      body: "*",
      responseBody: "",
      additionalBindings: [],
      source: "rules-file",
    });
  });

  it("applies 'last one wins' to repeated selectors", () => {
    const rules = loadHttpRules(
      "http:\n  rules:\n    - {selector: a.S.M, get: /v1/a}\n    - {selector: b.S.M, get: /v1/b}\n    - {selector: a.S.M, get: /v2/a}\n",
      "x",
    );
    assert.deepEqual(
      rules.map((r) => [r.selector, r.pattern]),
      [
        ["b.S.M", "/v1/b"],
        ["a.S.M", "/v2/a"],
      ],
    );
  });

  it("accepts an empty rule list", () => {
    assert.deepEqual(loadHttpRules("http:\n  rules: []\n", "x"), []);
  });

  const invalid: Array<[string, string, RegExp]> = [
    ["YAML syntax", "http: [\n", /invalid YAML/],
    ["duplicate YAML keys", "http:\n  rules: []\n  rules: []\n", /invalid YAML/],
    ["no http section", "name: x\n", /no `http:` section/],
    ["rules not a list", "http:\n  rules: {}\n", /http.rules: expected a list/],
    ["unknown http key", "http:\n  rulez: []\n", /http.rulez: unknown key/],
    ["fully decode", "http:\n  fully_decode_reserved_expansion: true\n  rules: []\n", /not supported/],
    ["rule not a mapping", "http:\n  rules: [x]\n", /http.rules\[0\]: expected a mapping/],
    ["missing selector", "http:\n  rules: [{get: /v1/a}]\n", /http.rules\[0\].selector: required/],
    ["wildcard selector", "http:\n  rules: [{selector: 'a.*', get: /v1/a}]\n", /must name one method/],
    ["no verb", "http:\n  rules: [{selector: a.S.M}]\n", /http.rules\[0\]: needs one of get/],
    ["two verbs", "http:\n  rules: [{selector: a.S.M, get: /a, post: /b}]\n", /has get and post/],
    [
      "bad template",
      "http:\n  rules: [{selector: a.S.M, get: '/v1/{x'}]\n",
      /http.rules\[0\].get: unterminated variable: missing .}. in "\/v1\/\{x"/,
    ],
    [
      "** not last",
      "http:\n  rules: [{selector: a.S.M, get: '/v1/**/x'}]\n",
      /'\*\*' must be the last segment/,
    ],
    [
      "template not a string",
      "http:\n  rules: [{selector: a.S.M, get: 3}]\n",
      /get: expected a path template string/,
    ],
    ["bad custom", "http:\n  rules: [{selector: a.S.M, custom: {kind: HEAD}}]\n", /custom: expected \{ kind/],
    [
      "bad custom kind",
      "http:\n  rules: [{selector: a.S.M, custom: {kind: 'A B', path: /x}}]\n",
      /not an HTTP method/,
    ],
    [
      "bad custom path",
      "http:\n  rules: [{selector: a.S.M, custom: {kind: HEAD, path: x}}]\n",
      /custom.path: a template must start/,
    ],
    [
      "bad body",
      "http:\n  rules: [{selector: a.S.M, post: /x, body: a.b}]\n",
      /body: "a.b" must be "\*" or one top-level field/,
    ],
    [
      "body not string",
      "http:\n  rules: [{selector: a.S.M, post: /x, body: 1}]\n",
      /body: expected a string/,
    ],
    [
      "both spellings",
      "http:\n  rules: [{selector: a.S.M, get: /x, response_body: a, responseBody: b}]\n",
      /has both response_body and responseBody/,
    ],
    [
      "unknown rule key",
      "http:\n  rules: [{selector: a.S.M, get: /x, bdy: a}]\n",
      /http.rules\[0\].bdy: unknown key/,
    ],
    [
      "nested additional bindings",
      "http:\n  rules: [{selector: a.S.M, get: /x, additional_bindings: [{get: /y, additional_bindings: []}]}]\n",
      /additional_bindings\[0\].additional_bindings: additional bindings cannot have their own/,
    ],
    [
      "foreign selector in a binding",
      "http:\n  rules: [{selector: a.S.M, get: /x, additional_bindings: [{selector: b.S.M, get: /y}]}]\n",
      /additional_bindings\[0\].selector: an additional binding belongs to its rule's selector "a.S.M"/,
    ],
  ];
  for (const [name, text, pattern] of invalid) {
    it(`rejects: ${name}`, () => {
      assert.throws(
        () => loadHttpRules(text, "rules.yaml"),
        (e: unknown) => {
          assert.ok(e instanceof HttpRulesError && e instanceof GatewayConfigError, String(e));
          assert.ok(
            e.problems.some((p) => pattern.test(p)),
            `${e.problems.join(" | ")} should match ${pattern}`,
          );
          assert.ok(e.message.startsWith("rules.yaml: "));
          return true;
        },
      );
    });
  }

  it("lists every problem, not only the first", () => {
    const text = "http:\n  rules:\n    - {selector: a.S.M}\n    - {selector: b.S.M, get: '/v1/{'}\n";
    assert.throws(
      () => loadHttpRules(text, "r.yaml"),
      (e: unknown) => e instanceof HttpRulesError && e.problems.length === 2,
    );
  });
});

describe("readHttpRulesFile", () => {
  it("reads a file and names it in errors", async () => {
    const dir = await mkdtemp(join(tmpdir(), "refract-rules-"));
    try {
      const path = join(dir, "rules.yaml");
      await writeFile(path, SAMPLE);
      assert.equal((await readHttpRulesFile(path)).length, 4);
      await assert.rejects(
        readHttpRulesFile(join(dir, "missing.yaml")),
        /missing\.yaml: cannot read the file/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("mergeHttpRules", () => {
  const r = (selector: string, pattern: string, source: HttpRule["source"]): HttpRule => ({
    selector,
    verb: "GET",
    pattern,
    body: "",
    responseBody: "",
    additionalBindings: [],
    source,
  });
  it("lets a file rule replace every descriptor rule of its selector", () => {
    const merged = mergeHttpRules(
      [r("a.S.A", "/d/a", "descriptor"), r("a.S.B", "/d/b", "descriptor")],
      [r("a.S.A", "/f/a", "rules-file"), r("a.S.C", "/f/c", "rules-file")],
    );
    assert.deepEqual(
      merged.map((x) => [x.selector, x.pattern, x.source]),
      [
        ["a.S.B", "/d/b", "descriptor"],
        ["a.S.A", "/f/a", "rules-file"],
        ["a.S.C", "/f/c", "rules-file"],
      ],
    );
  });
});
