/**
 * A real identity provider for tests: a node:http server on a free loopback port serving a JWK Set at
 * `/jwks.json` and an OIDC discovery document at `/.well-known/openid-configuration` (issuer = the
 * server's base URL), counting every hit. Keys are made with jose and can be rotated mid-test; the server
 * can be told to answer 500 or to never answer (to show that fetches are bounded). close() ends every
 * connection, hanging ones included.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";

export type IdpMode = "ok" | "error" | "hang";

export interface JwksServer {
  /** `http://127.0.0.1:<port>`: also the issuer its discovery document names. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** Requests answered (or left hanging) per path. */
  readonly hits: { jwks: number; discovery: number };
  /** The keys served from now on. */
  setKeys(keys: readonly JWK[]): void;
  /** Overrides what the discovery document says (its `issuer`, its `jwks_uri`). */
  setDiscovery(document: Record<string, unknown>): void;
  setMode(mode: IdpMode): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly JWK[] = []): Promise<JwksServer> {
  let jwks: JSONWebKeySet = { keys: [...keys] };
  let mode: IdpMode = "ok";
  let discovery: Record<string, unknown> | undefined;
  const hits = { jwks: 0, discovery: 0 };
  const hanging = new Set<ServerResponse>();

  const server = createServer((request, response) => {
    const path = request.url ?? "";
    const isJwks = path === "/jwks.json";
    const isDiscovery = path === "/.well-known/openid-configuration";
    if (!isJwks && !isDiscovery) {
      response.writeHead(404).end();
      return;
    }
    if (isJwks) hits.jwks++;
    else hits.discovery++;
    if (mode === "hang") {
      hanging.add(response);
      return;
    }
    if (mode === "error") {
      response.writeHead(500).end();
      return;
    }
    const body = isJwks ? jwks : (discovery ?? { issuer: base, jwks_uri: `${base}/jwks.json` });
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer: base,
    jwksUri: `${base}/jwks.json`,
    hits,
    setKeys(next) {
      jwks = { keys: [...next] };
    },
    setDiscovery(document) {
      discovery = document;
    },
    setMode(next) {
      mode = next;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A signing key with its public JWK (kid and alg set) and a way to sign tokens with it. */
export interface TestSigner {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: JWK;
  /** The public key as SPKI PEM (what an algorithm-confusion attacker uses as an HMAC secret). */
  readonly publicPem: string;
  sign(
    claims: JWTPayload,
    options?: { expiresIn?: string | number; header?: Record<string, unknown> },
  ): Promise<string>;
}

export async function createSigner(
  alg: "RS256" | "ES256" | "PS256" | "EdDSA",
  kid: string,
): Promise<TestSigner> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const publicPem = await exportSPKI(publicKey);
  return {
    kid,
    alg,
    publicJwk,
    publicPem,
    async sign(claims, options = {}) {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg, kid, typ: "JWT", ...options.header })
        .setIssuedAt();
      if (claims.exp === undefined) jwt.setExpirationTime(options.expiresIn ?? "10m");
      return jwt.sign(privateKey);
    },
  };
}

/** A loopback port nothing listens on (bound, then released): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
