/**
 * jwt end to end (issue 15): a real identity provider (JWKS and OIDC discovery over node:http, jose keys,
 * rotated mid-test), a gateway with static policy documents, the demo backends, requests over HTTP, SSE
 * and WebSocket. Valid tokens reach the backend with the identity's metadata; every bad token is a 401 with
 * the RFC 6750 challenge and never reaches the backend nor a 5xx; a flood of unknown kids costs the provider
 * a bounded number of fetches; tokens in a query parameter (removed before binding) and a cookie; an
 * unreachable provider is a 503, not a hang.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { base64url, SignJWT, UnsecuredJWT } from "jose";
import WebSocket from "ws";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";
import {
  closedPort,
  createSigner,
  type JwksServer,
  startJwksServer,
  type TestSigner,
} from "./helpers/jwks-server.js";

const LIB = "/acme.library.v1.LibraryService";
const USERS = "/acme.user.v1.UserService";
const AUDIENCE = "refract";

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** The status a WebSocket upgrade gets: 101 when it opens (then closed), else the HTTP refusal's. */
async function upgradeStatus(url: string): Promise<number> {
  const socket = new WebSocket(url.replace(/^http/, "ws"));
  const status = await Promise.race([
    once(socket, "open").then(() => 101),
    once(socket, "unexpected-response").then(
      ([, response]) => (response as { statusCode: number }).statusCode,
    ),
  ]);
  socket.terminate();
  return status;
}

describe("jwt policy end to end", () => {
  let idp: JwksServer; // the library's provider (JWKS URL, default cooldown)
  let oidc: JwksServer; // the users' provider (OIDC discovery, rotation)
  let h: GatewayHarness;
  let rsa: TestSigner;
  let ec: TestSigner;
  let usersKey: TestSigner;

  const libraryToken = (claims: Record<string, unknown> = {}, header?: Record<string, unknown>) =>
    rsa.sign({ iss: idp.issuer, aud: AUDIENCE, sub: "alice", ...claims }, header ? { header } : {});

  before(async () => {
    rsa = await createSigner("RS256", "rsa-1");
    ec = await createSigner("ES256", "ec-1");
    usersKey = await createSigner("ES256", "users-1");
    idp = await startJwksServer([rsa.publicJwk, ec.publicJwk]);
    oidc = await startJwksServer([usersKey.publicJwk]);
    const down = await closedPort();
    const common = { issuer: idp.issuer, audiences: [AUDIENCE] };
    h = await startGatewayHarness({
      gateway: {
        maxHeaderBytes: 256 * 1024, // so that a 100 KB token reaches the policy (the default answers 431)
        consumers: [{ name: "alice", labels: { tier: "gold" } }],
        policies: [
          {
            name: "library-login",
            type: "jwt",
            match: {
              backends: ["library"],
              methods: [`${LIB.slice(1)}/List*`, `${LIB.slice(1)}/Get*`, `${LIB.slice(1)}/*Books`],
            },
            config: {
              ...common,
              jwksUri: idp.jwksUri,
              tokenSources: [{ header: "authorization" }, { cookie: "session" }, { query: "access_token" }],
            },
          },
          {
            name: "library-identity",
            type: "request-transform",
            match: { backends: ["library"] },
            config: {
              setMetadata: {
                "x-user-id": "{subject}",
                "x-consumer": "{consumer.name}",
                "x-role": "{claims.role}",
              },
            },
          },
          {
            name: "provider-down",
            type: "jwt",
            match: { methods: [`${LIB.slice(1)}/DeleteShelf`] },
            config: { ...common, jwksUri: `http://127.0.0.1:${down}/jwks.json`, fetchTimeoutMs: 500 },
          },
          {
            name: "users-optional",
            type: "jwt",
            match: { backends: ["users"] },
            config: {
              issuer: oidc.issuer,
              audiences: [AUDIENCE],
              issuerDiscovery: true,
              required: false,
              jwksCooldownSeconds: 0,
            },
          },
        ],
      },
    });
  });
  after(async () => {
    await h?.close();
    await idp?.close();
    await oidc?.close();
  });

  const lastCall = (path: string) => [...h.library!.calls].reverse().find((c) => c.path === path);

  test("a valid token reaches the backend with the identity; the consumer is the one named by sub", async () => {
    const token = await libraryToken({ role: "admin" });
    const answer = await get(`${h.publicUrl}/v1/shelves`, { authorization: `Bearer ${token}` });
    assert.equal(answer.status, 200, answer.text);
    const call = lastCall(`${LIB}/ListShelves`);
    assert.equal(call?.metadata["x-user-id"], "alice");
    assert.equal(call?.metadata["x-consumer"], "alice");
    assert.equal(call?.metadata["x-role"], "admin");

    const ecToken = await ec.sign({ iss: idp.issuer, aud: AUDIENCE, sub: "bob" });
    assert.equal(
      (await get(`${h.publicUrl}/v1/shelves`, { authorization: `Bearer ${ecToken}` })).status,
      200,
    );
    assert.equal(lastCall(`${LIB}/ListShelves`)?.metadata["x-user-id"], "bob");
    assert.equal(lastCall(`${LIB}/ListShelves`)?.metadata["x-consumer"], undefined);
  });

  test("no token: 401 code 16 with the bare challenge, the backend not called", async () => {
    const before = h.library!.calls.length;
    const answer = await get(`${h.publicUrl}/v1/shelves`);
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, { code: 16, message: "bearer token required", details: [] });
    assert.equal(answer.headers.get("www-authenticate"), 'Bearer realm="refract"');
    assert.equal(h.library!.calls.length, before);
  });

  test("every bad token is a 401 invalid_token with its reason, never a 5xx, never echoed", async () => {
    const valid = await libraryToken();
    const [header, , signature] = valid.split(".");
    const forged = `${header}.${base64url.encode(JSON.stringify({ iss: idp.issuer, aud: AUDIENCE, sub: "root", exp: 4e9 }))}.${signature}`;
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      [await libraryToken({ exp: now - 3600 }), "token expired"],
      [await libraryToken({ aud: "someone-else" }), "audience not accepted"],
      [await libraryToken({ iss: "https://evil.test" }), "issuer not accepted"],
      [forged, "signature verification failed"],
      [
        new UnsecuredJWT({ iss: idp.issuer, aud: AUDIENCE, sub: "root" }).setExpirationTime("1h").encode(),
        "algorithm not allowed",
      ],
      [
        await new SignJWT({ iss: idp.issuer, aud: AUDIENCE, sub: "root" })
          .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(rsa.publicPem)),
        "algorithm not allowed",
      ],
      [`${"e".repeat(100 * 1024)}.x.y`, "token too long"],
      [await libraryToken({}, { kid: "nobody" }), "unknown signing key"],
      ["garbage", "malformed token"],
    ];
    const before = h.library!.calls.length;
    for (const [token, reason] of cases) {
      const answer = await get(`${h.publicUrl}/v1/shelves`, { authorization: `Bearer ${token}` });
      assert.equal(answer.status, 401, `${reason}: ${answer.text}`);
      assert.equal(
        answer.headers.get("www-authenticate"),
        `Bearer realm="refract", error="invalid_token", error_description="${reason}"`,
      );
      assert.deepEqual(answer.body, { code: 16, message: `invalid token: ${reason}`, details: [] });
      assert.ok(!answer.text.includes(token.slice(0, 40)));
    }
    assert.equal(h.library!.calls.length, before, "no bad token reached the backend");
    const logged = JSON.stringify(h.logs.lines);
    for (const [token] of cases) assert.ok(!logged.includes(token.slice(-40)), "a token reached a log line");
  });

  test("a flood of unknown kids: each 401, the JWKS fetched a bounded number of times", async () => {
    await get(`${h.publicUrl}/v1/shelves`, { authorization: `Bearer ${await libraryToken()}` });
    const fetchesBefore = idp.hits.jwks;
    const tokens = await Promise.all(
      Array.from({ length: 60 }, (_, i) => libraryToken({}, { kid: `made-up-${i}` })),
    );
    const answers = await Promise.all(
      tokens.map((token) => get(`${h.publicUrl}/v1/shelves`, { authorization: `Bearer ${token}` })),
    );
    for (const answer of answers) assert.equal(answer.status, 401);
    assert.ok(
      idp.hits.jwks - fetchesBefore <= 1,
      `${idp.hits.jwks - fetchesBefore} refetches for 60 unknown kids`,
    );
  });

  test("tokens from a query parameter (removed before binding) and a cookie; SSE and WebSocket", async () => {
    const token = await libraryToken({ role: "reader" });
    const viaQuery = await get(`${h.publicUrl}/v1/shelves/1/books?access_token=${token}`);
    assert.equal(viaQuery.status, 200, viaQuery.text);
    assert.equal(lastCall(`${LIB}/ListBooks`)?.metadata["x-role"], "reader");
    const viaCookie = await get(`${h.publicUrl}/v1/shelves`, { cookie: `theme=dark; session=${token}` });
    assert.equal(viaCookie.status, 200, viaCookie.text);

    const sse = await get(`${h.publicUrl}/v1/shelves/1/books:stream?count=2&access_token=${token}`, {
      accept: "text/event-stream",
    });
    assert.equal(sse.status, 200, sse.text);
    assert.equal(sse.headers.get("content-type"), "text/event-stream");
    assert.match(sse.text, /event: end/);
    const sseWithout = await get(`${h.publicUrl}/v1/shelves/1/books:stream?count=2`, {
      accept: "text/event-stream",
    });
    assert.equal(sseWithout.status, 401);

    assert.equal(
      await upgradeStatus(`${h.publicUrl}/v1/shelves/1/books:stream?count=1&access_token=${token}`),
      101,
    );
    assert.equal(await upgradeStatus(`${h.publicUrl}/v1/shelves/1/books:stream?count=1`), 401);
    await h.logs.waitFor((line) => line.status === 101 && line.subject === "alice");
    assert.ok(
      !JSON.stringify(h.logs.lines).includes(token.slice(-40)),
      "a query or cookie token reached a log line",
    );
    const expired = await libraryToken({ exp: Math.floor(Date.now() / 1000) - 3600 });
    assert.equal(
      await upgradeStatus(`${h.publicUrl}/v1/shelves/1/books:stream?access_token=${expired}`),
      401,
    );
  });

  test("an unreachable identity provider is a 503 (code 14), answered without hanging", async () => {
    const token = await libraryToken();
    const answer = await get(`${h.publicUrl}/v1/shelves/1`, { authorization: `Bearer ${token}` });
    assert.equal(answer.status, 200, "GetShelf's provider is up");
    const refused = await fetch(`${h.publicUrl}/v1/shelves/1`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(refused.status, 503);
    assert.deepEqual(await refused.json(), {
      code: 14,
      message: "identity provider unreachable",
      details: [],
    });
  });

  test("required: false with OIDC discovery: anonymous passes, a bad token does not, a rotated key is accepted", async () => {
    const call = (headers: Record<string, string> = {}) =>
      postJson(`${h.publicUrl}${USERS}/ListUsers`, {}, headers);
    assert.equal((await call()).status, 200);
    assert.equal(oidc.hits.discovery, 0, "anonymous calls need no provider");
    const sign = (key: TestSigner) => key.sign({ iss: oidc.issuer, aud: AUDIENCE, sub: "dora" });
    assert.equal((await call({ authorization: `Bearer ${await sign(usersKey)}` })).status, 200);
    assert.equal(oidc.hits.discovery, 1);

    const bad = await call({ authorization: `Bearer ${await libraryToken()}` }); // another issuer's key
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get("www-authenticate") ?? "", /error="invalid_token"/);

    const rotated = await createSigner("EdDSA", "users-2");
    const fresh = await sign(rotated);
    assert.equal((await call({ authorization: `Bearer ${fresh}` })).status, 401, "not served yet");
    oidc.setKeys([rotated.publicJwk]);
    assert.equal((await call({ authorization: `Bearer ${fresh}` })).status, 200, "served now");
    assert.equal(oidc.hits.discovery, 1, "discovery is read once");
  });
});
