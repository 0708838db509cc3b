import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { GatewayError } from "../errors.js";
import { compileTemplate, matchTemplate, splitRequestPath } from "./compile.js";

describe("compileTemplate", () => {
  it("flattens variables and records captures with their field paths", () => {
    const c = compileTemplate("/v1/{book.name=shelves/*/books/*}/{rev}:publish");
    assert.deepEqual(
      c.segments.map((s) => (s.kind === "literal" ? s.value : s.kind)),
      ["v1", "shelves", "wildcard", "books", "wildcard", "wildcard"],
    );
    assert.deepEqual(
      c.captures.map((x) => [x.name, x.fieldPath, x.start, x.length, x.multiSegment]),
      [
        ["book.name", ["book", "name"], 1, 4, true],
        ["rev", ["rev"], 5, 1, false],
      ],
    );
    assert.equal(c.verb, "publish");
  });

  it("gives equivalent templates the same shape key", () => {
    assert.equal(compileTemplate("/v1/{name=books/*}").shapeKey, compileTemplate("/v1/books/{id}").shapeKey);
    assert.equal(compileTemplate("/v1/%61").shapeKey, compileTemplate("/v1/a").shapeKey);
    assert.notEqual(compileTemplate("/v1/{id}").shapeKey, compileTemplate("/v1/{id}:x").shapeKey);
    assert.notEqual(compileTemplate("/v1/*").shapeKey, compileTemplate("/v1/**").shapeKey);
  });
});

describe("splitRequestPath", () => {
  const cases: Array<[string, string[] | undefined]> = [
    ["/", []],
    ["/v1", ["v1"]],
    ["/v1/a/", ["v1", "a", ""]],
    ["/v1//a", ["v1", "", "a"]],
    ["/v1/a?x=1/2", ["v1", "a"]],
    ["v1/a", undefined],
    ["", undefined],
  ];
  for (const [path, expected] of cases)
    it(JSON.stringify(path), () => assert.deepEqual(splitRequestPath(path), expected));
});

describe("matchTemplate", () => {
  type Case = [template: string, path: string, expected: Record<string, string> | undefined];
  const cases: Case[] = [
    ["/v1/messages/{message_id}", "/v1/messages/123", { message_id: "123" }],
    ["/v1/messages/{message_id}", "/v1/messages/123/x", undefined],
    ["/v1/messages/{message_id}", "/v1/messages", undefined],
    ["/v1/messages/{message_id}", "/v1/messages/", undefined],
    ["/v1/{a}/{b.c}", "/v1/x/y", { a: "x", "b.c": "y" }],
    ["/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b2", { name: "shelves/s1/books/b2" }],
    ["/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books", undefined],
    ["/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/notes/b2", undefined],
    ["/v1/{name=**}", "/v1/a/b/c", { name: "a/b/c" }],
    ["/v1/{name=**}", "/v1", { name: "" }],
    ["/v1/{name=a/**}", "/v1/a", { name: "a" }],
    ["/v1/{name=a/**}", "/v1/a/b/c", { name: "a/b/c" }],
    ["/v1/*/**", "/v1/x", {}],
    ["/v1/*/**", "/v1", undefined],
    ["/", "/", {}],
    ["/", "/x", undefined],
    // Verbs (grpc-gateway): split only for templates that expect one.
    ["/v1/{name}:cancel", "/v1/op1:cancel", { name: "op1" }],
    ["/v1/{name}:cancel", "/v1/op1", undefined],
    ["/v1/{name}:cancel", "/v1/op1:undelete", undefined],
    ["/v1/{name}:cancel", "/v1/:cancel", undefined],
    ["/v1/{name}", "/v1/op1:cancel", { name: "op1:cancel" }],
    ["/v1/{name}:cancel", "/v1/a:b:cancel", { name: "a:b" }],
    ["/v1/{name=ops/**}:cancel", "/v1/ops/a/b:cancel", { name: "ops/a/b" }],
    ["/v1/books:search", "/v1/books:search", {}],
    ["/v1/books:search", "/v1/books", undefined],
    ["/v1/a:b/{x}", "/v1/a:b/1", { x: "1" }],
    // Literals compare after RFC 3986 normalization.
    ["/v1/books", "/v1/b%6Fo%6bs/", undefined],
    ["/v1/books/{id}", "/v1/b%6Fo%6bs/1", { id: "1" }],
    ["/v1/a%2fb/{id}", "/v1/a%2Fb/1", { id: "1" }],
    ["/v1/a%2Fb/{id}", "/v1/a/b/1", undefined],
    // Percent-decoding: single-segment variables decode everything…
    ["/v1/{id}", "/v1/a%2Fb%20c%3Fd", { id: "a/b c?d" }],
    ["/v1/{id}", "/v1/%E2%82%AC+", { id: "€+" }],
    ["/v1/{id=*}", "/v1/a%2fb", { id: "a/b" }],
    // …multi-segment ones keep %2F / %2f unchanged and decode the rest.
    ["/v1/{name=**}", "/v1/a%2Fb/c%20d", { name: "a%2Fb/c d" }],
    ["/v1/{name=**}", "/v1/a%2fb", { name: "a%2fb" }],
    ["/v1/{name=**}", "/v1/x", { name: "x" }],
    ["/v1/{name=shelves/*}", "/v1/shelves/a%2Fb%3A", { name: "shelves/a%2Fb:" }],
    ["/v1/{name=shelves/*}", "/v1/shelves/%252F", { name: "shelves/%2F" }],
  ];
  for (const [template, path, expected] of cases) {
    it(`${template} ⟵ ${path}`, () => {
      const params = matchTemplate(compileTemplate(template), path);
      assert.deepEqual(
        params === undefined ? undefined : Object.fromEntries(params.map((p) => [p.name, p.value])),
        expected,
      );
    });
  }

  it("binds field paths as arrays", () => {
    const params = matchTemplate(compileTemplate("/v1/{book.name}"), "/v1/x");
    assert.deepEqual(params?.[0]?.fieldPath, ["book", "name"]);
  });

  for (const path of ["/v1/%zz", "/v1/%E2%82", "/v1/a%"]) {
    it(`malformed escape ${path} is INVALID_ARGUMENT naming the variable`, () => {
      for (const template of ["/v1/{id}", "/v1/{id=**}"]) {
        assert.throws(
          () => matchTemplate(compileTemplate(template), path),
          (e: unknown) => e instanceof GatewayError && e.code === 3 && /path variable "id"/.test(e.message),
        );
      }
    });
  }
});

// --- property: expanding a template with values (client side, per the spec's encoding rules) and
// matching the resulting path gives the values back ---

const arbName = fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/);
const arbText = fc.string({
  minLength: 1,
  maxLength: 6,
  unit: fc.constantFrom(..."aZ9-._~ :/?#%+é€".split("")),
});
type Part = { kind: "lit"; text: string } | { kind: "var"; name: string; shape: "single" | "multi" | "deep" };

describe("property: expand then match returns the values", () => {
  it("for generated templates and values", () => {
    const arbParts = fc
      .array(
        fc.oneof(
          arbName.map((text): Part => ({ kind: "lit", text })),
          fc.constant<"var">("var"),
        ),
        {
          minLength: 1,
          maxLength: 5,
        },
      )
      .chain((kinds) =>
        fc.tuple(
          fc.constant(kinds),
          fc.uniqueArray(arbName, { minLength: kinds.length, maxLength: kinds.length }),
          fc.array(fc.constantFrom("single", "multi", "deep"), {
            minLength: kinds.length,
            maxLength: kinds.length,
          }),
        ),
      )
      .map(([kinds, names, shapes]) =>
        kinds.map((k, i): Part => {
          if (typeof k !== "string") return k;
          const last = i === kinds.length - 1;
          const shape = shapes[i] === "deep" && !last ? "multi" : (shapes[i] as "single" | "multi" | "deep");
          return { kind: "var", name: `v_${names[i]}`, shape };
        }),
      );
    fc.assert(
      fc.property(arbParts, fc.array(arbText, { minLength: 15, maxLength: 15 }), (parts, texts) => {
        const template: string[] = [];
        const path: string[] = [];
        const expected: Record<string, string> = {};
        parts.forEach((p, i) => {
          if (p.kind === "lit") {
            template.push(p.text);
            path.push(p.text);
            return;
          }
          const a = texts[i * 2] as string;
          const b = (texts[i * 2 + 1] as string).replaceAll("/", "") || "b";
          if (p.shape === "single") {
            // Single-segment: everything but [-_.~0-9a-zA-Z] is percent-encoded; decoded in full.
            template.push(`{${p.name}}`);
            path.push(encodeURIComponent(a));
            expected[p.name] = a;
          } else {
            // Multi-segment: "/" separates segments; a "/" inside a segment stays %2F after decoding.
            const seg = (s: string) => encodeURIComponent(s);
            template.push(p.shape === "multi" ? `{${p.name}=x/*}` : `{${p.name}=**}`);
            path.push(`x/${seg(b)}`);
            expected[p.name] = `x/${b}`;
          }
        });
        const params = matchTemplate(compileTemplate(`/${template.join("/")}`), `/${path.join("/")}`);
        assert.ok(params, `/${template.join("/")} should match /${path.join("/")}`);
        assert.deepEqual(Object.fromEntries(params.map((p) => [p.name, p.value])), expected);
      }),
      { numRuns: 500 },
    );
  });
});
