import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import pino from "pino";
import type { GatewayError } from "../errors.js";
import { apiKeyPolicyType } from "./api-key.js";
import { jwtPolicyType } from "./jwt.js";
import type { Consumer, PolicyContext, PolicyEnvironment } from "./policy.js";

// A jwt and an api-key policy on one method: each required one needs its own credential (AND), and the
// identity carries both the token's subject and the key's consumer, in whichever order they run.

const alice: Consumer = { name: "alice", labels: { tier: "gold" } };
const KEY = "alice-key";
const environment: PolicyEnvironment = {
  consumersByKeyHash: new Map([[createHash("sha256").update(KEY).digest("hex"), alice]]),
  consumersByName: new Map([["alice", alice]]),
  logger: pino({ level: "silent" }),
  redis: undefined,
};

function context(headers: Record<string, string>): PolicyContext {
  return {
    method: { backend: "b", selector: "p.S/M" },
    headers,
    query: "",
    clientIp: "127.0.0.1",
    identity: undefined,
    setMetadata: new Map(),
    removeMetadata: new Set(),
    removeHeaders: new Set(),
    responseHeaders: {},
    log: environment.logger,
  };
}

describe("jwt and api-key on one method", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" };
  const token = await new SignJWT({ scope: "read" })
    .setProtectedHeader({ alg: "ES256", kid: "k" })
    .setIssuer("https://issuer.test")
    .setAudience("api")
    .setSubject("user-7")
    .setExpirationTime("1h")
    .sign(privateKey);
  const jwt = jwtPolicyType.compile(
    { issuer: "https://issuer.test", audiences: ["api"], jwks: { keys: [jwk] } } as never,
    environment,
    "users-jwt",
  );
  const apiKey = apiKeyPolicyType.compile({} as never, environment, "keys");
  const both = { authorization: `Bearer ${token}`, "x-api-key": KEY };

  for (const [order, chain] of [
    ["key then token", [apiKey, jwt]],
    ["token then key", [jwt, apiKey]],
  ] as const) {
    test(`${order}: the identity has the token's subject and the key's consumer`, async () => {
      const ctx = context(both);
      for (const policy of chain) await policy.run(ctx);
      assert.equal(ctx.identity?.subject, "user-7");
      assert.deepEqual(ctx.identity?.consumer, alice);
      assert.deepEqual(ctx.identity?.scopes, ["read"]);
    });
  }

  test("a token alone does not satisfy a required api-key policy, nor a key alone a required jwt", async () => {
    const tokenOnly = context({ authorization: `Bearer ${token}` });
    await jwt.run(tokenOnly);
    assert.throws(
      () => apiKey.run(tokenOnly),
      (error: GatewayError) =>
        error.code === 16 && error.headers["www-authenticate"] === 'Bearer realm="refract"',
    );
    const keyOnly = context({ "x-api-key": KEY });
    await apiKey.run(keyOnly);
    await assert.rejects(
      async () => jwt.run(keyOnly),
      (error: GatewayError) => error.code === 16,
    );
  });
});
