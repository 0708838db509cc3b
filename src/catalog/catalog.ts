import type protobuf from "protobufjs";
import type { JsonOptions, MessageCodec } from "../codec/codec.js";
import type { ReflectionVersion } from "../reflection/reflection-client.js";
import type { BackendInstance } from "../registry/registry.js";
import type { HttpRule } from "../router/http-rule.js";

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
  readonly jsonOptions: Readonly<JsonOptions>;
  /** REST bindings declared by the method's `google.api.http` option (the rules file is merged by the router). */
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
 * assignment. A request reads exactly one snapshot from start to end.
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
  /** Problems found while building (method skipped, duplicate service, …): logged and shown in /admin. */
  readonly problems: readonly string[];
}

export const EMPTY_SNAPSHOT: CatalogSnapshot = Object.freeze({
  generation: 0,
  builtAt: 0,
  methodsByPath: new Map(),
  serviceBackends: new Map(),
  instances: new Map(),
  problems: [],
});
