import assert from "node:assert/strict";
import { describe, it } from "node:test";
import protobuf from "protobufjs";
import protojson from "protobufjs/ext/protojson.js";
import { DEFAULT_JSON_OPTIONS } from "../codec/codec.js";
import { createMessageCodec } from "../codec/json-codec.js";
import { GatewayError } from "../errors.js";
import { type BindRequestInput, bindRequest, parseQuery, validateBinding } from "./bind-request.js";
import { compileTemplate, matchTemplate } from "./compile.js";

const root = new protobuf.Root();
for (const f of ["timestamp", "wrappers", "field_mask", "duration", "struct"])
  root.addJSON(protobuf.common.get(`google/protobuf/${f}.proto`)?.nested ?? {});
protobuf.parse(
  `syntax = "proto3";
  package acme.library.v1;
  import "google/protobuf/timestamp.proto";
  import "google/protobuf/duration.proto";
  import "google/protobuf/field_mask.proto";
  import "google/protobuf/wrappers.proto";
  import "google/protobuf/struct.proto";
  enum Genre { GENRE_UNSPECIFIED = 0; FICTION = 1; SCIENCE = 2; }
  message Author { string display_name = 1; int32 age = 2; Author mentor = 3; }
  message Book {
    string name = 1; string title = 2; Author author = 3; repeated string tags = 4; Genre genre = 5;
    google.protobuf.Timestamp publish_time = 6;
  }
  message GetBookRequest { string name = 1; int64 revision = 2; Author author = 3; }
  message ListBooksRequest {
    string parent = 1; int32 page_size = 2; string page_token = 3; repeated string tags = 4;
    repeated Genre genres = 5; bool include_deleted = 6; int64 min_pages = 7; uint64 max_pages = 8;
    double rating = 9; float weight = 10; bytes cursor = 11; google.protobuf.Timestamp after = 12;
    google.protobuf.Duration max_age = 13; google.protobuf.FieldMask read_mask = 14;
    google.protobuf.Int32Value limit = 15; google.protobuf.StringValue note = 16;
    google.protobuf.BoolValue flag = 17; Author filter = 18; map<string, string> labels = 19;
    repeated Author authors = 20; string custom = 21 [json_name = "customName"]; sint64 offset = 22;
    fixed32 f32 = 23; google.protobuf.Int64Value big = 24; google.protobuf.Struct extra = 25;
    repeated int64 ids = 26; google.protobuf.UInt64Value ubig = 27;
  }
  message UpdateBookRequest { Book book = 1; google.protobuf.FieldMask update_mask = 2; }
  message CreateBookRequest { string parent = 1; Book book = 2; string book_id = 3; }`,
  root,
);
root.resolveAll();
const type = (name: string) => root.lookupType(`acme.library.v1.${name}`);
const ListBooks = type("ListBooksRequest");

function bind(
  name: string,
  template: string,
  path: string,
  rest: Partial<BindRequestInput> = {},
  ignore = false,
) {
  const pathParams = matchTemplate(compileTemplate(template), path);
  assert.ok(pathParams, `${template} should match ${path}`);
  return bindRequest(
    { type: type(name), binding: { body: "" }, pathParams, query: "", body: undefined, ...rest },
    { ignoreUnknownQueryParameters: ignore },
  );
}
const query = (q: string, ignore = false) =>
  bind("ListBooksRequest", "/v1/{parent=shelves/*}/books", "/v1/shelves/s1/books", { query: q }, ignore);
const isInvalid = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof GatewayError, String(e));
  assert.equal(e.code, 3, e.message);
  assert.match(e.message, pattern);
  return true;
};

describe("bindRequest: path variables", () => {
  it("binds simple, nested and converted variables", () => {
    assert.deepEqual(bind("GetBookRequest", "/v1/{name=books/*}", "/v1/books/b%201"), { name: "books/b 1" });
    assert.deepEqual(bind("GetBookRequest", "/v1/{name}/r/{revision}", "/v1/x/r/0042"), {
      name: "x",
      revision: "42",
    });
    assert.deepEqual(bind("GetBookRequest", "/v1/{author.display_name}", "/v1/Ann"), {
      author: { displayName: "Ann" },
    });
    assert.deepEqual(bind("GetBookRequest", "/v1/{author.mentor.age}", "/v1/7"), {
      author: { mentor: { age: 7 } },
    });
  });

  it("rejects a value that does not convert, naming the variable", () => {
    assert.throws(
      () => bind("GetBookRequest", "/v1/{revision}", "/v1/abc"),
      isInvalid(/path variable "revision".*integer/),
    );
  });

  it("reports a rule that does not fit the type as INTERNAL", () => {
    assert.throws(
      () => bind("GetBookRequest", "/v1/{nope}", "/v1/x"),
      (e: unknown) => e instanceof GatewayError && e.code === 13 && /has no field "nope"/.test(e.message),
    );
  });
});

describe("bindRequest: body mappings", () => {
  it('body "*": whole message from the body, path variables override, query not allowed', () => {
    const body = { parent: "shelves/other", page_size: 3 };
    const out = bind("ListBooksRequest", "/v1/{parent=shelves/*}/books", "/v1/shelves/s1/books", {
      binding: { body: "*" },
      body,
    });
    assert.deepEqual(out, { parent: "shelves/s1", page_size: 3 });
    assert.deepEqual(body, { parent: "shelves/other", page_size: 3 }, "the parsed body is not mutated");
    assert.throws(
      () =>
        bind("ListBooksRequest", "/v1/x", "/v1/x", {
          binding: { body: "*" },
          body: {},
          query: "page_size=1",
        }),
      isInvalid(/query parameter "page_size" is not allowed.*body: "\*"/),
    );
    assert.deepEqual(
      bind(
        "ListBooksRequest",
        "/v1/x",
        "/v1/x",
        { binding: { body: "*" }, body: {}, query: "page_size=1" },
        true,
      ),
      {},
    );
    assert.throws(
      () => bind("ListBooksRequest", "/v1/x", "/v1/x", { binding: { body: "*" }, body: [1] }),
      isInvalid(/JSON object/),
    );
  });

  it('body "book": the body is the field, path variables merge into a copy, other fields from the query', () => {
    const body = { title: "T", name: "ignored", author: { displayName: "A" } };
    const out = bind("UpdateBookRequest", "/v1/{book.name=books/*}", "/v1/books/b1", {
      binding: { body: "book" },
      body,
      query: "update_mask=title,author.display_name",
    });
    assert.deepEqual(out, {
      book: { title: "T", name: "books/b1", author: { displayName: "A" } },
      updateMask: "title,author.displayName",
    });
    assert.equal(body.name, "ignored", "the parsed body is not mutated");
    assert.throws(
      () =>
        bind("UpdateBookRequest", "/v1/{book.name=books/*}", "/v1/books/b1", {
          binding: { body: "book" },
          body,
          query: "book.title=x",
        }),
      isInvalid(/"book.title" sets book.title, which the request body \(body: "book"\) binds/),
    );
  });

  it("replaces a body key given under the other name of the same field", () => {
    const out = bind("CreateBookRequest", "/v1/{parent=shelves/*}", "/v1/shelves/s", {
      binding: { body: "*" },
      body: { parent: "x", book_id: "b", book: { publish_time: "2024-01-01T00:00:00Z" } },
    });
    assert.deepEqual(out, {
      parent: "shelves/s",
      book_id: "b",
      book: { publish_time: "2024-01-01T00:00:00Z" },
    });
  });

  it('body "": no body; empty ones are tolerated', () => {
    for (const body of [undefined, null, {}])
      assert.deepEqual(bind("GetBookRequest", "/v1/{name}", "/v1/x", { body }), { name: "x" });
    assert.throws(
      () => bind("GetBookRequest", "/v1/{name}", "/v1/x", { body: { name: "y" } }),
      isInvalid(/takes no request body/),
    );
  });
});

describe("bindRequest: query parameters", () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["page_size=10&page_token=abc", { pageSize: 10, pageToken: "abc" }],
    ["pageSize=10", { pageSize: 10 }],
    // The codec's integer rule, as in a JSON body: a sign, an exponent or ".0" with an integral value.
    ["page_size=%2B5&min_pages=1e3", { pageSize: 5, minPages: "1000" }],
    ["page_size=1.0", { pageSize: 1 }],
    ["customName=x", { customName: "x" }],
    ["custom=x", { customName: "x" }],
    ["tags=a&tags=b&tags=", { tags: ["a", "b", ""] }],
    ["genres=FICTION&genres=2&genres=-7", { genres: ["FICTION", 2, -7] }],
    ["include_deleted=true", { includeDeleted: true }],
    ["include_deleted=false", { includeDeleted: false }],
    [
      "min_pages=-9223372036854775808&max_pages=18446744073709551615",
      { minPages: "-9223372036854775808", maxPages: "18446744073709551615" },
    ],
    ["offset=-5&f32=4294967295", { offset: "-5", f32: 4294967295 }],
    ["ids=1&ids=2", { ids: ["1", "2"] }],
    ["rating=1.5e3&weight=-0.25", { rating: 1500, weight: -0.25 }],
    ["rating=NaN&weight=-Infinity", { rating: "NaN", weight: "-Infinity" }],
    ["cursor=AQID", { cursor: "AQID" }],
    ["cursor=a+b/", { cursor: "a+b/" }],
    ["cursor=a-b_", { cursor: "a-b_" }],
    ["after=2024-01-31T12:00:00.5Z", { after: "2024-01-31T12:00:00.5Z" }],
    ["max_age=1.5s", { maxAge: "1.5s" }],
    ["read_mask=display_name,author.mentor_name", { readMask: "displayName,author.mentorName" }],
    ["limit=5&note=hi&flag=true&big=123&ubig=7", { limit: 5, note: "hi", flag: true, big: "123", ubig: "7" }],
    [
      "filter.display_name=Ann&filter.age=40&filter.mentor.age=70",
      { filter: { displayName: "Ann", age: 40, mentor: { age: 70 } } },
    ],
    ["page_token=a%20b%2Bc+d", { pageToken: "a b+c d" }],
    ["page_token", { pageToken: "" }],
    ["&&page_size=1&", { pageSize: 1 }],
    ["?page_size=1", { pageSize: 1 }],
  ];
  for (const [q, expected] of cases) {
    it(q, () => assert.deepEqual(query(q), { parent: "shelves/s1", ...expected }));
  }

  const errorCases: Array<[string, RegExp]> = [
    ["nope=1", /unknown query parameter "nope": acme.library.v1.ListBooksRequest has no field "nope"/],
    ["filter.nope=1", /unknown query parameter "filter.nope": acme.library.v1.Author has no field "nope"/],
    ["page_size=1&page_size=2", /"page_size" is given more than once, but page_size is not repeated/],
    ["page_size=1&pageSize=2", /"pageSize" is given more than once/],
    [
      "page_size=abc",
      /invalid value for query parameter "page_size": expected an integer \(int32\), got "abc"/,
    ],
    ["page_size=2147483648", /out of range for int32/],
    ["page_size=1.5", /expected an integer/],
    ["max_pages=-1", /out of range for uint64/],
    ["include_deleted=1", /expected true or false/],
    ["include_deleted", /expected true or false, got ""/],
    ["rating=abc", /expected a number \(double\)/],
    ["weight=1e39", /out of range for float/],
    [
      "genres=POETRY",
      /"POETRY" is not a value of acme.library.v1.Genre \(GENRE_UNSPECIFIED, FICTION, SCIENCE\)/,
    ],
    ["cursor=a", /expected base64/],
    ["cursor=a*b", /expected base64/],
    ["after=yesterday", /expected an RFC 3339 timestamp/],
    ["max_age=5m", /expected a duration/],
    ["read_mask=a..b", /invalid field mask path/],
    ["filter=x", /Author is a message; set its fields one by one/],
    ["extra=x", /google.protobuf.Struct is a message/],
    ["labels=x", /map fields cannot be set/],
    ["labels.k=x", /ListBooksRequest.labels has no subfields/],
    ["authors.display_name=x", /ListBooksRequest.authors is repeated/],
    ["after.seconds=1", /ListBooksRequest.after has no subfields/],
    ["parent=shelves/s2", /"parent" sets parent, which the path binds/],
    ["page_token=%zz", /malformed percent-encoding in query string/],
    ["=1", /unknown query parameter "": .* has no field ""/],
  ];
  for (const [q, pattern] of errorCases) {
    it(`400: ${q}`, () => assert.throws(() => query(q), isInvalid(pattern)));
  }

  it("ignoreUnknownQueryParameters skips unknown and path-bound names, not bad values", () => {
    assert.deepEqual(query("nope=1&filter.nope=2&parent=x&page_size=3", true), {
      parent: "shelves/s1",
      pageSize: 3,
    });
    assert.throws(() => query("page_size=x", true), isInvalid(/page_size/));
  });

  it("parseQuery keeps order and repeated keys", () => {
    assert.deepEqual(parseQuery("a=1&b&a=2&c=x%3Dy"), [
      ["a", "1"],
      ["b", ""],
      ["a", "2"],
      ["c", "x=y"],
    ]);
  });
});

describe("path and query values follow the codec's scalar rules (one rule for URL and body)", () => {
  const codec = createMessageCodec(ListBooks, DEFAULT_JSON_OPTIONS);
  const accepts = (run: () => unknown): boolean => {
    try {
      run();
      return true;
    } catch (error) {
      if (error instanceof GatewayError && error.code === 3) return false;
      throw error;
    }
  };
  const cases: Array<[string, string]> = [
    ["page_size", "+5"],
    ["page_size", "1e2"],
    ["page_size", "1.0"],
    ["page_size", "1.5"],
    ["page_size", "0x10"],
    ["page_size", " 5"],
    ["page_size", "2147483648"],
    ["min_pages", "+9223372036854775807"],
    ["min_pages", "9223372036854775808"],
    ["max_pages", "-1"],
    ["rating", "+1.5"],
    ["rating", ".5"],
    ["rating", "5."],
    ["rating", "1e400"],
    ["rating", "Infinity"],
    ["weight", "3.4028235e+38"],
    ["weight", "3.5e38"],
    ["cursor", "QQ="],
    ["cursor", "QQ=="],
    ["after", "2024-02-30T00:00:00Z"],
    ["after", "2024-01-31T12:00:00+01:00"],
    ["max_age", "315576000001s"],
  ];
  for (const [field, text] of cases) {
    it(`${field}=${text}`, () => {
      const inQuery = accepts(() => codec.valueToBinary(query(`${field}=${encodeURIComponent(text)}`)));
      const inBody = accepts(() => codec.jsonToBinary(JSON.stringify({ [field]: text })));
      assert.equal(inQuery, inBody);
    });
  }
});

// protobufjs's conformance-tested ext/protojson is the reference the codec is tested against too.
describe("bindRequest output is proto3 JSON (ext/protojson reference)", () => {
  it("path + query + well-known types round-trip through protojson", () => {
    const value = query(
      "page_size=10&tags=a&tags=b&genres=FICTION&min_pages=5&after=2024-01-31T12:00:00Z&max_age=2s" +
        "&read_mask=display_name&limit=3&filter.display_name=Ann&cursor=AQID&rating=NaN&customName=c",
    );
    const bytes = ListBooks.encode(protojson.fromJson(ListBooks, value)).finish();
    const decoded = protojson.toJson(ListBooks, ListBooks.decode(bytes));
    assert.deepEqual(decoded, {
      parent: "shelves/s1",
      pageSize: 10,
      tags: ["a", "b"],
      genres: ["FICTION"],
      minPages: "5",
      rating: "NaN",
      cursor: "AQID",
      after: "2024-01-31T12:00:00Z",
      maxAge: "2s",
      readMask: "displayName",
      limit: 3,
      filter: { displayName: "Ann" },
      customName: "c",
    });
  });
});

describe("validateBinding", () => {
  it("accepts fitting rules and names the problems of others", () => {
    assert.deepEqual(
      validateBinding(type("UpdateBookRequest"), { pattern: "/v1/{book.name=books/*}", body: "book" }),
      [],
    );
    assert.deepEqual(validateBinding(ListBooks, { pattern: "/v1/{after}/{limit}", body: "*" }), []);
    assert.deepEqual(
      validateBinding(ListBooks, { pattern: "/v1/{tags}/{filter}/{nope}/{labels}", body: "missing" }),
      [
        'path variable "tags" binds a repeated or map field',
        'path variable "filter" binds a message field; bind one of its scalar fields',
        'path variable "nope": acme.library.v1.ListBooksRequest has no field "nope"',
        'path variable "labels" binds a repeated or map field',
        'body field "missing" is not a field of acme.library.v1.ListBooksRequest',
      ],
    );
    assert.match(
      validateBinding(ListBooks, { pattern: "/v1/{x", body: "" })[0] ?? "",
      /unterminated variable/,
    );
  });
});
