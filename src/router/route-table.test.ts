import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { GatewayError } from "../errors.js";
import { compileTemplate, matchTemplate } from "./compile.js";
import type { HttpRule } from "./http-rule.js";
import { createRouteTable, type RouteEntry, type RouteMatch } from "./route-table.js";

function rule(selector: string, verb: string, pattern: string, extra: Partial<HttpRule> = {}): HttpRule {
  return {
    selector,
    verb,
    pattern,
    body: "",
    responseBody: "",
    additionalBindings: [],
    source: "descriptor",
    ...extra,
  };
}
const entry = (r: HttpRule): RouteEntry<string> => ({ rule: r, target: r.selector });

/** Compact view of a match result for table-driven assertions. */
function view(m: RouteMatch<string>): unknown {
  if (m.kind === "match") return [m.target, Object.fromEntries(m.pathParams.map((p) => [p.name, p.value]))];
  if (m.kind === "method-not-allowed") return ["405", m.allow.join(",")];
  return "404";
}

describe("createRouteTable: matching and precedence", () => {
  const table = createRouteTable(
    [
      rule("GetBook", "GET", "/v1/{name=shelves/*/books/*}"),
      rule("UpdateBook", "PATCH", "/v1/{book.name=shelves/*/books/*}", { body: "book" }),
      rule("DeleteBook", "DELETE", "/v1/{name=shelves/*/books/*}"),
      rule("GetSpecialBook", "GET", "/v1/shelves/special/books/{id}"),
      rule("CreateSpecialBook", "POST", "/v1/shelves/{shelf}/books/special"),
      rule("ListBooks", "GET", "/v1/{parent=shelves/*}/books"),
      rule("GetAnything", "GET", "/v1/{path=**}"),
      rule("GetOp", "GET", "/v1/{name=operations/*}"),
      rule("CancelOp", "POST", "/v1/{name=operations/*}:cancel", { body: "*" }),
      rule("GetRoot", "GET", "/"),
      rule("Search", "GET", "/v2/books:search"),
      rule("Ping", "*", "/v2/ping"),
      rule("HeadOnly", "HEAD", "/v2/head"),
      rule("GetHead", "GET", "/v2/head"),
      rule("Files", "GET", "/v2/files/{path=**}:download"),
    ].map(entry),
  );
  const cases: Array<[verb: string, path: string, expected: unknown]> = [
    ["GET", "/v1/shelves/s1/books/b1", ["GetBook", { name: "shelves/s1/books/b1" }]],
    ["PATCH", "/v1/shelves/s1/books/b1", ["UpdateBook", { "book.name": "shelves/s1/books/b1" }]],
    ["DELETE", "/v1/shelves/s1/books/b1", ["DeleteBook", { name: "shelves/s1/books/b1" }]],
    // literal over *:
    ["GET", "/v1/shelves/special/books/b1", ["GetSpecialBook", { id: "b1" }]],
    // per-method precedence: the literal node has no PATCH route, so the * route is used.
    ["PATCH", "/v1/shelves/special/books/b1", ["UpdateBook", { "book.name": "shelves/special/books/b1" }]],
    ["POST", "/v1/shelves/s1/books/special", ["CreateSpecialBook", { shelf: "s1" }]],
    ["GET", "/v1/shelves/s1/books/special", ["GetBook", { name: "shelves/s1/books/special" }]],
    ["GET", "/v1/shelves/s1/books", ["ListBooks", { parent: "shelves/s1" }]],
    // ** catches what nothing more specific does, GET only:
    ["GET", "/v1/shelves/s1/books/b1/extra", ["GetAnything", { path: "shelves/s1/books/b1/extra" }]],
    ["GET", "/v1", ["GetAnything", { path: "" }]],
    ["GET", "/v1/", ["GetAnything", { path: "" }]],
    ["PUT", "/v1/shelves/s1/books/b1", ["405", "GET,HEAD,PATCH,DELETE"]],
    ["POST", "/v1/x/y", ["405", "GET,HEAD"]],
    // verbs
    ["POST", "/v1/operations/op1:cancel", ["CancelOp", { name: "operations/op1" }]],
    ["GET", "/v1/operations/op1", ["GetOp", { name: "operations/op1" }]],
    // GET has no :cancel route, so the colon stays part of the segment and `*` takes it.
    ["GET", "/v1/operations/op1:cancel", ["GetOp", { name: "operations/op1:cancel" }]],
    ["GET", "/v1/operations/op1:unknown", ["GetOp", { name: "operations/op1:unknown" }]],
    ["GET", "/v1/operations/a/b:cancel", ["GetAnything", { path: "operations/a/b:cancel" }]],
    ["GET", "/v2/books:search", ["Search", {}]],
    ["POST", "/v2/books:search", ["405", "GET,HEAD"]],
    ["GET", "/v2/books", "404"],
    ["GET", "/v2/books:other", "404"],
    ["GET", "/v2/files/a/b%2Fc:download", ["Files", { path: "a/b%2Fc" }]],
    ["GET", "/v2/files:download", ["Files", { path: "" }]],
    // root, any-method and HEAD
    ["GET", "/", ["GetRoot", {}]],
    ["HEAD", "/", ["GetRoot", {}]],
    ["DELETE", "/v2/ping", ["Ping", {}]],
    ["OPTIONS", "/v2/ping", ["Ping", {}]],
    ["HEAD", "/v2/head", ["HeadOnly", {}]],
    ["GET", "/v2/head", ["GetHead", {}]],
    ["HEAD", "/v1/shelves/s1/books/b1", ["GetBook", { name: "shelves/s1/books/b1" }]],
    // not found
    ["GET", "/v3", "404"],
    ["GET", "/v2", "404"],
    ["GET", "v1/shelves", "404"],
    ["GET", "", "404"],
    // query strings are not part of the path
    ["GET", "/v1/shelves/s1/books?x=/y", ["ListBooks", { parent: "shelves/s1" }]],
    // literals match after RFC 3986 normalization
    ["GET", "/v1/shelves/%73pecial/books/b1", ["GetSpecialBook", { id: "b1" }]],
  ];
  for (const [verb, path, expected] of cases) {
    it(`${verb} ${path}`, () => assert.deepEqual(view(table.match(verb, path)), expected));
  }

  it("returns the binding with body and response body", () => {
    const m = table.match("PATCH", "/v1/shelves/s1/books/b1");
    assert.equal(m.kind, "match");
    if (m.kind === "match") {
      assert.equal(m.binding.body, "book");
      assert.equal(m.binding.selector, "UpdateBook");
      assert.deepEqual(m.pathParams[0]?.fieldPath, ["book", "name"]);
    }
  });

  it("rejects malformed escapes in the matched route's variables", () => {
    assert.throws(
      () => table.match("GET", "/v1/operations/%zz"),
      (e: unknown) => e instanceof GatewayError && e.code === 3,
    );
  });
});

describe("createRouteTable: additional bindings", () => {
  const table = createRouteTable([
    entry(
      rule("acme.Svc.GetMessage", "GET", "/v1/messages/{message_id}", {
        responseBody: "text",
        additionalBindings: [
          rule("", "GET", "/v1/users/{user_id}/messages/{message_id}"),
          rule("", "POST", "/v1/messages:get", { body: "*" }),
        ],
      }),
    ),
  ]);
  it("expands each into its own route with the parent's selector", () => {
    assert.deepEqual(view(table.match("GET", "/v1/users/me/messages/1")), [
      "acme.Svc.GetMessage",
      { user_id: "me", message_id: "1" },
    ]);
    const m = table.match("POST", "/v1/messages:get");
    assert.ok(m.kind === "match");
    assert.equal(m.binding.bindingIndex, 2);
    assert.equal(m.binding.body, "*");
    assert.equal(m.binding.selector, "acme.Svc.GetMessage");
    assert.equal(table.size, 3);
    assert.deepEqual(
      table.routes().map((r) => [r.verb, r.pattern, r.selector, r.bindingIndex]),
      [
        ["GET", "/v1/messages/{message_id}", "acme.Svc.GetMessage", 0],
        ["GET", "/v1/users/{user_id}/messages/{message_id}", "acme.Svc.GetMessage", 1],
        ["POST", "/v1/messages:get", "acme.Svc.GetMessage", 2],
      ],
    );
  });
});

describe("createRouteTable: conflicts and invalid templates are values, never thrown", () => {
  const table = createRouteTable(
    [
      rule("b.Svc.Get", "GET", "/v1/{name=books/*}"),
      rule("a.Svc.Get", "GET", "/v1/books/{id}", { source: "rules-file" }),
      rule("c.Svc.Delete", "DELETE", "/v1/books/{id}"),
      rule("c.Svc.Bad", "GET", "/v1/{x"),
      rule("a.Svc.Get", "GET", "/v1/books/{book_id}"),
    ].map(entry),
  );

  it("keeps the first selector in ordinal order, then the first declared", () => {
    assert.deepEqual(table.conflicts, [
      {
        verb: "GET",
        pattern: "/v1/books/{book_id}",
        keptPattern: "/v1/books/{id}",
        kept: "a.Svc.Get",
        dropped: "a.Svc.Get",
      },
      {
        verb: "GET",
        pattern: "/v1/{name=books/*}",
        keptPattern: "/v1/books/{id}",
        kept: "a.Svc.Get",
        dropped: "b.Svc.Get",
      },
    ]);
    assert.deepEqual(view(table.match("GET", "/v1/books/1")), ["a.Svc.Get", { id: "1" }]);
    assert.deepEqual(view(table.match("DELETE", "/v1/books/1")), ["c.Svc.Delete", { id: "1" }]);
  });

  it("does not depend on the input order", () => {
    const reversed = createRouteTable(
      [rule("a.Svc.Get", "GET", "/v1/books/{id}"), rule("b.Svc.Get", "GET", "/v1/{name=books/*}")]
        .map(entry)
        .reverse(),
    );
    assert.deepEqual(view(reversed.match("GET", "/v1/books/1")), ["a.Svc.Get", { id: "1" }]);
  });

  it("reports invalid templates and lists everything in routes()", () => {
    assert.equal(table.invalid.length, 1);
    assert.equal(table.invalid[0]?.selector, "c.Svc.Bad");
    assert.match(table.invalid[0]?.reason ?? "", /unterminated variable/);
    const rows = table.routes().map((r) => [r.selector, r.pattern, r.source, r.active, r.conflicts.length]);
    assert.deepEqual(rows, [
      ["b.Svc.Get", "/v1/{name=books/*}", "descriptor", false, 1],
      ["a.Svc.Get", "/v1/books/{id}", "rules-file", true, 2],
      ["c.Svc.Delete", "/v1/books/{id}", "descriptor", true, 0],
      ["c.Svc.Bad", "/v1/{x", "descriptor", false, 0],
      ["a.Svc.Get", "/v1/books/{book_id}", "descriptor", false, 1],
    ]);
    assert.equal(table.size, 2);
  });

  it("reports (and ignores) additional bindings nested more than one level", () => {
    const deep = rule("", "GET", "/v1/deeper");
    const t = createRouteTable([
      entry(
        rule("a.S.M", "GET", "/v1/a", {
          additionalBindings: [rule("", "GET", "/v1/b", { additionalBindings: [deep] })],
        }),
      ),
    ]);
    assert.equal(t.size, 2);
    assert.deepEqual(view(t.match("GET", "/v1/deeper")), "404");
    assert.match(t.invalid[0]?.reason ?? "", /own additional_bindings/);
    assert.equal(t.invalid[0]?.pattern, "/v1/b");
  });

  it("does not report different verbs or shapes as conflicts", () => {
    const t = createRouteTable(
      [
        rule("a", "GET", "/v1/{id}"),
        rule("b", "GET", "/v1/{id}:x"),
        rule("c", "GET", "/v1/{id=**}"),
        rule("d", "POST", "/v1/{id}"),
      ].map(entry),
    );
    assert.deepEqual(t.conflicts, []);
    assert.equal(t.size, 4);
  });
});

// --- property: the trie agrees with matching every template one by one ---

describe("property: table.match is consistent with matchTemplate over all routes", () => {
  const arbTemplate = fc
    .tuple(
      fc.array(fc.constantFrom("a", "b", "*", "{v}"), { maxLength: 3 }),
      fc.constantFrom("", "/**", "/{rest=**}"),
      fc.constantFrom("", ":x"),
    )
    .map(([segs, tail, verb]) => {
      const body = segs.join("/");
      const text = `/${body}${body === "" ? tail.slice(1) : tail}`;
      return text === "/" ? "/" : `${text}${verb}`;
    });
  const arbRule = fc.tuple(fc.constantFrom("GET", "POST", "DELETE"), arbTemplate);
  const arbPath = fc
    .tuple(fc.array(fc.constantFrom("a", "b", "c", ""), { maxLength: 4 }), fc.constantFrom("", ":x", ":y"))
    .map(([segs, verb]) => `/${segs.join("/")}${verb}`);

  it("for generated tables and paths", () => {
    fc.assert(
      fc.property(
        fc.array(arbRule, { minLength: 1, maxLength: 12 }),
        arbPath,
        fc.constantFrom("GET", "POST", "DELETE"),
        (rules, path, method) => {
          const table = createRouteTable(
            rules.map(([verb, pattern], i) => entry(rule(`s${i}`, verb, pattern))),
          );
          const all = rules.flatMap(([verb, pattern]) => {
            if (table.invalid.some((r) => r.pattern === pattern)) return []; // e.g. "/{v}/{v}"
            const params = matchTemplate(compileTemplate(pattern), path);
            return params === undefined ? [] : [{ verb, pattern, params }];
          });
          const m = table.match(method, path);
          if (m.kind === "match") {
            const params = matchTemplate(compileTemplate(m.binding.pattern), path);
            assert.deepEqual(params, m.pathParams, "the matched route matches on its own");
            assert.equal(m.binding.verb, method);
          } else if (m.kind === "method-not-allowed") {
            assert.ok(!all.some((r) => r.verb === method), "no route of the method matches");
            const expected = new Set<string>(all.map((r) => r.verb));
            if (expected.has("GET")) expected.add("HEAD");
            assert.deepEqual(new Set(m.allow), expected);
          } else {
            assert.deepEqual(all, [], `${path} matches ${all.map((r) => r.pattern).join(", ")}`);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
