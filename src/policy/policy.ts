/**
 * The policy chain's contract (issue 15; CONTRACT.md §10). A policy document names a type and a config;
 * each type compiles a validated config ONCE per config revision into a CompiledPolicy; the catalog
 * resolves each method's chain (selectors matched at snapshot build) into a frozen list sorted by phase,
 * then priority, then name. The request path only runs that list: nothing here matches selectors, parses
 * config or compiles schemas per request.
 *
 * A policy refuses a request by throwing (or rejecting with) a GatewayError — 401 code 16, 403 code 7,
 * 429 code 8 — built with the helpers in policy-errors.ts so that headers (`WWW-Authenticate`,
 * `Retry-After`, `RateLimit-*`) and messages follow the contract. It never puts a token, key or cookie into
 * an error message or a log line.
 */
import type { Logger } from "pino";

/** Phases, in the order they run; then the backend call. */
export const PHASES = ["access", "authenticate", "authorize", "limit", "transform"] as const;
export type PolicyPhase = (typeof PHASES)[number];

/** Who is calling, as the authenticate phase established it. */
export interface Identity {
  /** How it was established. */
  readonly source: "jwt" | "api-key";
  /** `sub` of a token; the consumer's name for an API key. */
  readonly subject: string | undefined;
  /** The verified token's payload (jwt only). */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** From the `scope` (space-separated) or `scp` (array or string) claim. */
  readonly scopes: readonly string[];
  /** The consumer (api-key; or a jwt whose `sub` names a consumer). */
  readonly consumer: Consumer | undefined;
}

/** An API client, from a consumer document. */
export interface Consumer {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The method a request calls, as policies see it. */
export interface PolicyMethod {
  readonly backend: string;
  /** `pkg.Service/Method`: what `match.methods` globs and rate-limit `method` keys use. */
  readonly selector: string;
}

/**
 * One request as the chain sees it, made only when the method's chain is not empty. Policies read the
 * request and write the identity, the metadata to send and the response headers to add.
 */
export interface PolicyContext {
  readonly method: PolicyMethod;
  /** Lower-case header names, as received (the values a client sent; nothing removed yet). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw query string without `?` ("" when none). */
  readonly query: string;
  /** The client's address: the socket's, or X-Forwarded-For's through `--trusted-proxy` hops only. */
  readonly clientIp: string | undefined;
  /** Set by the authenticate phase; undefined = anonymous. */
  identity: Identity | undefined;
  /**
   * gRPC metadata the transform phase sets (lower-case key → value). A client's own value for a key a
   * policy sets is removed before the request is built, whether or not this request sets it.
   */
  readonly setMetadata: Map<string, string>;
  /** Metadata keys (lower-case) the transform phase removes from what the client sent. */
  readonly removeMetadata: Set<string>;
  /** Request headers (lower-case) a transform removes before metadata is built from them. */
  readonly removeHeaders: Set<string>;
  /** Headers added to the response, refused or not (e.g. `RateLimit-*`). */
  readonly responseHeaders: Record<string, string>;
  /**
   * Query parameters a policy consumed (an API key or token passed in the URL): removed before a REST
   * route binds the query, so they neither reach the backend nor fail as unknown fields. Optional so that
   * contexts made by hand (tests, benchmarks) need not carry it; the gateway always does.
   */
  readonly removeQueryParameters?: Set<string>;
  readonly log: Pick<Logger, "debug" | "info" | "warn" | "error">;
}

/** A policy ready to run: compiled once per config revision, shared by every method whose chain has it. */
export interface CompiledPolicy {
  readonly name: string;
  readonly type: string;
  readonly phase: PolicyPhase;
  readonly priority: number;
  /** Lets the request through by returning (or resolving); refuses by throwing a GatewayError. */
  run(context: PolicyContext): void | Promise<void>;
  /** Metadata keys this policy may set: a client can never supply them (its values are removed). */
  readonly setsMetadata?: readonly string[];
  /** Releases what compile() opened (timers, connections) when the revision is replaced. */
  close?(): void | Promise<void>;
  /**
   * How the OpenAPI document declares what this policy asks of a caller (authenticate phase): an OpenAPI
   * 3.1 Security Scheme Object, and whether a call without it is let through. Absent: nothing to declare.
   */
  readonly openApiSecurity?: {
    readonly scheme: Readonly<Record<string, unknown>>;
    readonly optional: boolean;
  };
}

/** What compile() may use besides its own config. */
export interface PolicyEnvironment {
  /** Consumers by the SHA-256 (lower-case hex) of their API keys. */
  readonly consumersByKeyHash: ReadonlyMap<string, Consumer>;
  /** Consumers by name. */
  readonly consumersByName: ReadonlyMap<string, Consumer>;
  readonly logger: Logger;
  /** The shared Redis connection (`--redis`), undefined when none is configured. */
  readonly redis: RedisConnection | undefined;
}

/**
 * The Redis connection policies share (one per process), opened lazily by whoever owns it. Typed here
 * minimally so that policy/ does not depend on a client library's types at its contract.
 */
export interface RedisConnection {
  /** The underlying client (ioredis `Redis`). */
  readonly client: unknown;
  /**
   * Counts one store call that failed (Redis unreachable, timed out): `open` let the request through,
   * `closed` refused it. The owner exposes the counts (metrics); optional so that a bare client fits.
   */
  countFailure?(outcome: "open" | "closed"): void;
  /** Opens the connection when it is opened lazily; called by compile() of a policy that uses it. */
  connect?(): void;
}

/** A policy type: its phase, the JSON Schema of its config, and how to compile one document's config. */
export interface PolicyType<Config = unknown> {
  readonly type: string;
  readonly phase: PolicyPhase;
  /** JSON Schema (draft-07, ajv) of `config`; also served at `/admin/config/schema`. */
  readonly configSchema: Readonly<Record<string, unknown>>;
  /**
   * Called with a config that passed `configSchema` when the document is new or changed (an unchanged
   * document keeps its compiled policy, and so its state — buckets, token cache — across revisions).
   */
  compile(config: Config, environment: PolicyEnvironment, name: string): CompiledPolicy;
  /** The compiled policy reads the consumers (their keys or names): recompiled when they change. */
  readonly readsConsumers?: boolean;
}

/** Where a policy applies; every listed condition must hold, an omitted one holds always. */
export interface PolicyMatch {
  readonly backends?: readonly string[];
  /** Globs over `pkg.Service/Method`; `*` matches any run of characters. */
  readonly methods?: readonly string[];
  /** REST templates as written in a rule (`/v1/{name=shelves/*}`), or globs over paths (`/v1/shelves/**`). */
  readonly routes?: readonly string[];
}

/** A policy document as stored (file or etcd), before validation. */
export interface PolicyDocument {
  readonly name: string;
  readonly type: string;
  readonly match?: PolicyMatch;
  readonly priority?: number;
  readonly config: unknown;
}

/** A consumer document: API keys are stored hashed (SHA-256, hex), never in clear. */
export interface ConsumerDocument {
  readonly name: string;
  readonly apiKeys?: ReadonlyArray<{ readonly sha256: string }>;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * One revision of the configuration in force: every policy and consumer document (already validated), as
 * the config store hands it to the chain (src/policy/compile.ts compiles it once per revision).
 */
export interface PolicyConfig {
  /** Increases with every applied change; 0 is the empty configuration. */
  readonly revision: number;
  readonly policies: readonly PolicyDocument[];
  readonly consumers: readonly ConsumerDocument[];
}
