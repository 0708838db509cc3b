import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { type RunningBackend, startLibraryBackend, startUserBackend } from "../fixtures/backends.js";
import { createGateway, type RunningGateway } from "../src/index.js";
import { createLogCapture } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 2 end to end: real HTTP → real gateway → real gRPC servers with real reflection, on free ports.
 */

interface Harness {
  gateway: RunningGateway;
  url: string;
  adminUrl: string;
  logs: Array<Record<string, unknown>>;
}

async function startGateway(backends: Array<{ name: string; address: string }>): Promise<Harness> {
  const { stream, capture } = createLogCapture();
  const logs = capture.lines;
  const gateway = await createGateway({
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    backends,
    refreshIntervalMs: 0,
    logger: pino({ level: "debug" }, stream),
  });
  const { publicUrl, adminUrl } = await gateway.start();
  return { gateway, url: publicUrl, adminUrl, logs };
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

const LIB = "/acme.library.v1.LibraryService";
const USERS = "/acme.user.v1.UserService";

describe("unary transcoding against the demo backends", () => {
  let library: RunningBackend;
  let users: RunningBackend;
  let h: Harness;

  before(async () => {
    library = await startLibraryBackend();
    users = await startUserBackend();
    h = await startGateway([
      { name: "library", address: library.address },
      { name: "users", address: users.address },
    ]);
  });
  after(async () => {
    await h.gateway.close();
    await Promise.all([library.close(), users.close()]);
  });

  test("both demo backends are discovered through reflection", async () => {
    const response = await fetch(`${h.adminUrl}/admin/backends`);
    const body = (await response.json()) as {
      backends: Array<{ name: string; instances: Array<{ reflectionVersion: string; services: string[] }> }>;
    };
    const byName = new Map(body.backends.map((b) => [b.name, b.instances[0]]));
    assert.deepEqual(byName.get("library")?.services, ["acme.library.v1.LibraryService"]);
    assert.deepEqual(byName.get("users")?.services, ["acme.user.v1.UserService"]);
    assert.equal(byName.get("library")?.reflectionVersion, "v1");
  });

  test("exact descriptors: int64 as string, enum names, timestamps in RFC 3339", async () => {
    const r = await post(
      `${h.url}${LIB}/GetBook`,
      JSON.stringify({ name: "shelves/2/books/9007199254740993" }),
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(r.json.id, "9007199254740993");
    assert.match(r.json.genre, /^GENRE_/);
    assert.match(r.json.createTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  test("lossy stock @grpc/reflection descriptors: the same mapping works", async () => {
    const r = await post(`${h.url}${USERS}/GetUser`, JSON.stringify({ id: "9007199254740993" }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, "9007199254740993");
    assert.equal(r.json.role, "ROLE_ADMIN");
    assert.equal(r.json.displayName, "Grace Hopper");
  });

  test("a request reaches the backend with the JSON values encoded", async () => {
    const created = await post(
      `${h.url}${LIB}/CreateBook`,
      JSON.stringify({
        parent: "shelves/1",
        book: { title: "Dune", genre: "GENRE_FICTION", pages: 412, tags: ["sf"] },
      }),
    );
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.title, "Dune");
    assert.equal(created.json.pages, 412);
    const fetched = await post(`${h.url}${LIB}/GetBook`, JSON.stringify({ name: created.json.name }));
    assert.equal(fetched.status, 200);
    assert.equal(fetched.json.title, "Dune");
    assert.deepEqual(fetched.json.tags, ["sf"]);
  });

  test("an empty body is the empty message", async () => {
    const r = await post(`${h.url}${LIB}/ListShelves`, "");
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.shelves));
  });

  test("a backend NOT_FOUND is 404 with the google.rpc.Status body", async () => {
    const r = await post(`${h.url}${USERS}/GetUser`, JSON.stringify({ id: "42" }));
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 5);
    assert.match(r.json.message, /42/);
    assert.deepEqual(r.json.details, []);
  });

  test("malformed JSON is 400 INVALID_ARGUMENT", async () => {
    const r = await post(`${h.url}${LIB}/GetBook`, '{"name": ');
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 3);
    assert.match(r.json.message, /JSON/i);
  });

  test("a value of the wrong type is 400 naming the field", async () => {
    const r = await post(`${h.url}${LIB}/CreateBook`, JSON.stringify({ book: { pages: "many" } }));
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 3);
    assert.match(r.json.message, /pages/);
  });

  test("an unknown field is 400 naming it", async () => {
    const r = await post(`${h.url}${LIB}/GetBook`, JSON.stringify({ nmae: "shelves/1/books/1" }));
    assert.equal(r.status, 400);
    assert.match(r.json.message, /nmae/);
  });

  test("unknown method of a known service is 404", async () => {
    const r = await post(`${h.url}${LIB}/BurnBooks`, "{}");
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 5);
    assert.match(r.json.message, /BurnBooks/);
  });

  test("unknown service is 404", async () => {
    const r = await post(`${h.url}/acme.nope.v1.Nothing/Get`, "{}");
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 5);
  });

  test("a default route called with GET is 405 with Allow", async () => {
    const response = await fetch(`${h.url}${LIB}/ListShelves`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    assert.equal(((await response.json()) as { code: number }).code, 12);
  });

  test("a body that is not JSON is 415", async () => {
    const r = await post(`${h.url}${LIB}/ListShelves`, "name=x", {
      "content-type": "application/x-www-form-urlencoded",
    });
    assert.equal(r.status, 415);
    assert.equal(r.json.code, 3);
  });

  test("a body over the limit is 413", async () => {
    const big = JSON.stringify({ parent: "shelves/1", book: { title: "x".repeat(5 * 1024 * 1024) } });
    const r = await post(`${h.url}${LIB}/CreateBook`, big);
    assert.equal(r.status, 413);
    assert.equal(r.json.code, 8);
  });

  test("the reflection service itself is never routed", async () => {
    const r = await post(`${h.url}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo`, "{}");
    assert.equal(r.status, 404);
  });

  test("X-Request-Id is echoed, or generated when absent", async () => {
    const given = await post(`${h.url}${LIB}/ListShelves`, "{}", { "x-request-id": "req-123" });
    assert.equal(given.headers.get("x-request-id"), "req-123");
    const generated = await post(`${h.url}${LIB}/ListShelves`, "{}");
    assert.match(generated.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });
});

describe("reflection variants and failures", () => {
  test("a v1alpha-only server is discovered through the fallback", async () => {
    const library = await startLibraryBackend({ reflection: "v1alpha-only" });
    const h = await startGateway([{ name: "library", address: library.address }]);
    try {
      const r = await post(`${h.url}${LIB}/GetShelf`, JSON.stringify({ shelfId: "1" }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, "1");
      const admin = (await (await fetch(`${h.adminUrl}/admin/backends`)).json()) as {
        backends: Array<{ instances: Array<{ reflectionVersion: string }> }>;
      };
      assert.equal(admin.backends[0]?.instances[0]?.reflectionVersion, "v1alpha");
    } finally {
      await h.gateway.close();
      await library.close();
    }
  });

  test("a server without reflection: clear log line, 404 for its routes, the others keep working", async () => {
    const dark = await startLibraryBackend({ reflection: "none" });
    const users = await startUserBackend();
    const h = await startGateway([
      { name: "dark", address: dark.address },
      { name: "users", address: users.address },
    ]);
    try {
      const r = await post(`${h.url}${LIB}/ListShelves`, "{}");
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 5);
      const ok = await post(`${h.url}${USERS}/ListUsers`, "{}");
      assert.equal(ok.status, 200);
      const line = h.logs.find((l) => l.backend === "dark" && /schema fetch failed/.test(String(l.msg)));
      assert.ok(line, "a log line names the backend whose reflection failed");
      assert.match(String(line.err), /reflection unavailable|UNIMPLEMENTED|not implemented/i);
      const admin = (await (await fetch(`${h.adminUrl}/admin/backends`)).json()) as {
        backends: Array<{ name: string; instances: Array<{ lastError: string | null }> }>;
      };
      assert.ok(admin.backends.find((b) => b.name === "dark")?.instances[0]?.lastError);
    } finally {
      await h.gateway.close();
      await Promise.all([dark.close(), users.close()]);
    }
  });

  test("a backend killed mid-test: 503 UNAVAILABLE, and the gateway keeps serving the rest", async () => {
    const library = await startLibraryBackend();
    const users = await startUserBackend();
    const h = await startGateway([
      { name: "library", address: library.address },
      { name: "users", address: users.address },
    ]);
    try {
      assert.equal((await post(`${h.url}${LIB}/ListShelves`, "{}")).status, 200);
      await library.close();
      const r = await waitFor(
        async () => {
          const attempt = await post(`${h.url}${LIB}/ListShelves`, "{}");
          return attempt.status === 503 ? attempt : undefined;
        },
        10_000,
        "503 from the dead backend",
      );
      assert.equal(r.json.code, 14);
      assert.doesNotMatch(r.json.message, /127\.0\.0\.1|:\d{4,5}/, "no internal address in the client error");
      const ok = await post(`${h.url}${USERS}/ListUsers`, "{}");
      assert.equal(ok.status, 200);
    } finally {
      await h.gateway.close();
      await users.close();
    }
  });
});
