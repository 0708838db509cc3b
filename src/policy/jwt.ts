/**
 * The `jwt` policy type (phase "authenticate"): bearer JWTs verified with jose (signature, `alg` from an
 * allow-list that never holds `none` nor mixes HS with public keys, `iss`, `aud`, `exp`/`nbf` with a clock
 * skew). Keys from a JWKS URL, OIDC discovery, inline JWKs or a shared secret (jwt-keys.ts); tokens from
 * the Authorization header, a cookie or a query parameter (jwt-token.ts).
 *
 * A verified token is cached (jwt-cache.ts) until its `exp`: a repeated token costs a SHA-256 and a map
 * lookup and the policy answers synchronously. Concurrent first requests with the same token share one
 * verification. The identity is `{source: "jwt", subject: sub, claims, scopes, consumer}` where the
 * consumer is the one whose name equals `sub`, if any.
 *
 * Refusals (jwt-errors.ts): no token → 401 with the bare challenge (unless `required: false`, then the
 * request goes on anonymously); a bad token → 401 `invalid_token` with the reason; a key source that
 * cannot be reached → 503. The token and the secret never reach a log line or an error body.
 */
import { type JWTPayload, type JWTVerifyOptions, jwtVerify } from "jose";
import { createTokenCache, tokenKey } from "./jwt-cache.js";
import { type JwtConfig, jwtConfigSchema, resolveJwtConfig, type TokenSource } from "./jwt-config.js";
import { verificationRefusal } from "./jwt-errors.js";
import { createKeySource, type VerificationKey } from "./jwt-keys.js";
import { compileTokenReader } from "./jwt-token.js";
import type { CompiledPolicy, Consumer, Identity, PolicyContext, PolicyType } from "./policy.js";
import { invalidToken, missingCredentials } from "./policy-errors.js";

export type { JwtConfig } from "./jwt-config.js";

/** A verified token without `exp` is cached at most this long (it stays valid; the cache just forgets it). */
export const NO_EXP_CACHE_MS = 300_000;

/** The verification step, jose's jwtVerify by default; tests wrap it to count signature checks. */
export type VerifyJwt = (
  token: string,
  key: VerificationKey,
  options: JWTVerifyOptions,
) => Promise<{ payload: JWTPayload }>;

export const jwtPolicyType: PolicyType<JwtConfig> = {
  type: "jwt",
  phase: "authenticate",
  configSchema: jwtConfigSchema,
  readsConsumers: true,
  compile(config, environment, name) {
    return compileJwtPolicy(config, {
      name,
      consumersByName: environment.consumersByName,
      log: environment.logger.child({ policy: name }),
    });
  },
};

export interface JwtPolicyOptions {
  readonly name: string;
  readonly consumersByName: ReadonlyMap<string, Consumer>;
  readonly log: Parameters<typeof createKeySource>[1];
  /** Default: jose's jwtVerify. */
  readonly verify?: VerifyJwt;
}

/** A jwt policy for a config (validated against jwtConfigSchema; cross-field rules checked again here). */
export function compileJwtPolicy(config: JwtConfig, options: JwtPolicyOptions): CompiledPolicy {
  const resolved = resolveJwtConfig(config);
  const key = createKeySource(resolved, options.log);
  const verify: VerifyJwt = options.verify ?? jwtVerify;
  const verifyOptions: JWTVerifyOptions = {
    issuer: resolved.issuer,
    audience: [...resolved.audiences],
    algorithms: [...resolved.algorithms],
    clockTolerance: resolved.clockSkewSeconds,
  };
  const readToken = compileTokenReader(resolved.tokenSources);
  const cache = createTokenCache(resolved.cacheSize);
  const inFlight = new Map<string, Promise<Identity>>();
  const { required, maxTokenBytes } = resolved;
  const { consumersByName } = options;

  const verifyToken = async (token: string, cacheKey: string): Promise<Identity> => {
    try {
      const { payload } = await verify(token, key, verifyOptions);
      const identity = identityOf(payload, consumersByName);
      const now = Date.now();
      const expiresAtMs = typeof payload.exp === "number" ? payload.exp * 1000 : now + NO_EXP_CACHE_MS;
      cache.set(cacheKey, identity, expiresAtMs, now);
      return identity;
    } catch (error) {
      throw verificationRefusal(error);
    } finally {
      inFlight.delete(cacheKey);
    }
  };

  const authenticate = async (context: PolicyContext, token: string, cacheKey: string): Promise<void> => {
    let pending = inFlight.get(cacheKey);
    if (pending === undefined) {
      pending = verifyToken(token, cacheKey);
      inFlight.set(cacheKey, pending);
    }
    context.identity = withEarlierConsumer(await pending, context.identity);
  };

  // A token source's query parameter is never bound into the request (nor refused as an unknown field),
  // whichever source carried this request's token.
  const queryParameters = resolved.tokenSources.flatMap((source) =>
    "query" in source ? [source.query] : [],
  );
  const hasQuerySource = queryParameters.length > 0;
  return {
    name: options.name,
    type: "jwt",
    phase: "authenticate",
    priority: 0,
    openApiSecurity: { scheme: securityScheme(resolved.tokenSources), optional: !required },
    run(context) {
      if (hasQuerySource) for (const name of queryParameters) context.removeQueryParameters?.add(name);
      const token = readToken(context);
      if (token === undefined) {
        if (required) throw missingCredentials("bearer token");
        return;
      }
      if (token.length > maxTokenBytes) throw invalidToken("token too long");
      if (token === "") throw invalidToken("malformed token");
      const cacheKey = tokenKey(token);
      const identity = cache.get(cacheKey, Date.now());
      if (identity !== undefined) {
        context.identity = withEarlierConsumer(identity, context.identity);
        return;
      }
      return authenticate(context, token, cacheKey);
    },
    close() {
      cache.clear();
    },
  };
}

/**
 * The OpenAPI 3.1 Security Scheme of the first token source (the one a client is expected to use): HTTP
 * bearer for the Authorization header, an apiKey in a header, cookie or query otherwise.
 */
function securityScheme(sources: readonly TokenSource[]): Record<string, unknown> {
  const description = "A JWT (verified: signature, issuer, audience, expiry).";
  const source = sources[0]!;
  if ("header" in source) {
    return source.header.toLowerCase() === "authorization"
      ? { type: "http", scheme: "bearer", bearerFormat: "JWT", description }
      : { type: "apiKey", in: "header", name: source.header, description };
  }
  return "cookie" in source
    ? { type: "apiKey", in: "cookie", name: source.cookie, description }
    : { type: "apiKey", in: "query", name: source.query, description };
}

/** The identity a verified payload proves; frozen, as cached identities are shared by requests. */
export function identityOf(payload: JWTPayload, consumersByName: ReadonlyMap<string, Consumer>): Identity {
  const subject = typeof payload.sub === "string" ? payload.sub : undefined;
  return Object.freeze({
    source: "jwt" as const,
    subject,
    claims: deepFreeze(payload) as Readonly<Record<string, unknown>>,
    scopes: Object.freeze(scopesOf(payload)),
    consumer: subject === undefined ? undefined : consumersByName.get(subject),
  });
}

/** RFC 8693 §4.2 `scope` (space-separated string), or `scp` (Azure AD, Okta: an array or a string). */
export function scopesOf(payload: JWTPayload): string[] {
  const split = (text: string): string[] => text.split(" ").filter((s) => s !== "");
  if (typeof payload.scope === "string") return split(payload.scope);
  const scp = payload.scp;
  if (typeof scp === "string") return split(scp);
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === "string");
  return [];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * An API key checked before the token named the client: keep that consumer when the token's subject
 * names none, so authorize-by-label and per-consumer limits still see it (a copy only in that case).
 */
function withEarlierConsumer(identity: Identity, earlier: Identity | undefined): Identity {
  if (earlier?.consumer === undefined || identity.consumer !== undefined) return identity;
  return { ...identity, consumer: earlier.consumer };
}
