/**
 * Where the `jwt` policy's verification keys come from: a shared secret, inline JWKs, a JWKS URL or the
 * issuer's OIDC discovery document. Remote sets use jose's createRemoteJWKSet: cached for
 * `jwksMaxAgeSeconds`, refetched on an unknown `kid` at most once per `jwksCooldownSeconds` (so a flood of
 * made-up kids costs the identity provider nothing), every fetch bounded by `fetchTimeoutMs`.
 *
 * A key source that cannot be reached never hangs a request and never turns into a 401: it is a
 * KeySourceUnavailable (503). While a refetch fails, the last good set still verifies tokens whose key it
 * holds; after a failure, requests that need the provider fail fast for FAILURE_HOLD_MS instead of each
 * waiting for its own timeout, and the failure is logged once per hold.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type ExportedJWKSCache,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwksCache,
} from "jose";
import type { Logger } from "pino";
import { GatewayConfigError } from "../errors.js";
import type { ResolvedJwtConfig } from "./jwt-config.js";

/** After a failed fetch, requests that would need the provider fail fast (or use the last good set) this long. */
export const FAILURE_HOLD_MS = 1_000;

/** The key source could not be reached or did not answer with what it must: the request gets 503. */
export class KeySourceUnavailable extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "KeySourceUnavailable";
  }
}

/** What jose's jwtVerify takes as its key. */
export type VerificationKey = Uint8Array | JWTVerifyGetKey;

type KeyLog = Pick<Logger, "warn" | "info">;

/** The verification key (or key resolver) of a resolved config. */
export function createKeySource(config: ResolvedJwtConfig, log: KeyLog): VerificationKey {
  const source = config.keySource;
  switch (source.kind) {
    case "secret":
      return source.secret;
    case "jwks":
      try {
        return createLocalJWKSet(source.jwks as JSONWebKeySet);
      } catch (error) {
        throw new GatewayConfigError("config.jwks", `not a JWK Set: ${(error as Error).message}`);
      }
    case "jwksUri":
      return createRemoteKeys(source.url, config, log);
    case "discovery":
      return createDiscoveredKeys(source.issuer, config, log);
  }
}

/** Errors about the token (its `kid`), not about the provider: they stay 401s. */
function isTokenProblem(error: unknown): boolean {
  return error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys;
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}${causeText(error.cause)}` : String(error);
const causeText = (cause: unknown): string =>
  cause instanceof Error ? ` (${cause.name}: ${(cause as NodeJS.ErrnoException).code ?? cause.message})` : "";

/** A JWKS URL through jose's remote set, with the last good set kept and a hold after failures. */
export function createRemoteKeys(
  url: URL,
  config: Pick<ResolvedJwtConfig, "jwksCooldownMs" | "jwksMaxAgeMs" | "fetchTimeoutMs">,
  log: KeyLog,
): JWTVerifyGetKey {
  // jose writes every successfully fetched set here (uat = when): the last good set, readable after a
  // failed refetch.
  const fetched = {} as ExportedJWKSCache;
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: config.fetchTimeoutMs,
    cooldownDuration: config.jwksCooldownMs,
    cacheMaxAge: config.jwksMaxAgeMs,
    [jwksCache]: fetched,
  });
  let lastGood: { uat: number; keys: JWTVerifyGetKey } | undefined;
  let holdUntil = 0;
  let lastFailure: unknown;

  const fromLastGood = async (...args: Parameters<JWTVerifyGetKey>) => {
    const unavailable = new KeySourceUnavailable("identity provider unreachable", lastFailure);
    if (fetched.jwks === undefined) throw unavailable;
    if (lastGood?.uat !== fetched.uat) lastGood = { uat: fetched.uat, keys: createLocalJWKSet(fetched.jwks) };
    try {
      return await lastGood.keys(...args);
    } catch (error) {
      // The kid may be one the provider published since: only it can say, and it cannot be reached.
      throw error instanceof errors.JWKSNoMatchingKey ? unavailable : error;
    }
  };

  return async (...args) => {
    if (Date.now() < holdUntil) return fromLastGood(...args);
    try {
      return await remote(...args);
    } catch (error) {
      if (isTokenProblem(error)) throw error;
      holdUntil = Date.now() + FAILURE_HOLD_MS;
      lastFailure = error;
      log.warn({ jwksUri: url.href, err: describe(error) }, "JWKS fetch failed");
      return fromLastGood(...args);
    }
  };
}

/**
 * OIDC Discovery 1.0: the JWKS URL is `jwks_uri` of `<issuer>/.well-known/openid-configuration`, read at
 * the first request that needs a key (single-flight) and kept for the policy's life; the document's
 * `issuer` must equal the configured one (§4.3), so a document served for another issuer is not trusted.
 */
export function createDiscoveredKeys(
  issuer: string,
  config: Pick<ResolvedJwtConfig, "jwksCooldownMs" | "jwksMaxAgeMs" | "fetchTimeoutMs">,
  log: KeyLog,
): JWTVerifyGetKey {
  const documentUrl = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let keys: JWTVerifyGetKey | undefined;
  let pending: Promise<JWTVerifyGetKey> | undefined;
  let holdUntil = 0;
  let lastFailure: unknown;

  const discover = async (): Promise<JWTVerifyGetKey> => {
    try {
      const jwksUri = await fetchJwksUri(documentUrl, issuer, config.fetchTimeoutMs);
      log.info({ issuer, jwksUri: jwksUri.href }, "OIDC discovery: JWKS URL found");
      keys = createRemoteKeys(jwksUri, config, log);
      return keys;
    } catch (error) {
      holdUntil = Date.now() + FAILURE_HOLD_MS;
      lastFailure = error;
      log.warn({ discovery: documentUrl, err: describe(error) }, "OIDC discovery failed");
      throw new KeySourceUnavailable("identity provider unreachable", error);
    } finally {
      pending = undefined;
    }
  };

  return async (...args) => {
    if (keys !== undefined) return keys(...args);
    if (Date.now() < holdUntil) throw new KeySourceUnavailable("identity provider unreachable", lastFailure);
    pending ??= discover();
    return (await pending)(...args);
  };
}

async function fetchJwksUri(documentUrl: string, issuer: string, timeoutMs: number): Promise<URL> {
  // Redirects are not followed (as jose does for the JWKS): the document must be where the issuer says.
  const response = await fetch(documentUrl, {
    signal: AbortSignal.timeout(timeoutMs),
    redirect: "manual",
    headers: { accept: "application/json" },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`discovery document answered HTTP ${response.status}`);
  }
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new Error("discovery document names another issuer");
  if (typeof document.jwks_uri !== "string") throw new Error("discovery document has no jwks_uri");
  const url = new URL(document.jwks_uri);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error("jwks_uri is not an http(s) URL");
  return url;
}
