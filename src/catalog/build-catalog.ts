import protobuf from "protobufjs";
import type { JsonOptions, MessageCodec } from "../codec/codec.js";
import { codecFor } from "../codec/codec-cache.js";
import { type CompiledPolicies, NO_POLICIES, resolveChain } from "../policy/compile.js";
import type { DescriptorSchema } from "../reflection/descriptor-cache.js";
import type { DescriptorFile } from "../reflection/descriptor-file.js";
import { buildSchemaRoot, resolveMethod, type SchemaRoot } from "../reflection/schema-root.js";
import type { BackendInstance } from "../registry/registry.js";
import type { HttpRule } from "../router/http-rule.js";
import { mergeHttpRules } from "../router/index.js";
import { buildRoutes } from "./build-routes.js";
import type { CatalogMethod, CatalogSnapshot, InstanceSchemaStatus, StreamingKind } from "./catalog.js";
import { httpRulesFromDescriptors } from "./http-rules-from-descriptors.js";
import { sourceComments } from "./source-comments.js";
import { createStatusCodec } from "./status-codec.js";

/** One instance's successfully reflected schema (from the descriptor cache). */
export type InstanceSchema = DescriptorSchema<BackendInstance>;

export interface CatalogInput {
  /**
   * Per backend name: the schemas of its instances (only those that answered), every instance's status,
   * and the schemas of departed instances kept for routing (their methods stay listed, with no instance,
   * until a registered instance's schema is in; issue 13, point 10).
   */
  readonly backends: ReadonlyMap<
    string,
    {
      schemas: readonly InstanceSchema[];
      statuses: readonly InstanceSchemaStatus[];
      retained?: readonly InstanceSchema[];
    }
  >;
  /** Backends with a registered instance whose first schema fetch has not ended. Default none. */
  readonly pendingBackends?: ReadonlySet<string>;
  /** Rules from the `--http-rules` file (replace the descriptors' rules of the same selector). Default none. */
  readonly fileRules?: readonly HttpRule[];
  /** JSON options for a backend (gateway defaults with the backend's overrides). */
  jsonOptionsFor(backend: string): JsonOptions;
  /** Whether a service may be routed (allow/deny lists). */
  isServiceAllowed(service: string): boolean;
  /**
   * The policies of the config revision in force: each method's chain is resolved from their selectors
   * here (issue 15), so a method discovered later gets its chain with the snapshot that adds it. Default:
   * none (every chain empty).
   */
  readonly policies?: CompiledPolicies;
}

/**
 * Builds catalog snapshots: methods with their codecs (request, response, Status) and the instances
 * serving each, then the route table. Holds a cache of linked schemas by descriptor hash, so an
 * unchanged schema costs no re-linking and its codecs (compiled per type) survive from one snapshot to
 * the next.
 */
export class CatalogBuilder {
  /** Per descriptor hash: the linked root and what is read from the files once (rules, comments). */
  #roots = new Map<string, LinkedSchema>();
  #generation = 0;

  build(input: CatalogInput): CatalogSnapshot {
    const problems: string[] = [];
    const methodsByPath = new Map<string, CatalogMethod>();
    const serviceBackends = new Map<string, string>();
    const instances = new Map<string, readonly InstanceSchemaStatus[]>();
    const usedHashes = new Set<string>();
    const drafts: Array<{ method: CatalogMethodDraft; instances: BackendInstance[] }> = [];

    for (const backend of [...input.backends.keys()].sort()) {
      const { schemas, statuses, retained = [] } = input.backends.get(backend)!;
      instances.set(backend, statuses);
      const jsonOptions = input.jsonOptionsFor(backend);
      // Newest schema first: during a rolling deploy the new instances define the shared methods' types.
      // Retained schemas add methods but no instance: calls go only to registered instances.
      const groups = groupByHash(schemas, retained).sort((a, b) => b.firstSeenAt - a.firstSeenAt);
      const backendMethods = new Map<string, { method: CatalogMethodDraft; instances: BackendInstance[] }>();
      for (const group of groups) {
        usedHashes.add(group.hash);
        const linked = this.#linked(group.hash, group.files);
        const { schema, rules, comments } = linked;
        for (const problem of schema.problems) problems.push(`${backend}: ${problem}`);
        for (const serviceName of group.services) {
          if (!input.isServiceAllowed(serviceName)) continue;
          const owner = serviceBackends.get(serviceName);
          if (owner !== undefined && owner !== backend) {
            problems.push(
              `service ${serviceName} is served by backends ${owner} and ${backend}; routing to ${owner}`,
            );
            continue;
          }
          const service = schema.root.lookup(serviceName);
          if (!(service instanceof protobuf.Service)) {
            problems.push(
              `${backend}: service ${serviceName} is listed but not described by its descriptors`,
            );
            continue;
          }
          serviceBackends.set(serviceName, backend);
          for (const method of service.methodsArray) {
            const fullName = `${serviceName}.${method.name}`;
            const existing = backendMethods.get(fullName);
            if (existing) {
              existing.instances.push(...group.instances);
              continue;
            }
            const failure = resolveMethod(method);
            if (failure) {
              problems.push(`${backend}: method ${fullName} skipped: ${failure}`);
              continue;
            }
            backendMethods.set(fullName, {
              method: {
                fullName,
                service: serviceName,
                name: method.name,
                path: `/${serviceName}/${method.name}`,
                backend,
                kind: streamingKind(method),
                requestType: method.resolvedRequestType!,
                responseType: method.resolvedResponseType!,
                jsonOptions,
                statusCodec: statusCodecOf(linked, jsonOptions),
                httpRules: rules.get(fullName) ?? [],
                description: comments.get(fullName),
              },
              instances: [...group.instances],
            });
          }
        }
      }
      drafts.push(...backendMethods.values());
    }
    const fileRules = input.fileRules ?? [];
    // The routes a policy's `match.routes` sees: each method's REST templates (the rules file's replacing
    // the descriptor's, as in the route table) and its default route.
    const templates = input.policies?.entries.length
      ? routeTemplates(
          drafts.flatMap((d) => d.method.httpRules),
          fileRules,
        )
      : undefined;
    for (const { method, instances: serving } of drafts) {
      const policies = templates
        ? resolveChain(input.policies, {
            backend: method.backend,
            selector: `${method.service}/${method.name}`,
            routes: [method.path, ...(templates.get(method.fullName) ?? [])],
          })
        : NO_POLICIES;
      methodsByPath.set(method.path, {
        ...method,
        policies,
        requestCodec: codecFor(method.requestType, method.jsonOptions),
        responseCodec: codecFor(method.responseType, method.jsonOptions),
        instances: serving,
      });
    }
    for (const hash of this.#roots.keys()) if (!usedHashes.has(hash)) this.#roots.delete(hash);
    const { routes, problems: routeProblems } = buildRoutes(methodsByPath.values(), fileRules);
    this.#generation += 1;
    return Object.freeze({
      generation: this.#generation,
      builtAt: Date.now(),
      methodsByPath,
      serviceBackends,
      instances,
      pendingBackends: input.pendingBackends ?? new Set<string>(),
      routes,
      problems,
      routeProblems,
    });
  }

  #linked(hash: string, files: ReadonlyMap<string, DescriptorFile>): LinkedSchema {
    let linked = this.#roots.get(hash);
    if (!linked) {
      linked = {
        schema: buildSchemaRoot(files.values()),
        rules: httpRulesFromDescriptors(files.values()),
        comments: sourceComments(files.values()),
        statusCodecs: new Map(),
      };
      this.#roots.set(hash, linked);
    }
    return linked;
  }
}

interface LinkedSchema {
  schema: SchemaRoot;
  rules: Map<string, HttpRule[]>;
  comments: Map<string, string>;
  /** Per JSON options object (one frozen object per backend): the schema's google.rpc.Status codec. */
  statusCodecs: Map<JsonOptions, MessageCodec>;
}

function statusCodecOf(linked: LinkedSchema, options: JsonOptions): MessageCodec {
  let codec = linked.statusCodecs.get(options);
  if (!codec) {
    codec = createStatusCodec(linked.schema.root, options);
    linked.statusCodecs.set(options, codec);
  }
  return codec;
}

type CatalogMethodDraft = Omit<CatalogMethod, "requestCodec" | "responseCodec" | "instances" | "policies">;

/** Per method (full name): the path templates of its bindings, the rules file's replacing the descriptor's. */
function routeTemplates(
  declared: readonly HttpRule[],
  fileRules: readonly HttpRule[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rule of mergeHttpRules(declared, fileRules)) {
    const list = out.get(rule.selector) ?? [];
    for (const binding of [rule, ...rule.additionalBindings]) list.push(binding.pattern);
    out.set(rule.selector, list);
  }
  return out;
}

interface SchemaGroup {
  hash: string;
  firstSeenAt: number;
  files: ReadonlyMap<string, DescriptorFile>;
  services: readonly string[];
  instances: BackendInstance[];
}

/** Schemas grouped by hash; the instances of `retained` schemas (departed) are not routed to. */
function groupByHash(schemas: readonly InstanceSchema[], retained: readonly InstanceSchema[]): SchemaGroup[] {
  const groups = new Map<string, SchemaGroup>();
  const add = (schema: InstanceSchema, routable: boolean): void => {
    const group = groups.get(schema.hash);
    if (group) {
      if (routable) group.instances.push(schema.instance);
      group.firstSeenAt = Math.min(group.firstSeenAt, schema.firstSeenAt);
    } else {
      groups.set(schema.hash, {
        hash: schema.hash,
        firstSeenAt: schema.firstSeenAt,
        files: schema.files,
        services: schema.services,
        instances: routable ? [schema.instance] : [],
      });
    }
  };
  for (const schema of schemas) add(schema, true);
  for (const schema of retained) add(schema, false);
  return [...groups.values()];
}

function streamingKind(method: protobuf.Method): StreamingKind {
  if (method.requestStream && method.responseStream) return "bidi-streaming";
  if (method.requestStream) return "client-streaming";
  if (method.responseStream) return "server-streaming";
  return "unary";
}
