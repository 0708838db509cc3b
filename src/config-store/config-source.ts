/**
 * What a source of policy and consumer documents (the `--config` file, etcd under `--config-prefix`) hands
 * the config store: the documents it holds now, parsed but not validated, and its own state. The store
 * validates, merges and keeps the last valid versions (config-store.ts).
 */
import { parse as parseYaml } from "yaml";
import type { DocumentKind } from "./validate-documents.js";

export type SourceId = "file" | "etcd";

/** One document as its source holds it. */
export interface SourceEntry {
  readonly kind: DocumentKind;
  /** The name it is stored under: the etcd key's `<name>`, or the document's `name` in the file. */
  readonly name: string;
  /** The parsed document (undefined when `parseProblem` says why there is none). */
  readonly value: unknown;
  /** Not YAML/JSON, or a duplicate in its source: the entry is rejected before validation. */
  readonly parseProblem?: string;
  /** Where it is, for messages: `etcd key /refract/config/policies/x`, `file policies[2]`. */
  readonly origin: string;
  /** Changes whenever the stored text changes (etcd mod revision, the file document's JSON). */
  readonly version: string;
  /** The etcd key's `<name>` the document's own name must equal (etcd only). */
  readonly expectedName?: string;
}

/** How a source is doing, for `/admin/config` and logs. */
export interface SourceState {
  readonly source: SourceId;
  /** Listed (etcd) or read (file) at least once. */
  readonly loaded: boolean;
  /** Reachable (etcd) or readable (file) now; while false its last known documents stay. */
  readonly healthy: boolean;
  /** e.g. `watching /refract/config/ at revision 42; 3 document(s)` or `unreadable: …; keeping the last read`. */
  readonly detail: string;
}

export interface ConfigSource {
  readonly id: SourceId;
  /** Loads the first documents and starts watching; resolves after the first load or a bounded wait. */
  start(): Promise<void>;
  /** The documents held now (same array until they change). */
  entries(): readonly SourceEntry[];
  /** Called after the entries changed. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  state(): SourceState;
  close(): Promise<void>;
}

/**
 * Parses one stored value, YAML or JSON (JSON is read by the YAML 1.2 parser too). Duplicate keys are an
 * error. The problem is the parser's first line only: later lines quote the text, which may hold a secret.
 */
export function parseDocumentText(text: string): { value: unknown } | { problem: string } {
  try {
    return { value: parseYaml(text, { uniqueKeys: true }) as unknown };
  } catch (error) {
    const first = String((error as Error).message ?? error).split("\n")[0] ?? "invalid";
    return { problem: `not YAML or JSON: ${first.replace(/:\s*$/, "")}` };
  }
}
