import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import { base64url, jwtVerify, SignJWT, UnsecuredJWT } from "jose";
import pino from "pino";
import {
  closedPort,
  createSigner,
  type JwksServer,
  startJwksServer,
  type TestSigner,
} from "../../test/helpers/jwks-server.js";
import { Code, GatewayError } from "../errors.js";
import { compileJwtPolicy, identityOf, type JwtConfig, jwtPolicyType, type VerifyJwt } from "./jwt.js";
import { createTokenCache, tokenKey } from "./jwt-cache.js";
import { resolveJwtConfig } from "./jwt-config.js";
import { compileTokenReader } from "./jwt-token.js";
import type { CompiledPolicy, Consumer, PolicyContext } from "./policy.js";

const ISSUER_CLAIMS = { iss: "https://idp.test", aud: "refract" };
const BASE: Pick<JwtConfig, "issuer" | "audiences"> = {
  issuer: "https://idp.test",
  audiences: ["refract", "other"],
};
const JWT_DESCRIPTION = "A JWT (verified: signature, issuer, audience, expiry).";
const silent = pino({ level: "silent" });
const alice: Consumer = { name: "alice", labels: { tier: "gold" } };

function context(over: { headers?: PolicyContext["headers"]; query?: string } = {}): PolicyContext {
  return {
    method: { backend: "library", selector: "acme.v1.Library/GetBook" },
    headers: over.headers ?? {},
    query: over.query ?? "",
    clientIp: "10.0.0.1",
    identity: undefined,
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    removeQueryParameters: new Set(),
    log: silent,
  };
}
const bearer = (token: string) => context({ headers: { authorization: `Bearer ${token}` } });

/** A log destination the tests can read (to show that no token or secret reaches it). */
function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), text: () => lines.join("") };
}

function policyOf(config: JwtConfig, extra: { verify?: VerifyJwt; log?: pino.Logger } = {}): CompiledPolicy {
  return compileJwtPolicy(config, {
    name: "login",
    consumersByName: new Map([["alice", alice]]),
    log: extra.log ?? silent,
    ...(extra.verify ? { verify: extra.verify } : {}),
  });
}

/** Runs the policy and returns its refusal; fails when it let the request through. */
async function refusal(policy: CompiledPolicy, ctx: PolicyContext): Promise<GatewayError> {
  try {
    await policy.run(ctx);
  } catch (error) {
    assert.ok(error instanceof GatewayError, `not a GatewayError: ${error}`);
    return error;
  }
  assert.fail("the request was let through");
}

function assertInvalidToken(error: GatewayError, reason: string, token?: string): void {
  assert.equal(error.httpStatus, 401);
  assert.equal(error.code, Code.UNAUTHENTICATED);
  assert.equal(
    error.headers["www-authenticate"],
    `Bearer realm="refract", error="invalid_token", error_description="${reason}"`,
  );
  if (token !== undefined) {
    assert.ok(!error.message.includes(token) && !JSON.stringify(error.toStatusBody()).includes(token));
  }
}

/** Counts calls of the real jose verification. */
function countingVerify(): { verify: VerifyJwt; readonly calls: number } {
  let calls = 0;
  return {
    verify: (token, key, options) => {
      calls++;
      return jwtVerify(token, key as Parameters<typeof jwtVerify>[1], options);
    },
    get calls() {
      return calls;
    },
  };
}

describe("jwt config", () => {
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
  const validate = ajv.compile(jwtPolicyType.configSchema);
  const secret = "s".repeat(32);

  test("the schema accepts each key source alone and refuses what compile would refuse", () => {
    const valid: unknown[] = [
      { ...BASE, jwksUri: "https://idp.test/jwks.json" },
      { ...BASE, issuerDiscovery: true, algorithms: ["ES256"] },
      { ...BASE, jwks: { keys: [{ kty: "EC" }] } },
      { ...BASE, secret, algorithms: ["HS256"] },
      {
        ...BASE,
        jwksUri: "http://x/j",
        tokenSources: [{ header: "authorization" }, { cookie: "t" }, { query: "t" }],
      },
    ];
    for (const config of valid) assert.ok(validate(config), JSON.stringify([config, validate.errors]));
    const invalid: unknown[] = [
      { ...BASE }, // no key source
      { ...BASE, jwksUri: "https://a", secret }, // two
      { ...BASE, issuerDiscovery: false },
      { ...BASE, jwksUri: "https://a", algorithms: ["HS256"] }, // HS with public keys: algorithm confusion
      { ...BASE, secret, algorithms: ["RS256"] },
      { ...BASE, jwksUri: "https://a", algorithms: ["none"] },
      { ...BASE, secret: "short" },
      { ...BASE, jwksUri: "https://a", audiences: [] },
      { issuer: "x", jwksUri: "https://a" },
      { ...BASE, jwksUri: "file:///etc/keys" },
      { ...BASE, jwksUri: "https://a", tokenSources: [{ header: "a", cookie: "b" }] },
      { ...BASE, jwksUri: "https://a", maxTokenBytes: 10 },
      { ...BASE, jwksUri: "https://a", unknown: 1 },
    ];
    for (const config of invalid) assert.ok(!validate(config), JSON.stringify(config));
  });

  test("compile checks the cross-field rules again, without echoing the secret", () => {
    const cases: Array<[JwtConfig, RegExp]> = [
      [{ ...BASE } as JwtConfig, /exactly one key source/],
      [{ ...BASE, jwksUri: "https://a", secret } as JwtConfig, /found jwksUri, secret/],
      [{ ...BASE, jwksUri: "https://a", algorithms: ["HS256"] }, /"HS256" is not allowed without a secret/],
      [{ ...BASE, secret, algorithms: ["ES256"] }, /"ES256" is not allowed with a secret/],
      [{ ...BASE, secret: "tiny-secret-value" }, /at least 32 characters/],
      [{ ...BASE, jwksUri: "ftp://a" }, /must be an http\(s\) URL/],
      [{ ...BASE, jwksUri: "https://user:tiny-secret-value@idp.test/jwks" }, /must not carry credentials/],
      [{ ...BASE, jwks: { keys: "no" as never } }, /not a JWK Set/],
    ];
    for (const [config, message] of cases) {
      assert.throws(
        () =>
          jwtPolicyType.compile(
            config,
            { consumersByKeyHash: new Map(), consumersByName: new Map(), logger: silent, redis: undefined },
            "p",
          ),
        (error: Error) => message.test(error.message) && !error.message.includes("tiny-secret-value"),
      );
    }
    const resolved = resolveJwtConfig({ ...BASE, secret });
    assert.deepEqual(resolved.algorithms, ["HS256", "HS384", "HS512"]);
    assert.ok(
      !resolveJwtConfig({ ...BASE, jwksUri: "https://a" }).algorithms.some((a) => a.startsWith("HS")),
    );
  });
});

describe("jwt verified-token cache", () => {
  test("an entry lives until its exp and never beyond; the least recently used goes first", () => {
    const identity = identityOf({ sub: "a" }, new Map());
    const cache = createTokenCache(2);
    cache.set("a", identity, 2_000, 1_000);
    assert.equal(cache.get("a", 1_999), identity);
    assert.equal(cache.get("a", 2_000), undefined);
    assert.equal(cache.size, 0, "an expired entry is dropped when met");
    cache.set("late", identity, 1_000, 1_000);
    assert.equal(cache.size, 0, "a token already past its exp is not cached");
    cache.set("x", identity, 9_000, 1_000);
    cache.set("y", identity, 9_000, 1_000);
    cache.get("x", 1_001);
    cache.set("z", identity, 9_000, 1_000);
    assert.deepEqual(
      [cache.get("y", 1_002), cache.get("x", 1_002) === identity, cache.size],
      [undefined, true, 2],
    );
    const off = createTokenCache(0);
    off.set("a", identity, 9_000, 1_000);
    assert.equal(off.get("a", 1_000), undefined);
    assert.notEqual(tokenKey("a.b.c"), tokenKey("a.b.d"));
    assert.ok(!tokenKey("secret.token.value").includes("secret"));
  });
});

describe("jwt token sources", () => {
  test("each source reads its token; the first source holding one wins", () => {
    const read = compileTokenReader([
      { header: "authorization" },
      { cookie: "session" },
      { query: "access_token" },
    ]);
    const cases: Array<[Parameters<typeof context>[0], string | undefined]> = [
      [{ headers: { authorization: "Bearer abc.def.ghi" } }, "abc.def.ghi"],
      [{ headers: { authorization: "bearer   abc.def.ghi " } }, "abc.def.ghi"],
      [{ headers: { authorization: "Bearer" } }, ""], // named but empty: a bad token, not an absent one
      [{ headers: { authorization: "Basic dXNlcjpwdw==" } }, undefined],
      [{ headers: { authorization: "BearerX abc" } }, undefined],
      [{ headers: { cookie: "a=1; session=tok.en.x; b=2" } }, "tok.en.x"],
      [{ headers: { cookie: ["a=1", 'session="q.u.o"'] } }, "q.u.o"],
      [{ headers: { cookie: "mysession=no; session=" } }, undefined],
      [{ query: "a=1&access_token=q.t%2Dx&b" }, "q.t-x"],
      [{ query: "xaccess_token=no" }, undefined],
      [{ query: "access_token=%E0%A4%A" }, "%E0%A4%A"],
      [
        { headers: { authorization: "Bearer h.h.h", cookie: "session=c.c.c" }, query: "access_token=q.q.q" },
        "h.h.h",
      ],
      [{ headers: { cookie: "session=c.c.c" }, query: "access_token=q.q.q" }, "c.c.c"],
      [{}, undefined],
    ];
    for (const [over, expected] of cases) assert.equal(read(context(over)), expected, JSON.stringify(over));
    assert.equal(
      compileTokenReader([{ header: "X-Token" }])(context({ headers: { "x-token": "Bearer t.t.t" } })),
      "t.t.t",
    );
    assert.equal(
      compileTokenReader([{ header: "x-token" }])(context({ headers: { "x-token": "t.t.t" } })),
      "t.t.t",
    );
  });
});

describe("jwt verification against a real JWKS server", () => {
  let idp: JwksServer;
  let rsa: TestSigner;
  let ec: TestSigner;
  let config: JwtConfig;

  before(async () => {
    rsa = await createSigner("RS256", "rsa-1");
    ec = await createSigner("ES256", "ec-1");
    idp = await startJwksServer([rsa.publicJwk, ec.publicJwk]);
    config = { ...BASE, jwksUri: idp.jwksUri };
  });
  after(() => idp.close());

  test("a valid token (RS256, ES256) proves an identity: subject, claims, scopes, consumer", async () => {
    const policy = policyOf(config);
    const ctx = bearer(
      await rsa.sign({ ...ISSUER_CLAIMS, sub: "alice", scope: "books:read  books:write", role: "admin" }),
    );
    await policy.run(ctx);
    assert.equal(ctx.identity?.source, "jwt");
    assert.equal(ctx.identity?.subject, "alice");
    assert.equal(ctx.identity?.claims?.role, "admin");
    assert.deepEqual(ctx.identity?.scopes, ["books:read", "books:write"]);
    assert.equal(ctx.identity?.consumer, alice);
    assert.ok(Object.isFrozen(ctx.identity?.claims));

    const ecCtx = bearer(
      await ec.sign({ iss: BASE.issuer, aud: ["x", "other"], sub: "bob", scp: ["a", "b"] }),
    );
    await policy.run(ecCtx);
    assert.equal(ecCtx.identity?.subject, "bob");
    assert.deepEqual(ecCtx.identity?.scopes, ["a", "b"]);
    assert.equal(ecCtx.identity?.consumer, undefined);
  });

  test("each bad token is a 401 invalid_token naming the reason, never the token", async () => {
    const policy = policyOf(config);
    const valid = await rsa.sign({ ...ISSUER_CLAIMS, sub: "alice" });
    const [header, , signature] = valid.split(".");
    const tampered = `${header}.${base64url.encode(JSON.stringify({ ...ISSUER_CLAIMS, sub: "root", exp: 4e9 }))}.${signature}`;
    const other = await createSigner("RS256", "rsa-1"); // same kid, another key: a forged signature
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      [await rsa.sign({ ...ISSUER_CLAIMS, exp: now - 3600 }), "token expired"],
      [await rsa.sign({ ...ISSUER_CLAIMS, aud: "someone-else" }), "audience not accepted"],
      [await rsa.sign({ ...ISSUER_CLAIMS, iss: "https://evil.test" }), "issuer not accepted"],
      [await rsa.sign({ ...ISSUER_CLAIMS, nbf: now + 3600 }), "token not yet valid"],
      [tampered, "signature verification failed"],
      [await other.sign({ ...ISSUER_CLAIMS }), "signature verification failed"],
      [
        new UnsecuredJWT({ ...ISSUER_CLAIMS, sub: "root" }).setExpirationTime("1h").encode(),
        "algorithm not allowed",
      ],
      // Algorithm confusion: HS256 with the RSA public key (as the verifier might hold it) as the secret.
      [
        await new SignJWT({ ...ISSUER_CLAIMS, sub: "root" })
          .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(rsa.publicPem)),
        "algorithm not allowed",
      ],
      [await rsa.sign({ ...ISSUER_CLAIMS }, { header: { kid: "nobody" } }), "unknown signing key"],
      [`${"a".repeat(100 * 1024)}.b.c`, "token too long"],
      ["not-a-jwt", "malformed token"],
      ["a.b.c", "malformed token"],
      [`${base64url.encode('{"alg":"RS256"')}.e30.sig`, "malformed token"],
    ];
    for (const [token, reason] of cases) {
      const error = await refusal(policy, bearer(token));
      assertInvalidToken(error, reason, token);
    }
    assertInvalidToken(
      await refusal(policy, context({ headers: { authorization: "Bearer " } })),
      "malformed token",
    );
  });

  test("no token: 401 with the bare challenge; required: false lets it through anonymously, not a bad token", async () => {
    const missing = await refusal(policyOf(config), context());
    assert.equal(missing.httpStatus, 401);
    assert.equal(missing.headers["www-authenticate"], 'Bearer realm="refract"');
    assert.equal(missing.message, "bearer token required");

    const optional = policyOf({ ...config, required: false });
    const anonymous = context({ headers: { authorization: "Basic dXNlcjpwdw==" } });
    await optional.run(anonymous);
    assert.equal(anonymous.identity, undefined);
    const expired = await rsa.sign({ ...ISSUER_CLAIMS, exp: Math.floor(Date.now() / 1000) - 3600 });
    assertInvalidToken(await refusal(optional, bearer(expired)), "token expired");
  });

  test("tokens from a cookie and a query parameter; the query parameter is always removed before binding", async () => {
    const policy = policyOf({ ...config, tokenSources: [{ cookie: "session" }, { query: "access_token" }] });
    assert.deepEqual(policy.openApiSecurity, {
      scheme: {
        type: "apiKey",
        in: "cookie",
        name: "session",
        description: JWT_DESCRIPTION,
      },
      optional: false,
    });
    const token = await ec.sign({ ...ISSUER_CLAIMS, sub: "carol" });
    const fromCookie = context({ headers: { cookie: `theme=dark; session=${token}` } });
    await policy.run(fromCookie);
    assert.equal(fromCookie.identity?.subject, "carol");
    const fromQuery = context({ query: `page=2&access_token=${token}` });
    await policy.run(fromQuery);
    assert.equal(fromQuery.identity?.subject, "carol");
    assert.deepEqual([...(fromQuery.removeQueryParameters ?? [])], ["access_token"]);
    assert.deepEqual([...(fromCookie.removeQueryParameters ?? [])], ["access_token"]);
    // The header is not a source of this policy.
    assert.equal(
      (await refusal(policy, bearer(token))).headers["www-authenticate"],
      'Bearer realm="refract"',
    );
    const headerOnly = bearer(token);
    await policyOf(config).run(headerOnly);
    assert.equal(headerOnly.removeQueryParameters?.size, 0);
    assert.deepEqual(policyOf({ ...config, required: false }).openApiSecurity, {
      scheme: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: JWT_DESCRIPTION },
      optional: true,
    });
  });

  test("a cached token is verified once, concurrent first uses share one verification, never past exp", async () => {
    const counter = countingVerify();
    const policy = policyOf(config, { verify: counter.verify });
    const token = await rsa.sign({ ...ISSUER_CLAIMS, sub: "alice" });
    await Promise.all(Array.from({ length: 10 }, () => policy.run(bearer(token))));
    assert.equal(counter.calls, 1);
    for (let i = 0; i < 5; i++) {
      const ctx = bearer(token);
      assert.equal(policy.run(ctx), undefined, "a cache hit answers synchronously");
      assert.equal(ctx.identity?.subject, "alice");
    }
    assert.equal(counter.calls, 1);

    // Expired a few seconds ago, inside the 60 s skew: accepted, but not cached beyond its exp.
    const late = await rsa.sign({ ...ISSUER_CLAIMS, sub: "late", exp: Math.floor(Date.now() / 1000) - 5 });
    await policy.run(bearer(late));
    await policy.run(bearer(late));
    assert.equal(counter.calls, 3);

    // A refused token is not cached as valid.
    const bad = await rsa.sign({ ...ISSUER_CLAIMS, aud: "nope" });
    await refusal(policy, bearer(bad));
    await refusal(policy, bearer(bad));
    assert.equal(counter.calls, 5);
  });

  test("the cache is bounded: the least recently used token is forgotten first", async () => {
    const counter = countingVerify();
    const policy = policyOf({ ...config, cacheSize: 2 }, { verify: counter.verify });
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((sub) => ec.sign({ ...ISSUER_CLAIMS, sub })));
    for (const token of [a!, b!, a!, c!]) await policy.run(bearer(token)); // c evicts b, a was used last
    assert.equal(counter.calls, 3);
    await policy.run(bearer(a!));
    assert.equal(counter.calls, 3);
    await policy.run(bearer(b!));
    assert.equal(counter.calls, 4);
  });

  test("keys rotated mid-test: a new kid is accepted once the JWKS serves it", async () => {
    const rotating = await startJwksServer([rsa.publicJwk]);
    try {
      const policy = policyOf({ ...BASE, jwksUri: rotating.jwksUri, jwksCooldownSeconds: 0 });
      await policy.run(bearer(await rsa.sign({ ...ISSUER_CLAIMS, sub: "before" })));
      const next = await createSigner("ES256", "ec-2");
      const token = await next.sign({ ...ISSUER_CLAIMS, sub: "after" });
      assertInvalidToken(await refusal(policy, bearer(token)), "unknown signing key");
      rotating.setKeys([next.publicJwk]); // the old key retired
      const ctx = bearer(token);
      await policy.run(ctx);
      assert.equal(ctx.identity?.subject, "after");
      const retired = await rsa.sign({ ...ISSUER_CLAIMS, sub: "old" });
      assertInvalidToken(await refusal(policy, bearer(retired)), "unknown signing key");
    } finally {
      await rotating.close();
    }
  });

  test("a flood of unknown kids: every one 401, the JWKS fetched a bounded number of times", async () => {
    const flooded = await startJwksServer([rsa.publicJwk]);
    try {
      const policy = policyOf({ ...BASE, jwksUri: flooded.jwksUri });
      const tokens = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          rsa.sign({ ...ISSUER_CLAIMS }, { header: { kid: `made-up-${i}` } }),
        ),
      );
      const sequential = tokens.slice(0, 50);
      for (const token of sequential)
        assertInvalidToken(await refusal(policy, bearer(token)), "unknown signing key");
      const concurrent = await Promise.all(tokens.slice(50).map((token) => refusal(policy, bearer(token))));
      for (const error of concurrent) assertInvalidToken(error, "unknown signing key");
      // One fetch for the first request; refetches wait for the 30 s cooldown.
      assert.ok(flooded.hits.jwks <= 2, `JWKS fetched ${flooded.hits.jwks} times`);
      assert.ok(flooded.hits.jwks >= 1);
    } finally {
      await flooded.close();
    }
  });

  test("OIDC discovery: jwks_uri read once, lazily; a document for another issuer is not trusted", async () => {
    const oidc = await startJwksServer([ec.publicJwk]);
    try {
      const policy = policyOf({ issuer: oidc.issuer, audiences: ["refract"], issuerDiscovery: true });
      assert.equal(oidc.hits.discovery, 0, "discovery waits for the first request");
      for (const sub of ["a", "b", "c"]) {
        const ctx = bearer(await ec.sign({ iss: oidc.issuer, aud: "refract", sub }));
        await policy.run(ctx);
        assert.equal(ctx.identity?.subject, sub);
      }
      assert.equal(oidc.hits.discovery, 1);
      assert.equal(oidc.hits.jwks, 1);

      oidc.setDiscovery({ issuer: "https://evil.test", jwks_uri: oidc.jwksUri });
      const log = capturedLogger();
      const fooled = policyOf(
        { issuer: oidc.issuer, audiences: ["refract"], issuerDiscovery: true },
        { log: log.logger },
      );
      const token = await ec.sign({ iss: oidc.issuer, aud: "refract" });
      const error = await refusal(fooled, bearer(token));
      assert.equal(error.httpStatus, 503);
      assert.equal(error.code, Code.UNAVAILABLE);
      assert.equal(error.message, "identity provider unreachable");
      assert.match(log.text(), /another issuer.*OIDC discovery failed/);
      assert.ok(!log.text().includes(token));
    } finally {
      await oidc.close();
    }
  });

  test("an unreachable key source is a 503 (not a 401), logged once per hold", async () => {
    const port = await closedPort();
    const log = capturedLogger();
    const refused = policyOf({ ...BASE, jwksUri: `http://127.0.0.1:${port}/jwks.json` }, { log: log.logger });
    const token = await rsa.sign({ ...ISSUER_CLAIMS });
    for (let i = 0; i < 3; i++) {
      const error = await refusal(refused, bearer(token));
      assert.equal(error.httpStatus, 503);
      assert.equal(error.toStatusBody().message, "identity provider unreachable");
      assert.equal(error.headers["www-authenticate"], undefined);
    }
    assert.equal(log.text().match(/JWKS fetch failed/g)?.length, 1, "logged once per hold, not per request");
    assert.ok(!log.text().includes(token));
  });

  // The bound: fetchTimeoutMs (200 ms) per fetch; the test's own timeout fails it if a fetch is not bounded.
  test("a key source that never answers is a 503 after fetchTimeoutMs", { timeout: 15_000 }, async () => {
    const token = await rsa.sign({ ...ISSUER_CLAIMS });
    const hung = await startJwksServer([rsa.publicJwk]);
    hung.setMode("hang");
    try {
      const slow = policyOf({ ...BASE, jwksUri: hung.jwksUri, fetchTimeoutMs: 200 });
      assert.equal((await refusal(slow, bearer(token))).httpStatus, 503);
      const discovering = policyOf({
        issuer: hung.issuer,
        audiences: ["refract"],
        issuerDiscovery: true,
        fetchTimeoutMs: 200,
      });
      const discoveryToken = await rsa.sign({ iss: hung.issuer, aud: "refract" });
      assert.equal((await refusal(discovering, bearer(discoveryToken))).httpStatus, 503);
      assert.equal(hung.hits.jwks, 1);
      assert.equal(hung.hits.discovery, 1);
    } finally {
      await hung.close();
    }
  });

  test("while the provider is down the last good keys still verify; an unknown kid is 503, not 401", async () => {
    const flaky = await startJwksServer([rsa.publicJwk]);
    try {
      const policy = policyOf({ ...BASE, jwksUri: flaky.jwksUri, jwksCooldownSeconds: 0 });
      await policy.run(bearer(await rsa.sign({ ...ISSUER_CLAIMS, sub: "first" })));
      flaky.setMode("error");
      const unknown = await rsa.sign({ ...ISSUER_CLAIMS }, { header: { kid: "new-kid" } });
      assert.equal((await refusal(policy, bearer(unknown))).httpStatus, 503);
      const ctx = bearer(await rsa.sign({ ...ISSUER_CLAIMS, sub: "second" }));
      await policy.run(ctx);
      assert.equal(ctx.identity?.subject, "second");
      assertInvalidToken(
        await refusal(policy, bearer(await rsa.sign({ ...ISSUER_CLAIMS, aud: "x" }))),
        "audience not accepted",
      );
    } finally {
      await flaky.close();
    }
  });

  test("a shared secret: HS256 accepted, an RS256 token refused, the secret never logged", async () => {
    const secret = "correct-horse-battery-staple-0123456789";
    const log = capturedLogger();
    const policy = policyOf({ ...BASE, secret }, { log: log.logger });
    const ctx = bearer(
      await new SignJWT({ ...ISSUER_CLAIMS, sub: "alice" })
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret)),
    );
    await policy.run(ctx);
    assert.equal(ctx.identity?.consumer, alice);
    assertInvalidToken(
      await refusal(policy, bearer(await rsa.sign({ ...ISSUER_CLAIMS }))),
      "algorithm not allowed",
    );
    const wrongSecret = await new SignJWT({ ...ISSUER_CLAIMS })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(40)));
    assertInvalidToken(await refusal(policy, bearer(wrongSecret)), "signature verification failed");
    assert.ok(!log.text().includes(secret));
  });

  test("inline JWKs verify without any fetch; algorithm confusion and alg none refused there too", async () => {
    const policy = policyOf({ ...BASE, jwks: { keys: [rsa.publicJwk as Record<string, unknown>] } });
    const ctx = bearer(await rsa.sign({ ...ISSUER_CLAIMS, sub: "inline" }));
    await policy.run(ctx);
    assert.equal(ctx.identity?.subject, "inline");
    const confused = await new SignJWT({ ...ISSUER_CLAIMS })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(rsa.publicPem));
    assertInvalidToken(await refusal(policy, bearer(confused)), "algorithm not allowed");
    const none = new UnsecuredJWT({ ...ISSUER_CLAIMS }).encode();
    assertInvalidToken(await refusal(policy, bearer(none)), "algorithm not allowed");
    // Restricting algorithms refuses the others even with a known key.
    const esOnly = policyOf({
      ...BASE,
      jwks: { keys: [rsa.publicJwk as Record<string, unknown>] },
      algorithms: ["ES256"],
    });
    assertInvalidToken(
      await refusal(esOnly, bearer(await rsa.sign({ ...ISSUER_CLAIMS }))),
      "algorithm not allowed",
    );
  });
});
