import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type PathTemplate,
  type PlainSegment,
  parseTemplate,
  printTemplate,
  type Segment,
  TemplateSyntaxError,
} from "./template.js";

const lit = (value: string): PlainSegment => ({ kind: "literal", value });
const star: PlainSegment = { kind: "wildcard" };
const deep: PlainSegment = { kind: "deep-wildcard" };
const v = (path: string, ...segments: PlainSegment[]): Segment => ({
  kind: "variable",
  fieldPath: path.split("."),
  segments: segments.length === 0 ? [star] : segments,
});

describe("parseTemplate: valid templates", () => {
  const cases: Array<[string, PathTemplate]> = [
    ["/", { segments: [], verb: "" }],
    ["/v1", { segments: [lit("v1")], verb: "" }],
    ["/v1/messages/{message_id}", { segments: [lit("v1"), lit("messages"), v("message_id")], verb: "" }],
    [
      "/v1/{message_id}/{sub.subfield}",
      { segments: [lit("v1"), v("message_id"), v("sub.subfield")], verb: "" },
    ],
    [
      "/v1/{name=shelves/*/books/*}",
      { segments: [lit("v1"), v("name", lit("shelves"), star, lit("books"), star)], verb: "" },
    ],
    ["/v1/{name=**}", { segments: [lit("v1"), v("name", deep)], verb: "" }],
    [
      "/v1/{name=projects/**}:undelete",
      { segments: [lit("v1"), v("name", lit("projects"), deep)], verb: "undelete" },
    ],
    ["/v1/*/**", { segments: [lit("v1"), star, deep], verb: "" }],
    ["/v1/{name}:cancel", { segments: [lit("v1"), v("name")], verb: "cancel" }],
    ["/v1/{name=*}", { segments: [lit("v1"), v("name")], verb: "" }],
    ["/v1/books:search", { segments: [lit("v1"), lit("books")], verb: "search" }],
    ["/v1/*:batchGet", { segments: [lit("v1"), star], verb: "batchGet" }],
    ["/v1/**:x", { segments: [lit("v1"), deep], verb: "x" }],
    // The verb is split at the LAST colon of the last segment; earlier colons stay in the literal.
    ["/v1/a:b:c", { segments: [lit("v1"), lit("a:b")], verb: "c" }],
    ["/v1/a:b/c", { segments: [lit("v1"), lit("a:b"), lit("c")], verb: "" }],
    ["/v1/{x=a:b/*}", { segments: [lit("v1"), v("x", lit("a:b"), star)], verb: "" }],
    [
      "/v1/a%2Fb/c=d/e@f/~g-h_i.j",
      { segments: [lit("v1"), lit("a%2Fb"), lit("c=d"), lit("e@f"), lit("~g-h_i.j")], verb: "" },
    ],
    ["/v1/{a_b.C9._d}", { segments: [lit("v1"), v("a_b.C9._d")], verb: "" }],
    ["/v1/{a}/{b}", { segments: [lit("v1"), v("a"), v("b")], verb: "" }],
  ];
  for (const [text, expected] of cases) {
    it(text, () => assert.deepEqual(parseTemplate(text), expected));
  }
});

describe("parseTemplate: invalid templates name the problem", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /must start with '\/'/],
    ["v1/books", /must start with '\/'/],
    ["//", /empty segment/],
    ["/v1/", /empty segment/],
    ["/v1//books", /empty segment/],
    ["/v1/{name=}", /empty segment/],
    ["/v1/{name=a//b}", /empty segment/],
    ["/v1/:cancel", /empty segment before the verb/],
    ["/v1/{name}:", /empty verb/],
    ["/v1/books:", /empty verb/],
    ["/v1/{name}:a/b", /verb must be the last/],
    ["/v1/{name}:a:b", /must not contain ':'/],
    ["/v1/**/books", /'\*\*' must be the last segment/],
    ["/v1/{name=**}/books", /'\*\*' must be the last segment/],
    ["/v1/{name=**/x}", /'\*\*' must be the last segment/],
    ["/v1/**/**", /'\*\*' must be the last segment/],
    ["/v1/{a={b}}", /variables cannot be nested/],
    ["/v1/{a{b}}", /variables cannot be nested/],
    ["/v1/{a}/{a}", /"a" appears twice/],
    ["/v1/{a}/{a.b}", /"a" and "a.b" overlap/],
    ["/v1/{a.b}/{a}", /"a.b" and "a" overlap/],
    ["/v1/{name", /unterminated variable/],
    ["/v1/{name=a/*", /unterminated variable/],
    ["/v1/{}", /invalid field path/],
    ["/v1/{1a}", /invalid field path/],
    ["/v1/{a..b}", /invalid field path/],
    ["/v1/{a-b}", /invalid field path/],
    ["/v1/{a}b", /unexpected 'b' after a variable/],
    ["/v1/a b", /invalid character " "/],
    ["/v1/a?b", /invalid character "\?"/],
    ["/v1/a#b", /invalid character "#"/],
    ["/v1/a%2", /invalid percent-encoding/],
    ["/v1/a%zz", /invalid percent-encoding/],
    ["/v1/a*", /'\*' must be a whole segment/],
    ["/v1/***", /'\*' must be a whole segment/],
    ["/v1/a}", /unexpected '}'/],
    ["/v1/x:a b", /invalid character " " in verb/],
  ];
  for (const [text, reason] of cases) {
    it(JSON.stringify(text), () => {
      assert.throws(
        () => parseTemplate(text),
        (error: unknown) => {
          assert.ok(error instanceof TemplateSyntaxError, String(error));
          assert.match(error.reason, reason);
          assert.ok(error.message.includes(JSON.stringify(text)), "the message names the template");
          assert.ok(error.offset >= 0 && error.offset <= text.length);
          return true;
        },
      );
    });
  }
});

describe("printTemplate", () => {
  it("prints {var} for a single-* variable and the canonical form otherwise", () => {
    assert.equal(printTemplate(parseTemplate("/v1/{name=*}")), "/v1/{name}");
    assert.equal(printTemplate(parseTemplate("/v1/{name=a/**}:x")), "/v1/{name=a/**}:x");
    assert.equal(printTemplate(parseTemplate("/")), "/");
  });
});

// --- property: print ∘ parse is the identity on ASTs ---

const literalChars = "abcXYZ019-._~!$&'()+,;=@".split("");
const arbLiteralText = fc
  .array(fc.oneof(fc.constantFrom(...literalChars), fc.constantFrom("%2F", "%20", "%e2")), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => parts.join(""));
// Literals may hold ':' except where it would be read as the verb separator (the last segment).
const arbLiteral = (lastSegment: boolean) =>
  (lastSegment
    ? arbLiteralText
    : fc.oneof(
        arbLiteralText,
        arbLiteralText.map((s) => `${s}:${s}`),
      )
  ).map(lit);
const arbIdent = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/);

/** Segments whose `**` (if any) is last; `last` says whether they end the whole template. */
function arbPlainSegments(last: boolean): fc.Arbitrary<PlainSegment[]> {
  return fc
    .tuple(
      fc.array(fc.oneof(arbLiteral(false), fc.constant(star)), { maxLength: 3 }),
      fc.oneof(arbLiteral(last), fc.constant(star), fc.constant(last ? deep : star)),
    )
    .map(([head, tail]) => [...head, tail]);
}

const arbTemplate: fc.Arbitrary<PathTemplate> = fc
  .tuple(
    fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
    fc.uniqueArray(arbIdent, { minLength: 5, maxLength: 5 }),
  )
  .chain(([isVariable, names]) =>
    fc
      .tuple(
        ...isVariable.map((variable, i) => {
          const last = i === isVariable.length - 1;
          if (!variable) return arbPlainSegments(last);
          // Unique single-identifier names never overlap.
          return arbPlainSegments(last).map((segments): Segment[] => [
            { kind: "variable", fieldPath: [names[i] as string], segments },
          ]);
        }),
      )
      .chain((groups) =>
        fc.oneof(fc.constant(""), arbIdent).map((verb): PathTemplate => ({ segments: groups.flat(), verb })),
      ),
  );

describe("property: parse(print(ast)) equals ast", () => {
  it("for generated templates", () => {
    fc.assert(
      fc.property(arbTemplate, (ast) => {
        assert.deepEqual(parseTemplate(printTemplate(ast)), ast);
      }),
      { numRuns: 500 },
    );
  });

  it("for any string that parses, printing and reparsing is stable", () => {
    const alphabet = fc.constantFrom(..."/{}=*.:ab_%2F".split(""));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 16 }), (chars) => {
        const text = `/${chars.join("")}`;
        let ast: PathTemplate;
        try {
          ast = parseTemplate(text);
        } catch (error) {
          assert.ok(error instanceof TemplateSyntaxError);
          return;
        }
        assert.deepEqual(parseTemplate(printTemplate(ast)), ast);
      }),
      { numRuns: 2000 },
    );
  });
});
