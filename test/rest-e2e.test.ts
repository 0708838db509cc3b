import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { createGateway, type RunningGateway } from "../src/index.js";
import { packagePath } from "../src/package-paths.js";

/**
 * Issue 5 end to end: the demo library's google.api.http routes, read from exact reflected descriptors,
 * and the same routes from an HTTP rules file against a backend whose reflection drops the options.
 */

async function request(base: string, verb: string, path: string, body?: unknown) {
  const init: RequestInit = { method: verb };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

for (const variant of ["exact descriptors", "rules file + lossy reflection"] as const) {
  describe(`REST routes (${variant})`, () => {
    let library: RunningBackend;
    let gateway: RunningGateway;
    let base: string;

    before(async () => {
      library = await startLibraryBackend({
        reflection: variant === "exact descriptors" ? "exact" : "stock",
      });
      gateway = await createGateway({
        port: 0,
        host: "127.0.0.1",
        adminPort: 0,
        backends: [{ name: "library", address: library.address }],
        refreshIntervalMs: 0,
        httpRulesFile:
          variant === "exact descriptors" ? undefined : packagePath("fixtures", "http-rules", "library.yaml"),
        logger: pino({ level: "silent" }),
      });
      base = (await gateway.start()).publicUrl;
    });
    after(async () => {
      await gateway.close();
      await library.close();
    });

    test("GET with a path variable into an int64 field", async () => {
      const r = await request(base, "GET", "/v1/shelves/1");
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, "1");
    });

    test("GET with a multi-segment path variable and query parameters (enum by name, repeated)", async () => {
      const all = await request(base, "GET", "/v1/shelves/1/books");
      assert.equal(all.status, 200, all.text);
      assert.ok(all.json.books.length >= 2);
      const fiction = await request(base, "GET", "/v1/shelves/1/books?genre=GENRE_FICTION&page_size=10");
      assert.equal(fiction.status, 200, fiction.text);
      assert.ok(fiction.json.books.length >= 1);
      assert.ok(fiction.json.books.every((b: { genre: string }) => b.genre === "GENRE_FICTION"));
      const request0 = library.calls.at(-1);
      assert.equal(request0?.path, "/acme.library.v1.LibraryService/ListBooks");
    });

    test("GET by name, and through additional_bindings", async () => {
      const v1 = await request(base, "GET", "/v1/shelves/1/books/1");
      assert.equal(v1.status, 200, v1.text);
      const v2 = await request(base, "GET", "/v2/shelves/1/books/1");
      assert.equal(v2.status, 200, v2.text);
      assert.deepEqual(v2.json, v1.json);
    });

    test('POST with body "*" and a path variable; POST with body field', async () => {
      const shelf = await request(base, "POST", "/v1/shelves", { theme: "Poetry" });
      assert.equal(shelf.status, 200, shelf.text);
      assert.equal(shelf.json.theme, "Poetry");
      const book = await request(base, "POST", `/v1/shelves/${shelf.json.id}/books`, {
        book: { title: "Leaves of Grass", genre: "GENRE_FICTION" },
      });
      assert.equal(book.status, 200, book.text);
      assert.equal(book.json.name.startsWith(`shelves/${shelf.json.id}/books/`), true);
    });

    test("PATCH with a body field and the path binding a nested field", async () => {
      const r = await request(base, "PATCH", "/v1/shelves/1/books/2", { title: "Renamed" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.name, "shelves/1/books/2");
      assert.equal(r.json.title, "Renamed");
    });

    test("DELETE, then the resource is gone (404)", async () => {
      const created = await request(base, "POST", "/v1/shelves/2/books", { book: { title: "Ephemeral" } });
      assert.equal(created.status, 200, created.text);
      const deleted = await request(base, "DELETE", `/v1/${created.json.name}`);
      assert.equal(deleted.status, 200, deleted.text);
      assert.deepEqual(deleted.json, {});
      const gone = await request(base, "GET", `/v1/${created.json.name}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.json.code, 5);
    });

    test("custom verb with response_body: the body is the selected field", async () => {
      const r = await request(base, "POST", "/v1/shelves/1/books/1:checkout", { reader: "ada" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.name, "shelves/1/books/1");
      assert.equal(r.json.dueTime, undefined, "only the `book` field is returned");
    });

    test("wrong HTTP method on a known path is 405 with Allow", async () => {
      const r = await request(base, "PUT", "/v1/shelves/1");
      assert.equal(r.status, 405);
      assert.match(r.headers.get("allow") ?? "", /GET/);
      assert.match(r.headers.get("allow") ?? "", /DELETE/);
    });

    test("an unknown query parameter is 400 naming it; a repeated singular one too", async () => {
      const unknown = await request(base, "GET", "/v1/shelves/1/books?colour=red");
      assert.equal(unknown.status, 400);
      assert.match(unknown.json.message, /colour/);
      const twice = await request(base, "GET", "/v1/shelves/1/books?page_size=1&page_size=2");
      assert.equal(twice.status, 400);
      assert.match(twice.json.message, /page_size/);
    });

    test("a path value that does not convert is 400", async () => {
      const r = await request(base, "GET", "/v1/shelves/abc");
      assert.equal(r.status, 400);
      assert.match(r.json.message, /shelf_id/);
    });

    test("a path with malformed percent-encoding is 400 with the Status body", async () => {
      const r = await request(base, "GET", "/v1/shelves/%zz");
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 3);
      assert.match(r.json.message, /percent-encoding/);
      assert.deepEqual(r.json.details, []);
    });

    test("an unknown REST path is 404", async () => {
      const r = await request(base, "GET", "/v1/nothing/here");
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 5);
    });
  });
}
