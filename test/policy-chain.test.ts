import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import type { RunningBackend } from "../fixtures/backends.js";
import { startInventoryBackend } from "../fixtures/inventory.js";
import { type GatewayHarness, startGatewayHarness } from "./helpers/gateway-harness.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 15, the chain's runtime end to end: real grpc backends, a real gateway, static policy and consumer
 * documents (revision 1). Each of ip-restriction, api-key, authorize and request-transform allows and
 * refuses; the phases run in order; streams and WebSocket upgrades pass the same chain; metadata a
 * transform sets cannot be spoofed; a method discovered later gets its selectors' policies; operators see
 * the chains, decisions and callers; and methods no policy selects behave as before.
 */

const LIB = "/acme.library.v1.LibraryService";
const USERS = "/acme.user.v1.UserService";
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");

const CONSUMERS = [
  { name: "partner", apiKeys: [{ sha256: sha256("k-partner") }], labels: { tier: "gold" } },
  { name: "basic", apiKeys: [{ sha256: sha256("k-basic") }], labels: { tier: "free" } },
  { name: "plain", apiKeys: [{ sha256: sha256("k-plain") }] },
];

const POLICIES = [
  // Listed out of order on purpose: the chain is sorted by phase, priority, name.
  {
    name: "lib-user",
    type: "request-transform",
    match: { backends: ["library"] },
    config: {
      setMetadata: { "x-consumer": "{consumer.name}", "x-tier": "tier-{consumer.labels.tier}" },
      removeHeaders: ["x-api-key"],
    },
  },
  {
    name: "lib-gold",
    type: "authorize",
    match: { methods: ["acme.library.v1.LibraryService/GetShelf"] },
    config: { consumers: ["partner"] },
  },
  {
    name: "lib-key",
    type: "api-key",
    match: { backends: ["library"] },
    config: { query: "api_key" },
  },
  {
    // Allows everything here; its RateLimit-* headers show response headers on every kind of answer.
    name: "stream-limit",
    type: "rate-limit",
    match: { methods: ["acme.library.v1.LibraryService/StreamBooks"] },
    config: { limit: 1000, window: "1m", key: ["consumer"] },
  },
  {
    name: "users-no-loopback",
    type: "ip-restriction",
    match: { methods: ["acme.user.v1.UserService/GetUser"] },
    config: { deny: ["127.0.0.0/8", "::1/128"] },
  },
  {
    name: "users-key",
    type: "api-key",
    match: { routes: [`${USERS}/GetUser`] },
    config: {},
  },
];

async function call(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

function callsTo(backend: RunningBackend, path: string) {
  return backend.calls.filter((c) => c.path === path);
}

/** Opens a WebSocket; resolves with the refusal's status or the messages and close of an accepted one. */
async function openSocket(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<
  | { refused: true; status: number; headers: Record<string, unknown>; body: string }
  | { refused: false; messages: string[]; code: number; headers: Record<string, unknown> }
> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${path}`, { headers });
  const messages: string[] = [];
  socket.on("message", (data) => messages.push(String(data)));
  return await new Promise((resolve, reject) => {
    socket.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => {
        body += String(chunk);
      });
      response.on("end", () => {
        socket.terminate();
        resolve({ refused: true, status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    let upgradeHeaders: Record<string, unknown> = {};
    socket.once("upgrade", (response) => {
      upgradeHeaders = response.headers;
    });
    socket.once("open", () => socket.send(JSON.stringify({ parent: "shelves/1", count: 2 })));
    socket.once("close", (code: number) =>
      resolve({ refused: false, messages, code, headers: upgradeHeaders }),
    );
    socket.once("error", (error) => {
      if (!String(error.message).includes("Unexpected server response")) reject(error);
    });
  });
}

describe("policy chain end to end", () => {
  let h: GatewayHarness;
  before(async () => {
    h = await startGatewayHarness({
      gateway: { policies: POLICIES, consumers: CONSUMERS, forwardHeaders: ["x-api-key"] },
    });
  });
  after(() => h.close());

  test("api-key: no key 401 with a challenge, unknown key 401, a consumer's key passes", async () => {
    const none = await post(`${h.publicUrl}${LIB}/ListShelves`, {});
    assert.equal(none.status, 401);
    assert.equal(none.body?.code, 16);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="refract"');
    const unknown = await post(`${h.publicUrl}${LIB}/ListShelves`, {}, { "x-api-key": "nope" });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body?.message, "invalid API key");
    assert.doesNotMatch(unknown.text, /nope/, "the key is never echoed");
    const before = callsTo(h.library!, `${LIB}/ListShelves`).length;
    const ok = await post(`${h.publicUrl}${LIB}/ListShelves`, {}, { "x-api-key": "k-basic" });
    assert.equal(ok.status, 200);
    assert.equal(callsTo(h.library!, `${LIB}/ListShelves`).length, before + 1, "refusals never reached it");
  });

  test("api-key in a query parameter on a REST route: consumed, not bound as a field", async () => {
    const ok = await call(`${h.publicUrl}/v1/shelves?api_key=k-basic`);
    assert.equal(ok.status, 200, ok.text);
    const bad = await call(`${h.publicUrl}/v1/shelves?api_key=wrong`);
    assert.equal(bad.status, 401);
  });

  test("authorize: the listed consumer passes, another is 403 naming the unmet rule", async () => {
    const gold = await call(`${h.publicUrl}/v1/shelves/1`, { headers: { "x-api-key": "k-partner" } });
    assert.equal(gold.status, 200, gold.text);
    const free = await call(`${h.publicUrl}/v1/shelves/1`, { headers: { "x-api-key": "k-basic" } });
    assert.equal(free.status, 403);
    assert.equal(free.body?.code, 7);
    assert.equal(free.body?.message, "denied by policy lib-gold: requires consumers [partner]");
  });

  test("phases in order: authenticate before authorize, access before authenticate", async () => {
    // GetShelf: no key is the api-key's 401, not the authorize policy's 403.
    const noKey = await call(`${h.publicUrl}/v1/shelves/1`);
    assert.equal(noKey.status, 401);
    // GetUser: the loopback client is denied by ip-restriction before api-key asks for a key.
    const denied = await post(`${h.publicUrl}${USERS}/GetUser`, { id: "1" });
    assert.equal(denied.status, 403);
    assert.equal(denied.body?.code, 7);
    assert.match(
      String(denied.body?.message),
      /client address 127\.0\.0\.1 is denied by policy users-no-loopback/,
    );
    assert.equal(callsTo(h.users!, `${USERS}/GetUser`).length, 0);
  });

  test("request-transform: metadata from the identity; the client's values for those keys are removed", async () => {
    const spoof = { "grpc-metadata-x-consumer": "admin", "grpc-metadata-x-tier": "tier-gold" };
    const basic = await post(`${h.publicUrl}${LIB}/ListShelves`, {}, { "x-api-key": "k-basic", ...spoof });
    assert.equal(basic.status, 200);
    let seen = callsTo(h.library!, `${LIB}/ListShelves`).at(-1)!.metadata;
    assert.equal(seen["x-consumer"], "basic");
    assert.equal(seen["x-tier"], "tier-free");
    assert.equal(seen["x-api-key"], undefined, "removeHeaders dropped the forwarded key");
    // A consumer with no labels: the template has no value, so the key is absent — not the spoofed one.
    const plain = await post(`${h.publicUrl}${LIB}/ListShelves`, {}, { "x-api-key": "k-plain", ...spoof });
    assert.equal(plain.status, 200);
    seen = callsTo(h.library!, `${LIB}/ListShelves`).at(-1)!.metadata;
    assert.equal(seen["x-consumer"], "plain");
    assert.equal(seen["x-tier"], undefined);
  });

  test("a method no policy selects behaves as before: no refusal, the client's metadata passes", async () => {
    const response = await post(
      `${h.publicUrl}${USERS}/ListUsers`,
      {},
      { "grpc-metadata-x-consumer": "anyone", "x-api-key": "whatever" },
    );
    assert.equal(response.status, 200);
    const seen = callsTo(h.users!, `${USERS}/ListUsers`).at(-1)!.metadata;
    assert.equal(seen["x-consumer"], "anyone");
    assert.equal(seen["x-api-key"], "whatever");
  });

  test("server streaming over NDJSON and SSE: refused before the call, allowed with a key", async () => {
    const path = `${h.publicUrl}/v1/shelves/1/books:stream?count=2`;
    const before = callsTo(h.library!, `${LIB}/StreamBooks`).length;
    const refused = await call(path);
    assert.equal(refused.status, 401);
    assert.equal(refused.body?.code, 16);
    const sseRefused = await call(path, { headers: { accept: "text/event-stream" } });
    assert.equal(sseRefused.status, 401);
    assert.equal(callsTo(h.library!, `${LIB}/StreamBooks`).length, before);

    const ndjson = await call(`${path}&api_key=k-basic`);
    assert.equal(ndjson.status, 200, ndjson.text);
    assert.equal(ndjson.text.trim().split("\n").length, 2);
    const sse = await call(path, { headers: { accept: "text/event-stream", "x-api-key": "k-basic" } });
    assert.equal(sse.status, 200);
    assert.match(sse.text, /^data: /);
    assert.match(sse.text, /event: end/);
    const seen = callsTo(h.library!, `${LIB}/StreamBooks`).at(-1)!.metadata;
    assert.equal(seen["x-consumer"], "basic", "streams get the transform's metadata too");
    // The chain's response headers: on a stream's answer, and on a backend's error after the chain.
    assert.equal(ndjson.headers.get("ratelimit-limit"), "1000");
    assert.equal(sse.headers.get("ratelimit-limit"), "1000");
    const failed = await call(`${h.publicUrl}${LIB}/StreamBooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k-basic" },
      body: JSON.stringify({ parent: "racks/1" }),
    });
    assert.equal(failed.status, 400);
    assert.equal(failed.headers.get("ratelimit-limit"), "1000");
  });

  test("client streaming: refused before the body is read, allowed with a key", async () => {
    const body = `${JSON.stringify({ parent: "shelves/1", book: { title: "A" } })}\n`;
    const headers = { "content-type": "application/x-ndjson" };
    const refused = await call(`${h.publicUrl}${LIB}/ImportBooks`, { method: "POST", headers, body });
    assert.equal(refused.status, 401);
    const ok = await call(`${h.publicUrl}${LIB}/ImportBooks`, {
      method: "POST",
      headers: { ...headers, "x-api-key": "k-partner" },
      body,
    });
    assert.equal(ok.status, 200, ok.text);
  });

  test("WebSocket: the upgrade is refused with the chain's status; with a key the stream runs", async () => {
    const refused = await openSocket(h.publicUrl, `${LIB}/StreamBooks`);
    assert.equal(refused.refused, true);
    if (refused.refused) {
      assert.equal(refused.status, 401);
      assert.equal(refused.headers["www-authenticate"], 'Bearer realm="refract"');
      assert.equal(JSON.parse(refused.body).code, 16);
    }
    const allowed = await openSocket(h.publicUrl, `${LIB}/StreamBooks?api_key=k-basic`);
    assert.equal(allowed.refused, false);
    if (!allowed.refused) {
      assert.equal(allowed.code, 1000);
      assert.equal(allowed.messages.length, 2);
      assert.equal(allowed.headers["ratelimit-limit"], "1000", "the chain's response headers are on the 101");
    }
    const seen = callsTo(h.library!, `${LIB}/StreamBooks`).at(-1)!.metadata;
    assert.equal(seen["x-consumer"], "basic");
  });

  test("/admin/routes shows each method's effective chain in order", async () => {
    const { routes } = (await (await fetch(`${h.adminUrl}/admin/routes`)).json()) as {
      routes: Array<{ pattern: string; verb: string; policies: string[] }>;
    };
    const chainOf = (verb: string, pattern: string) =>
      routes.find((r) => r.verb === verb && r.pattern === pattern)?.policies;
    assert.deepEqual(chainOf("POST", `${LIB}/GetShelf`), ["lib-key", "lib-gold", "lib-user"]);
    assert.deepEqual(chainOf("GET", "/v1/shelves/{shelf_id}"), ["lib-key", "lib-gold", "lib-user"]);
    assert.deepEqual(chainOf("POST", `${LIB}/ListShelves`), ["lib-key", "lib-user"]);
    assert.deepEqual(chainOf("POST", `${LIB}/StreamBooks`), ["lib-key", "stream-limit", "lib-user"]);
    assert.deepEqual(chainOf("POST", `${USERS}/GetUser`), ["users-no-loopback", "users-key"]);
    assert.deepEqual(chainOf("POST", `${USERS}/ListUsers`), []);
  });

  test("OpenAPI declares the api-key scheme and each operation's security", async () => {
    const doc = (await (await fetch(`${h.publicUrl}/openapi.json`)).json()) as {
      components: { securitySchemes?: Record<string, Record<string, unknown>> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    assert.deepEqual(doc.components.securitySchemes?.["lib-key"], {
      type: "apiKey",
      in: "header",
      name: "x-api-key",
      description: "or the query parameter api_key",
    });
    assert.deepEqual(doc.paths["/v1/shelves/{shelf_id}"]?.get?.security, [{ "lib-key": [] }]);
    assert.deepEqual(doc.paths[`${LIB}/ListShelves`]?.post?.security, [{ "lib-key": [] }]);
    assert.equal(doc.paths[`${USERS}/ListUsers`]?.post?.security, undefined);
  });

  test("decisions are counted per policy and outcome; the access log names the consumer, never the key", async () => {
    await post(`${h.publicUrl}${LIB}/ListShelves`, {}, { "x-api-key": "k-partner" });
    const metrics = await (await fetch(`${h.adminUrl}/metrics`)).text();
    const count = (labels: string) =>
      Number(new RegExp(`refract_policy_decisions_total\\{${labels}\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.ok(count('policy="lib-key",type="api-key",outcome="allowed"') >= 1);
    assert.ok(count('policy="lib-key",type="api-key",outcome="refused"') >= 1);
    assert.ok(count('policy="lib-gold",type="authorize",outcome="refused"') >= 1);
    assert.ok(count('policy="users-no-loopback",type="ip-restriction",outcome="refused"') >= 1);
    const line = await h.logs.waitFor(
      (l) =>
        l.msg === "request completed" &&
        l.consumer === "partner" &&
        l.rpc === "acme.library.v1.LibraryService.ListShelves",
    );
    assert.equal(line.subject, "partner");
    const refusedLine = await h.logs.waitFor(
      (l) => l.msg === "request completed" && l.status === 403 && l.consumer === "basic",
    );
    assert.equal(refusedLine.subject, "basic");
    for (const secret of ["k-partner", "k-basic", "k-plain"]) {
      assert.equal(
        h.logs.lines.some((l) => JSON.stringify(l).includes(secret)),
        false,
        `${secret} never reaches a log line`,
      );
    }
  });
});

describe("a browser reads the chain's headers", () => {
  test("RateLimit-* (and Retry-After on a 429) are listed in Access-Control-Expose-Headers", async () => {
    const limited = await startGatewayHarness({
      library: false,
      gateway: {
        corsOrigins: ["http://app.test"],
        policies: [{ name: "two", type: "rate-limit", config: { limit: 2, window: "1h", key: ["ip"] } }],
      },
    });
    try {
      const call = () =>
        fetch(`${limited.publicUrl}/acme.user.v1.UserService/GetUser`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: "http://app.test" },
          body: '{"id":"1"}',
        });
      const allowed = await call();
      await allowed.arrayBuffer();
      const exposed = (allowed.headers.get("access-control-expose-headers") ?? "").split(", ");
      for (const name of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]) {
        assert.ok(exposed.includes(name), `${name} in ${exposed.join(", ")}`);
      }
      await (await call()).arrayBuffer();
      const refused = await call();
      assert.equal(refused.status, 429);
      await refused.arrayBuffer();
      const exposedOnRefusal = (refused.headers.get("access-control-expose-headers") ?? "").split(", ");
      assert.ok(exposedOnRefusal.includes("retry-after") && exposedOnRefusal.includes("ratelimit-reset"));
    } finally {
      await limited.close();
    }
  });
});

describe("client address through --trusted-proxy", () => {
  let trusting: GatewayHarness;
  before(async () => {
    trusting = await startGatewayHarness({
      library: false,
      gateway: {
        trustedProxies: ["127.0.0.1/32", "::1/128"],
        policies: [
          {
            name: "docs-net",
            type: "ip-restriction",
            match: { backends: ["users"] },
            config: { allow: ["203.0.113.0/24", "2001:db8::/32"] },
          },
        ],
      },
    });
  });
  after(() => trusting.close());

  test("ip-restriction allow: the hop a trusted proxy appended decides", async () => {
    const url = `${trusting.publicUrl}${USERS}/ListUsers`;
    assert.equal((await post(url, {}, { "x-forwarded-for": "203.0.113.9" })).status, 200);
    assert.equal((await post(url, {}, { "x-forwarded-for": "2001:db8::7" })).status, 200);
    const outside = await post(url, {}, { "x-forwarded-for": "198.51.100.1" });
    assert.equal(outside.status, 403);
    assert.match(String(outside.body?.message), /198\.51\.100\.1 is not allowed by policy docs-net/);
    // A client cannot prepend an allowed address: the rightmost untrusted hop is the client.
    const spoofed = await post(url, {}, { "x-forwarded-for": "203.0.113.9, 198.51.100.1" });
    assert.equal(spoofed.status, 403);
    // The socket itself (loopback) is not in the allow list.
    assert.equal((await post(url, {})).status, 403);
  });

  test("without --trusted-proxy, X-Forwarded-For is not believed", async () => {
    const plain = await startGatewayHarness({
      library: false,
      gateway: {
        policies: [{ name: "docs-net", type: "ip-restriction", config: { allow: ["203.0.113.0/24"] } }],
      },
    });
    try {
      const response = await post(
        `${plain.publicUrl}${USERS}/ListUsers`,
        {},
        { "x-forwarded-for": "203.0.113.9" },
      );
      assert.equal(response.status, 403);
    } finally {
      await plain.close();
    }
  });
});

describe("a method discovered while the gateway runs", () => {
  test("gets the policies of its selectors with the snapshot that adds it", async () => {
    let backend = await startInventoryBackend(1);
    const h = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "inventory", address: backend.address }],
      gateway: {
        consumers: CONSUMERS,
        policies: [
          {
            name: "counting-needs-key",
            type: "api-key",
            match: { methods: ["acme.inventory.v1.InventoryService/Count*"] },
            config: {},
          },
        ],
      },
    });
    try {
      const SERVICE = "/acme.inventory.v1.InventoryService";
      assert.equal((await post(`${h.publicUrl}${SERVICE}/GetItem`, { id: "1" })).status, 200);
      assert.equal((await post(`${h.publicUrl}${SERVICE}/CountItems`, {})).status, 404);

      await backend.close();
      backend = await startInventoryBackend(2, { port: backend.port });
      // Unknown-method answers ask for a refresh; the new RPC appears, already guarded.
      const refused = await waitFor(
        async () => {
          const r = await post(`${h.publicUrl}${SERVICE}/CountItems`, { minQuantity: 1 });
          return r.status === 404 ? undefined : r;
        },
        10_000,
        "the new RPC to be discovered",
      );
      assert.equal(refused.status, 401);
      assert.equal(callsTo(backend, `${SERVICE}/CountItems`).length, 0);
      const allowed = await post(
        `${h.publicUrl}${SERVICE}/CountItems`,
        { minQuantity: 1 },
        { "x-api-key": "k-basic" },
      );
      assert.equal(allowed.status, 200);
      assert.equal(
        (await post(`${h.publicUrl}${SERVICE}/GetItem`, { id: "1" })).status,
        200,
        "others unguarded",
      );
    } finally {
      await h.close();
      await backend.close();
    }
  });
});
