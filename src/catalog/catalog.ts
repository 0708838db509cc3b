import type protobuf from "protobufjs";
import type { JsonOptions, MessageCodec } from "../codec/codec.js";
import type { PolicyChain } from "../policy/compile.js";
import type { ReflectionVersion } from "../reflection/reflection-client.js";
import type { BackendInstance } from "../registry/registry.js";
import type { HttpRule } from "../router/http-rule.js";
import { createRouteTable, type RouteTable } from "../router/index.js";

/**
 * The per-method policy chain (access → authenticate → authorize → limit → transform), resolved from
 * policy selectors when a snapshot is built (src/policy/compile.ts) and run per request; `NO_POLICIES`
 * (empty, frozen) for a method no policy selects, which costs the request path one length check.
 */
export { NO_POLICIES, type PolicyChain } from "../policy/compile.js";

/** The four gRPC call shapes. */
export type StreamingKind = "unary" | "server-streaming" | "client-streaming" | "bidi-streaming";

/** One routable RPC in a catalog snapshot. Everything the request path needs is precomputed here. */
export interface CatalogMethod {
  /** `acme.library.v1.LibraryService.GetBook` */
  readonly fullName: string;
  /** `acme.library.v1.LibraryService` */
  readonly service: string;
  /** `GetBook` */
  readonly name: string;
  /** gRPC path and default route: `/acme.library.v1.LibraryService/GetBook` */
  readonly path: string;
  readonly backend: string;
  readonly kind: StreamingKind;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly requestCodec: MessageCodec;
  readonly responseCodec: MessageCodec;
  /**
   * google.rpc.Status under this method's JSON options, resolving `details` Anys in the backend's schema
   * first, then in the bundled google/rpc protos: decodes `grpc-status-details-bin`. Built with the
   * snapshot (shared by every method of one schema), never on the request path.
   */
  readonly statusCodec: MessageCodec;
  /** Policies run for this method, in order (see `PolicyChain`); `NO_POLICIES` when none selects it. */
  readonly policies: PolicyChain;
  readonly jsonOptions: Readonly<JsonOptions>;
  /** REST bindings declared by the method's `google.api.http` option (the rules file is merged into `routes`). */
  readonly httpRules: readonly HttpRule[];
  /**
   * Registered instances whose schema has this method (during a rolling deploy, not all of them). Empty
   * when the method is known only from a departed instance's schema, kept while its backend's registered
   * instances are still being fetched (issue 13, point 10): see `CatalogSnapshot.pendingBackends`.
   */
  readonly instances: readonly BackendInstance[];
  /** Leading comment from the proto source, when the descriptors carry source info. */
  readonly description: string | undefined;
}

/** What the catalog knows of one instance's reflection, for /admin/backends. */
export interface InstanceSchemaStatus {
  readonly instance: BackendInstance;
  readonly reflectionVersion: ReflectionVersion | undefined;
  readonly descriptorHash: string | undefined;
  readonly services: readonly string[];
  readonly lastRefreshAt: number | undefined;
  readonly lastError: string | undefined;
}

/**
 * One immutable view of everything routable, built off the request path and swapped with one
 * assignment: methods with their codecs and the instances serving each, the REST route table, and what
 * each instance reported. A request reads exactly one snapshot from start to end.
 */
export interface CatalogSnapshot {
  /** Increases with every swap. */
  readonly generation: number;
  readonly builtAt: number;
  /** Default-route lookup by gRPC path. */
  readonly methodsByPath: ReadonlyMap<string, CatalogMethod>;
  /** Fully-qualified service name → backend name, for "known service, unknown method" answers. */
  readonly serviceBackends: ReadonlyMap<string, string>;
  /** Per backend: what each instance reported. */
  readonly instances: ReadonlyMap<string, readonly InstanceSchemaStatus[]>;
  /**
   * Backends with a registered instance whose first schema fetch has not ended yet. While a backend is
   * here, a call for one of its methods that has no ready instance — or, while any backend is here, a
   * path no schema knows yet — waits for the fetch (bounded) instead of failing at once. Usually empty,
   * so the request path pays one size check. Absent: none (snapshots made by hand, e.g. in tests).
   */
  readonly pendingBackends?: ReadonlySet<string>;
  /**
   * The REST route table: the methods' `google.api.http` rules merged with the rules file, each binding
   * checked against its request type, conflicts resolved (matched after the default `methodsByPath` route).
   */
  readonly routes: RouteTable<CatalogMethod>;
  /** Problems found while building (method skipped, duplicate service, …): logged and shown in /admin. */
  readonly problems: readonly string[];
  /** Rule problems (file rules naming no method, bindings that do not fit their method, conflicts): logged. */
  readonly routeProblems: readonly string[];
}

/** The live catalog as the request path sees it (implemented by `CatalogSync`). */
export interface Catalog {
  /** The snapshot requests are served from now. */
  current(): CatalogSnapshot;
  /** Called after every swap with the new snapshot; returns an unsubscribe function. */
  onSnapshot(listener: (snapshot: CatalogSnapshot) => void): () => void;
  /**
   * Look at a backend's schemas again soon: a call met a method the catalog does not know, or got
   * UNIMPLEMENTED. Rate limited per backend.
   */
  requestRefresh(backend: string): void;
}

export const EMPTY_SNAPSHOT: CatalogSnapshot = Object.freeze({
  generation: 0,
  builtAt: 0,
  methodsByPath: new Map(),
  serviceBackends: new Map(),
  instances: new Map(),
  routes: createRouteTable<CatalogMethod>([]),
  problems: [],
  routeProblems: [],
});
