import type { InstanceSchema } from "../catalog/build-catalog.js";
import type { CatalogSnapshot } from "../catalog/catalog.js";
import { sourceComments } from "../catalog/source-comments.js";
import { buildOpenApiDocument } from "./document.js";

export interface OpenApiSourceOptions {
  /** The live snapshot (CatalogSync.current); its route table gives the REST operations. */
  snapshot: () => CatalogSnapshot;
  /** The reflected schemas, for message and field comments (CatalogSync.schemas); optional. */
  schemas?: () => Iterable<InstanceSchema>;
  title?: string;
}

/**
 * The live OpenAPI document: built the first time it is asked for after a catalog swap and reused until
 * the next one (one build per snapshot, none per request). Comments are read once per descriptor hash.
 */
export function createOpenApiSource(options: OpenApiSourceOptions): () => Record<string, unknown> {
  let built: { snapshot: CatalogSnapshot; document: Record<string, unknown> } | undefined;
  const commentsByHash = new Map<string, Map<string, string>>();
  return () => {
    const snapshot = options.snapshot();
    if (built?.snapshot === snapshot) return built.document;
    const comments = new Map<string, string>();
    const live = new Set<string>();
    for (const schema of options.schemas?.() ?? []) {
      live.add(schema.hash);
      let forHash = commentsByHash.get(schema.hash);
      if (!forHash) {
        forHash = sourceComments(schema.files.values());
        commentsByHash.set(schema.hash, forHash);
      }
      for (const [name, text] of forHash) if (!comments.has(name)) comments.set(name, text);
    }
    for (const hash of commentsByHash.keys()) if (!live.has(hash)) commentsByHash.delete(hash);
    const document = buildOpenApiDocument({
      snapshot,
      restRoutes: snapshot.routes.routes(),
      comments: (name) => comments.get(name),
      ...(options.title ? { title: options.title } : {}),
    });
    built = { snapshot, document };
    return document;
  };
}
