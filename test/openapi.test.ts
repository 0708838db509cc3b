import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import { Ajv2020 } from "ajv/dist/2020.js";
import protobuf from "protobufjs";
import type { CatalogMethod, CatalogSnapshot } from "../src/catalog/catalog.js";
import { DEFAULT_JSON_OPTIONS } from "../src/codec/codec.js";
import { buildOpenApiDocument } from "../src/docs/document.js";
import { createRouteTable } from "../src/router/index.js";
import {
  createMutableRegistry,
  type GatewayHarness,
  postJson,
  startGatewayHarness,
  startProtoBackend,
} from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

const LIBRARY = "acme.library.v1.LibraryService";
// biome-ignore lint/suspicious/noExplicitAny: the document is walked freely in assertions
type Doc = Record<string, any>;

/**
 * The official OpenAPI 3.1 JSON Schema (see test/fixtures-data/README.md). Its `$dynamicRef: "#meta"`
 * points at `#/$defs/schema` (the only `meta` anchor in the document); ajv 8 mis-resolves that dynamic
 * scope under `unevaluatedProperties`, so the reference is made static, which means the same here.
 */
const OAS_SCHEMA = JSON.parse(
  readFileSync(new URL("./fixtures-data/openapi-3.1-schema.json", import.meta.url), "utf8").replaceAll(
    '"$dynamicRef": "#meta"',
    '"$ref": "#/$defs/schema"',
  ),
) as Record<string, unknown>;

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // The formats the OAS schema uses (ajv-formats is not a dependency): checks good enough for a test.
  ajv.addFormat("uri", /^[a-z][a-z0-9+.-]*:/i);
  ajv.addFormat("uri-reference", /^\S*$/);
  ajv.addFormat("media-range", /^[\w.+*-]+\/[\w.+*-]+/);
  ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)) && /T/.test(s));
  for (const format of ["int32", "int64", "uint32", "uint64", "double", "float", "byte"])
    ajv.addFormat(format, true);
  return ajv;
}

/** Validates `value` against a component of `doc` (the document is registered as a schema resource). */
function validator(doc: Doc): (ref: string, value: unknown) => string[] {
  const ajv = newAjv();
  ajv.addSchema({ ...doc, $id: "openapi.json" } as object);
  return (ref, value) => {
    const validate = ajv.getSchema(`openapi.json${ref}`);
    assert.ok(validate, `no schema at ${ref}`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

const schemaRef = (name: string) => `#/components/schemas/${name}`;

describe("GET /openapi.json", () => {
  let h: GatewayHarness;
  let doc: Doc;
  before(async () => {
    h = await startGatewayHarness();
    const response = await fetch(`${h.publicUrl}/openapi.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    doc = (await response.json()) as Doc;
  });
  after(() => h.close());

  test("is a valid OpenAPI 3.1 document whose schemas compile as JSON Schema 2020-12", () => {
    const validate = newAjv().compile(OAS_SCHEMA);
    assert.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 1));
    assert.equal(doc.openapi, "3.1.0");
    // The check has teeth: a wrong document fails it.
    const path = `/${LIBRARY}/GetBook`;
    assert.equal(validate({ ...doc, info: { title: "no version" } }), false);
    assert.equal(
      validate({ ...doc, paths: { [path]: { post: { ...doc.paths[path].post, bogus: 1 } } } }),
      false,
    );
    const check = validator(doc);
    for (const name of Object.keys(doc.components.schemas)) check(schemaRef(name), {});
  });

  test("has the default POST route of every method and every REST binding", () => {
    for (const method of h.gateway.schemaSync.current().methodsByPath.values()) {
      const op = doc.paths[method.path]?.post;
      assert.ok(op, method.path);
      assert.equal(op.operationId, method.fullName);
      assert.deepEqual(op.tags, [method.service]);
    }
    const rest: Array<[string, string]> = [
      ["get", "/v1/shelves"],
      ["post", "/v1/shelves"],
      ["get", "/v1/shelves/{shelf_id}"],
      ["delete", "/v1/shelves/{shelf_id}"],
      ["get", "/v1/shelves/{shelf}/books"],
      ["post", "/v1/shelves/{shelf}/books"],
      ["get", "/v1/shelves/{shelf}/books/{book}"],
      ["get", "/v2/shelves/{shelf}/books/{book}"],
      ["delete", "/v1/shelves/{shelf}/books/{book}"],
      ["patch", "/v1/shelves/{shelf}/books/{book}"],
      ["post", "/v1/shelves/{shelf}/books/{book}:checkout"],
      ["get", "/v1/shelves/{shelf}/books:stream"],
      ["post", "/v1/books:import"],
    ];
    for (const [verb, path] of rest) assert.ok(doc.paths[path]?.[verb], `${verb} ${path}`);
  });

  test("describes path and query parameters of REST routes", () => {
    const getShelf = doc.paths["/v1/shelves/{shelf_id}"].get;
    assert.deepEqual(
      getShelf.parameters.map((p: Doc) => [p.name, p.in, p.required]),
      [["shelf_id", "path", true]],
    );
    // int64 path variable: a decimal string.
    assert.equal(getShelf.parameters[0].schema.type, "string");
    const listBooks = doc.paths["/v1/shelves/{shelf}/books"].get;
    assert.deepEqual(
      listBooks.parameters.map((p: Doc) => [p.name, p.in]),
      [
        ["shelf", "path"],
        ["pageSize", "query"],
        ["genre", "query"],
        ["tags", "query"],
      ],
    );
    const tags = listBooks.parameters.find((p: Doc) => p.name === "tags");
    assert.deepEqual([tags.schema.type, tags.explode], ["array", true]);
    // body "shelf": the body is the Shelf, not the request message; no query parameter repeats it.
    const createShelf = doc.paths["/v1/shelves"].post;
    assert.equal(
      createShelf.requestBody.content["application/json"].schema.$ref,
      schemaRef("acme.library.v1.Shelf"),
    );
    assert.equal(createShelf.parameters, undefined);
    // body "*" with a path variable: the body holds the other fields only.
    const checkout = doc.paths["/v1/shelves/{shelf}/books/{book}:checkout"].post;
    assert.deepEqual(Object.keys(checkout.requestBody.content["application/json"].schema.properties), [
      "reader",
    ]);
    // response_body "book": the 200 response is the Book.
    assert.equal(
      checkout.responses["200"].content["application/json"].schema.$ref,
      schemaRef("acme.library.v1.Book"),
    );
    // patch with `book.name` in the path: the rest of `book` is the body; update_mask is a query parameter.
    const update = doc.paths["/v1/shelves/{shelf}/books/{book}"].patch;
    assert.deepEqual(
      update.parameters.map((p: Doc) => p.name),
      ["shelf", "book", "updateMask"],
    );
  });

  test("errors are google.rpc.Status; streaming methods answer NDJSON", () => {
    for (const item of Object.values(doc.paths) as Doc[]) {
      for (const op of Object.values(item) as Doc[])
        assert.deepEqual(op.responses.default, { $ref: "#/components/responses/Error" });
    }
    const status = doc.components.schemas["google.rpc.Status"];
    assert.deepEqual(Object.keys(status.properties), ["code", "message", "details"]);
    const stream = doc.paths[`/${LIBRARY}/StreamBooks`].post.responses["200"].content["application/x-ndjson"];
    assert.equal(stream.schema.properties.result.$ref, schemaRef("acme.library.v1.Book"));
    assert.ok(doc.paths[`/${LIBRARY}/ImportBooks`].post.requestBody.content["application/x-ndjson"]);
  });

  test("carries proto comments as descriptions (methods, services, messages, fields)", () => {
    assert.equal(
      doc.paths[`/${LIBRARY}/GetBook`].post.description,
      "Returns one book by resource name, or NOT_FOUND.",
    );
    assert.deepEqual(
      doc.tags.find((t: Doc) => t.name === LIBRARY),
      {
        name: LIBRARY,
        description: "Manages shelves and the books on them.",
      },
    );
    const book = doc.components.schemas["acme.library.v1.Book"];
    assert.equal(book.description, "A book on a shelf.");
    assert.equal(book.properties.title.description, "The book's title.");
  });

  test("schemas describe the proto3 JSON the gateway really answers", async () => {
    const check = validator(doc);
    const book = await postJson(`${h.publicUrl}/${LIBRARY}/GetBook`, { name: "shelves/1/books/1" });
    assert.equal(book.status, 200);
    assert.deepEqual(check(schemaRef("acme.library.v1.Book"), book.body), []);
    const books = await fetch(`${h.publicUrl}/v1/shelves/1/books?genre=GENRE_FICTION`);
    assert.equal(books.status, 200);
    assert.deepEqual(check(schemaRef("acme.library.v1.ListBooksResponse"), await books.json()), []);
    const users = await postJson(`${h.publicUrl}/acme.user.v1.UserService/ListUsers`, {});
    assert.deepEqual(check(schemaRef("acme.user.v1.ListUsersResponse"), users.body), []);
    // 64-bit ids beyond 2^53 are strings in both the answer and the schema.
    assert.ok(
      (users.body as Doc).users.some((u: Doc) => typeof u.id === "string" && BigInt(u.id) > 2n ** 53n),
    );
    const missing = await postJson(`${h.publicUrl}/acme.user.v1.UserService/GetUser`, { id: "42" });
    assert.equal(missing.status, 404);
    assert.deepEqual(check(schemaRef("google.rpc.Status"), missing.body), []);
    // And the schema is strict enough to catch a wrong form: an int64 as a JSON number.
    assert.notDeepEqual(check(schemaRef("acme.library.v1.Book"), { id: 1 }), []);
  });

  test("is built once per catalog snapshot (same ETag, 304 on If-None-Match)", async () => {
    const first = await fetch(`${h.publicUrl}/openapi.json`);
    const etag = first.headers.get("etag");
    assert.ok(etag);
    await first.arrayBuffer();
    const again = await fetch(`${h.publicUrl}/openapi.json`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
  });
});

const EVOLVE_V1 = `syntax = "proto3";
package test.evolve;
service Evolve { rpc First(Msg) returns (Msg); }
message Msg { string text = 1; }`;
const EVOLVE_V2 = EVOLVE_V1.replace(
  "rpc First(Msg) returns (Msg);",
  "rpc First(Msg) returns (Msg); rpc Second(Msg) returns (Msg);",
).replace("string text = 1;", "string text = 1; int64 count = 2;");

describe("OpenAPI follows the catalog", () => {
  test("the document changes when a backend's schema changes", async () => {
    const echo = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, call.request);
    const v1 = await startProtoBackend({
      proto: EVOLVE_V1,
      services: { "test.evolve.Evolve": { First: echo } },
    });
    const v2 = await startProtoBackend({
      proto: EVOLVE_V2,
      services: { "test.evolve.Evolve": { First: echo, Second: echo } },
    });
    const registry = createMutableRegistry({ evolve: [v1.address] });
    const h = await startGatewayHarness({ library: false, users: false, gateway: { registry } });
    try {
      const before = (await (await fetch(`${h.publicUrl}/openapi.json`)).json()) as Doc;
      assert.ok(before.paths["/test.evolve.Evolve/First"]);
      assert.equal(before.paths["/test.evolve.Evolve/Second"], undefined);
      assert.deepEqual(Object.keys(before.components.schemas["test.evolve.Msg"].properties), ["text"]);

      registry.set("evolve", [v2.address]); // a redeploy with a new schema
      const after = await waitFor(async () => {
        const d = (await (await fetch(`${h.publicUrl}/openapi.json`)).json()) as Doc;
        return d.paths["/test.evolve.Evolve/Second"] ? d : undefined;
      });
      assert.notEqual(after.info.version, before.info.version);
      assert.deepEqual(Object.keys(after.components.schemas["test.evolve.Msg"].properties), [
        "text",
        "count",
      ]);
      const validate = newAjv().compile(OAS_SCHEMA);
      assert.ok(validate(after), JSON.stringify(validate.errors?.slice(0, 3)));
    } finally {
      await h.close();
      await v1.close();
      await v2.close();
    }
  });

  test("--docs=false leaves /openapi.json and /docs to the gateway (404)", async () => {
    const h = await startGatewayHarness({ users: false, gateway: { docs: false } });
    try {
      for (const path of ["/openapi.json", "/docs"]) {
        const r = await fetch(`${h.publicUrl}${path}`);
        assert.equal(r.status, 404, path);
        assert.equal(((await r.json()) as Doc).code, 5);
      }
    } finally {
      await h.close();
    }
  });
});

describe("proto3 JSON schemas", () => {
  const root = new protobuf.Root();
  for (const file of Object.keys(protobuf.common).filter((k) => k.endsWith(".proto")))
    root.addJSON(protobuf.common.get(file)!.nested!);
  protobuf.parse(
    `syntax = "proto3";
    package t;
    // Kinds of things.
    enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
    // Everything at once.
    message All {
      int64 big = 1; uint64 ubig = 2; fixed64 fixed = 3; int32 small = 4; double ratio = 5; bytes blob = 6;
      Kind kind = 7; map<int64, string> by_id = 8; repeated All children = 9; optional string nick = 10;
      oneof choice { string word = 11; int32 number = 12; }
      google.protobuf.Timestamp at = 20; google.protobuf.Duration took = 21; google.protobuf.FieldMask mask = 22;
      google.protobuf.Struct st = 23; google.protobuf.Value val = 24; google.protobuf.Int64Value wbig = 25;
      google.protobuf.BoolValue wflag = 26; google.protobuf.Any any = 27; google.protobuf.Empty empty = 28;
      google.protobuf.ListValue list = 29; google.protobuf.NullValue nothing = 30;
    }
    service S { rpc Do(All) returns (google.protobuf.Empty); }`,
    root,
    { keepCase: true },
  );
  root.resolveAll();
  const all = root.lookupType("t.All");
  const method = {
    fullName: "t.S.Do",
    service: "t.S",
    name: "Do",
    path: "/t.S/Do",
    backend: "t",
    kind: "unary",
    requestType: all,
    responseType: root.lookupType("google.protobuf.Empty"),
    jsonOptions: DEFAULT_JSON_OPTIONS,
    httpRules: [],
    instances: [],
    description: undefined,
  } as unknown as CatalogMethod;
  const snapshot = {
    generation: 1,
    builtAt: 0,
    methodsByPath: new Map([[method.path, method]]),
    serviceBackends: new Map(),
    instances: new Map(),
    routes: createRouteTable<CatalogMethod>([]),
    problems: [],
    routeProblems: [],
  } as CatalogSnapshot;
  const comments = new Map([
    ["t.All", "Everything at once."],
    ["t.All.big", "A big number."],
  ]);
  const doc = buildOpenApiDocument({ snapshot, restRoutes: [], comments: (n) => comments.get(n) }) as Doc;
  const check = validator(doc);
  const ref = schemaRef("t.All");

  test("accepts the canonical JSON of every field kind and well-known type", () => {
    const good = {
      big: "-9223372036854775808",
      ubig: "18446744073709551615",
      fixed: "1",
      small: 3,
      ratio: "NaN",
      blob: "AAEC",
      kind: "KIND_A",
      byId: { "-5": "minus five" },
      children: [{ kind: 1 }],
      nick: "",
      word: "w",
      at: "2024-05-01T12:00:00.5Z",
      took: "1.5s",
      mask: "a.b,c",
      st: { any: ["json"] },
      val: [1, "two", null],
      wbig: null,
      wflag: true,
      any: { "@type": "type.googleapis.com/t.All", big: "1" },
      empty: {},
      list: [1, { a: 2 }],
      nothing: null,
    };
    assert.deepEqual(check(ref, good), []);
  });

  test("rejects the forms proto3 JSON does not produce", () => {
    const bad: Array<[string, unknown]> = [
      ["int64 as a number", { big: 5 }],
      ["unknown enum name", { kind: "KIND_B" }],
      ["two members of a oneof", { word: "w", number: 1 }],
      ["a non-integer map key", { byId: { x: "y" } }],
      ["a malformed duration", { took: "90" }],
      ["Any without @type", { any: { big: "1" } }],
      ["an unknown field", { nope: 1 }],
    ];
    for (const [what, value] of bad) assert.notDeepEqual(check(ref, value), [], what);
  });

  test("describes enums, oneofs and comments", () => {
    const schema = doc.components.schemas["t.All"];
    assert.equal(schema.properties.big.description, "A big number.");
    assert.match(
      schema.description,
      /^Everything at once\.\n\nOneof `choice`: at most one of `word`, `number`\.$/,
    );
    assert.match(schema.properties.word.description, /oneof `choice`/);
    assert.equal(schema.properties.nick.description, undefined, "proto3 optional is not a oneof to the user");
    assert.deepEqual(doc.components.schemas["t.Kind"].enum, ["KIND_UNSPECIFIED", "KIND_A", 0, 1]);
    assert.deepEqual(schema.properties.blob, { type: "string", format: "byte", contentEncoding: "base64" });
    assert.deepEqual(schema.properties.children.items, { $ref: ref });
  });
});
