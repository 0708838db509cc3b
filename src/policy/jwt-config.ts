import { createPublicKey, type JsonWebKey } from "node:crypto";
/**
 * The `jwt` policy's config: its JSON Schema (draft-07, what documents are validated against and what
 * `refract config schema` prints) and `resolveJwtConfig`, which fills the defaults and re-checks the rules
 * that span several fields, so that compile() never runs on a config the schema would have refused.
 */
import { GatewayConfigError } from "../errors.js";

/** Where a token is read from, tried in order; the first source that has one wins. */
export type TokenSource = { header: string } | { cookie: string } | { query: string };

/** Asymmetric algorithms (RFC 7518 §3, RFC 8037): the default and the only ones allowed without `secret`. */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
/** HMAC algorithms: only with `secret`, and then the only ones allowed (no algorithm confusion). */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export type JwtAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number] | (typeof HMAC_ALGORITHMS)[number];

/** A jwt document's `config`. Exactly one key source: `jwksUri`, `issuerDiscovery`, `jwks` or `secret`. */
export interface JwtConfig {
  /** A JWKS URL; the set is cached, refetched on an unknown `kid` at most once per `jwksCooldownSeconds`. */
  jwksUri?: string;
  /** `true`: the JWKS URL is the `jwks_uri` of `<issuer>/.well-known/openid-configuration` (fetched once). */
  issuerDiscovery?: boolean;
  /** Inline public keys (a JWK Set). */
  jwks?: { keys: Array<Record<string, unknown>> };
  /** Shared secret for HS256/384/512 (at least 32 characters, RFC 7518 §3.2). Never logged. */
  secret?: string;
  /** The `iss` every token must carry (and, with discovery, the issuer whose metadata is read). */
  issuer: string;
  /** Accepted `aud` values: a token must name at least one. */
  audiences: string[];
  /** Allowed `alg` values. Default: every asymmetric one, or every HS one with `secret`. `none` never. */
  algorithms?: JwtAlgorithm[];
  /** Tolerance for `exp`, `nbf` and `iat`, seconds. Default 60. */
  clockSkewSeconds?: number;
  /** Where tokens come from, in order. Default `[{header: "authorization"}]` (the Bearer scheme). */
  tokenSources?: TokenSource[];
  /** `false`: a request without a token passes anonymously (a present, bad token is still 401). Default true. */
  required?: boolean;
  /** Longer tokens are refused before any parsing. Default 8192. */
  maxTokenBytes?: number;
  /** Verified tokens kept (LRU, each until its `exp`). Default 10000; 0 turns the cache off. */
  cacheSize?: number;
  /** Least time between two JWKS refetches caused by unknown `kid`s, seconds. Default 30. */
  jwksCooldownSeconds?: number;
  /** A fetched JWKS is refetched when older than this, seconds. Default 600. */
  jwksMaxAgeSeconds?: number;
  /** Longest wait for the JWKS or discovery document, ms. Default 3000. */
  fetchTimeoutMs?: number;
}

export const JWT_DEFAULTS = {
  clockSkewSeconds: 60,
  tokenSources: [{ header: "authorization" }],
  required: true,
  maxTokenBytes: 8192,
  cacheSize: 10_000,
  jwksCooldownSeconds: 30,
  jwksMaxAgeSeconds: 600,
  fetchTimeoutMs: 3_000,
} as const;

/** A config with its defaults filled in and its cross-field rules checked. */
export interface ResolvedJwtConfig {
  readonly keySource:
    | { readonly kind: "jwksUri"; readonly url: URL }
    | { readonly kind: "discovery"; readonly issuer: string }
    | { readonly kind: "jwks"; readonly jwks: { keys: Array<Record<string, unknown>> } }
    | { readonly kind: "secret"; readonly secret: Uint8Array };
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clockSkewSeconds: number;
  readonly tokenSources: readonly TokenSource[];
  readonly required: boolean;
  readonly maxTokenBytes: number;
  readonly cacheSize: number;
  readonly jwksCooldownMs: number;
  readonly jwksMaxAgeMs: number;
  readonly fetchTimeoutMs: number;
}

const HTTP_URL_PATTERN = "^https?://";
// RFC 6265 §4.1.1 cookie-name is an RFC 7230 token; header field names are tokens too.
const TOKEN_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

export const jwtConfigSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "jwt",
  description:
    "Bearer JWTs verified with jose: signature (RS/PS/ES/EdDSA, or HS with `secret`; `alg: none` never), `iss`, `aud`, `exp`/`nbf`. Exactly one key source: jwksUri, issuerDiscovery, jwks or secret. 401 without a valid token (unless required: false and no token was sent); 503 when the key source cannot be reached.",
  type: "object",
  additionalProperties: false,
  required: ["issuer", "audiences"],
  oneOf: [
    { required: ["jwksUri"], title: "jwksUri" },
    { required: ["issuerDiscovery"], title: "issuerDiscovery" },
    { required: ["jwks"], title: "jwks" },
    { required: ["secret"], title: "secret" },
  ],
  // With a secret only HS algorithms; without one, never HS (HS256 signed with an RSA public key is the
  // classic algorithm-confusion attack).
  if: { required: ["secret"] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema draft-07 if/then/else, not a thenable
  then: { properties: { algorithms: { items: { enum: [...HMAC_ALGORITHMS] } } } },
  else: { properties: { algorithms: { items: { enum: [...ASYMMETRIC_ALGORITHMS] } } } },
  properties: {
    jwksUri: {
      type: "string",
      pattern: HTTP_URL_PATTERN,
      format: "uri",
      description: "JWKS URL (https in production). Cached; an unknown `kid` refetches it, rate-limited.",
    },
    issuerDiscovery: {
      enum: [true],
      description: "Read jwks_uri from <issuer>/.well-known/openid-configuration (OIDC Discovery), once.",
    },
    jwks: {
      type: "object",
      required: ["keys"],
      properties: {
        keys: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["kty"],
            // Public keys only: private or symmetric members (RFC 7518 §6) would sit in clear in the
            // config and show at /admin/config; an HS secret goes in `secret`, which is redacted.
            not: {
              anyOf: ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].map((member) => ({ required: [member] })),
            },
          },
        },
      },
      description: "Inline JWK Set of public keys.",
    },
    secret: {
      type: "string",
      minLength: 32,
      writeOnly: true,
      description: "Shared secret for HS256/384/512 (≥ 32 characters). Never logged or shown.",
    },
    issuer: { type: "string", minLength: 1, description: "The required `iss`." },
    audiences: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", minLength: 1 },
      description: "Accepted `aud` values; a token must carry at least one.",
    },
    algorithms: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { enum: [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS] },
      description: "Allowed `alg`s. Default: all asymmetric ones, or all HS ones with `secret`.",
    },
    clockSkewSeconds: {
      type: "integer",
      minimum: 0,
      maximum: 3_600,
      default: JWT_DEFAULTS.clockSkewSeconds,
      description: "Tolerance for exp/nbf/iat, seconds.",
    },
    tokenSources: {
      type: "array",
      minItems: 1,
      items: {
        oneOf: [
          objectWith(
            "header",
            "Header (lower case): `authorization` needs the Bearer scheme; others carry the token",
          ),
          objectWith("cookie", "Cookie name (for EventSource and WebSocket, which cannot set headers)"),
          objectWith("query", "Query parameter (for EventSource and WebSocket); removed before binding"),
        ],
      },
      default: JWT_DEFAULTS.tokenSources,
      description: "Where the token is read, in order; the first source that has one wins.",
    },
    required: {
      type: "boolean",
      default: JWT_DEFAULTS.required,
      description: "false: no token → anonymous (a bad token is still 401).",
    },
    maxTokenBytes: {
      type: "integer",
      minimum: 256,
      maximum: 1_048_576,
      default: JWT_DEFAULTS.maxTokenBytes,
      description: "Longer tokens are refused before parsing.",
    },
    cacheSize: {
      type: "integer",
      minimum: 0,
      maximum: 10_000_000,
      default: JWT_DEFAULTS.cacheSize,
      description: "Verified tokens kept (LRU, each at most until its exp); 0 = no cache.",
    },
    jwksCooldownSeconds: {
      type: "number",
      minimum: 0,
      maximum: 86_400,
      default: JWT_DEFAULTS.jwksCooldownSeconds,
      description: "Least time between JWKS refetches caused by unknown kids, seconds.",
    },
    jwksMaxAgeSeconds: {
      type: "number",
      minimum: 1,
      maximum: 604_800,
      default: JWT_DEFAULTS.jwksMaxAgeSeconds,
      description: "Refetch a JWKS older than this, seconds (the last good one serves while that fails).",
    },
    fetchTimeoutMs: {
      type: "integer",
      minimum: 1,
      maximum: 60_000,
      default: JWT_DEFAULTS.fetchTimeoutMs,
      description: "Longest wait for the JWKS or discovery document, ms.",
    },
  },
} as const;

function objectWith(key: string, description: string) {
  return {
    type: "object",
    additionalProperties: false,
    required: [key],
    properties: { [key]: { type: "string", pattern: TOKEN_NAME_PATTERN, description } },
  } as const;
}

/** Defaults filled, key source picked, and the rules the schema states checked again (GatewayConfigError). */
export function resolveJwtConfig(config: JwtConfig): ResolvedJwtConfig {
  const sources = (["jwksUri", "issuerDiscovery", "jwks", "secret"] as const).filter(
    (key) => config[key] !== undefined,
  );
  if (sources.length !== 1) {
    throw new GatewayConfigError(
      "config",
      `exactly one key source of jwksUri, issuerDiscovery, jwks, secret (found ${sources.join(", ") || "none"})`,
    );
  }
  if (!config.issuer) throw new GatewayConfigError("config.issuer", "is required");
  if (!config.audiences?.length)
    throw new GatewayConfigError("config.audiences", "needs at least one audience");

  const hmac = config.secret !== undefined;
  const allowed: readonly string[] = hmac ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
  const algorithms = config.algorithms ?? (hmac ? [...HMAC_ALGORITHMS] : [...ASYMMETRIC_ALGORITHMS]);
  for (const alg of algorithms) {
    if (!allowed.includes(alg)) {
      throw new GatewayConfigError(
        "config.algorithms",
        `"${alg}" is not allowed ${hmac ? "with a secret (HS256/384/512 only)" : "without a secret"}`,
      );
    }
  }

  let keySource: ResolvedJwtConfig["keySource"];
  if (config.jwksUri !== undefined) {
    keySource = { kind: "jwksUri", url: httpUrl(config.jwksUri, "config.jwksUri") };
  } else if (config.issuerDiscovery === true) {
    httpUrl(config.issuer, "config.issuer");
    keySource = { kind: "discovery", issuer: config.issuer };
  } else if (config.jwks !== undefined) {
    // Each inline key must import: a key that cannot (bad coordinates, wrong length) would otherwise make
    // every valid token look malformed. node:crypto checks a JWK synchronously, so validation finds it.
    (Array.isArray(config.jwks.keys) ? config.jwks.keys : []).forEach((jwk, index) => {
      try {
        createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
      } catch (error) {
        const kid = typeof jwk.kid === "string" ? ` (kid ${JSON.stringify(jwk.kid)})` : "";
        throw new GatewayConfigError(
          `config.jwks.keys[${index}]`,
          `not a usable public key${kid}: ${(error as Error).message}`,
        );
      }
    });
    keySource = { kind: "jwks", jwks: config.jwks };
  } else if (config.secret !== undefined && config.secret.length >= 32) {
    keySource = { kind: "secret", secret: new TextEncoder().encode(config.secret) };
  } else {
    // Not the secret's value: only that it is too short (or issuerDiscovery: false).
    throw new GatewayConfigError(
      "config",
      "secret must have at least 32 characters; issuerDiscovery must be true",
    );
  }

  return {
    keySource,
    issuer: config.issuer,
    audiences: [...config.audiences],
    algorithms,
    clockSkewSeconds: config.clockSkewSeconds ?? JWT_DEFAULTS.clockSkewSeconds,
    tokenSources: config.tokenSources ?? JWT_DEFAULTS.tokenSources,
    required: config.required ?? JWT_DEFAULTS.required,
    maxTokenBytes: config.maxTokenBytes ?? JWT_DEFAULTS.maxTokenBytes,
    cacheSize: config.cacheSize ?? JWT_DEFAULTS.cacheSize,
    jwksCooldownMs: (config.jwksCooldownSeconds ?? JWT_DEFAULTS.jwksCooldownSeconds) * 1000,
    jwksMaxAgeMs: (config.jwksMaxAgeSeconds ?? JWT_DEFAULTS.jwksMaxAgeSeconds) * 1000,
    fetchTimeoutMs: config.fetchTimeoutMs ?? JWT_DEFAULTS.fetchTimeoutMs,
  };
}

function httpUrl(text: string, key: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GatewayConfigError(key, `"${text}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new GatewayConfigError(key, `"${text}" must be an http(s) URL`);
  }
  // fetch refuses URLs with credentials; and the URL is logged when a fetch fails.
  if (url.username !== "" || url.password !== "") {
    throw new GatewayConfigError(key, "must not carry credentials (user:password@)");
  }
  return url;
}
