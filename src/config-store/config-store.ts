/**
 * The live configuration of policies and consumers (issue 15; CONTRACT.md §10).
 *
 * Sources: the `--config` file's `policies:`/`consumers:` lists and etcd under `--config-prefix`, both
 * watched. The store merges them (a name in both: etcd's document wins, and `/admin/config` says so),
 * validates each document (validate-documents.ts) and keeps, per document, the last valid version: an
 * invalid document is rejected with its reason (a warning once per distinct reason, and `/admin/config`)
 * while its previous valid version stays in force; a new document that is invalid is simply not applied.
 *
 * Every change of what is in force gets a new revision (monotonic in this process, from 1; 0 is the empty
 * configuration before anything was read) and is handed to onChange listeners as one frozen PolicyConfig.
 */
import type { Logger } from "pino";
import type { ConsumerDocument, PolicyConfig, PolicyDocument } from "../policy/policy.js";
import type { ConfigSource, SourceEntry, SourceId, SourceState } from "./config-source.js";
import {
  createDocumentValidator,
  type DocumentKind,
  type DocumentProblem,
  type DocumentValidator,
  documentLabel,
  formatProblem,
  type PolicyTypeSchema,
} from "./validate-documents.js";

/** What the store hands the chain (src/policy/policy.ts): every document in force, sorted by name. */
export type { PolicyConfig };

/** What the store reports to metrics (the Prometheus side is src/telemetry/metrics.ts). */
export interface ConfigStoreMetrics {
  /** After every change: the revision in force and how many documents are rejected now. */
  configChanged(revision: number, rejectedDocuments: number): void;
}

export interface ConfigStoreOptions {
  /** The policy types documents may name, with their config schemas. */
  types: readonly PolicyTypeSchema[];
  /** Where documents come from; etcd's win over the file's for the same name. */
  sources: readonly ConfigSource[];
  logger: Logger;
  metrics?: ConfigStoreMetrics;
}

/** A document in force, as `/admin/config` shows it. */
export interface DocumentInForce {
  readonly kind: DocumentKind;
  readonly name: string;
  readonly source: SourceId;
  readonly origin: string;
  /** The same name in the file is overridden by etcd's document. */
  readonly overrides?: "file";
  /** Its current stored version is rejected: this is the last valid one. */
  readonly newerVersionRejected?: boolean;
  /**
   * What applies: a policy's type, match, priority and config (values of secret-looking properties such
   * as `secret` or `password` replaced by `[redacted]`); a consumer's labels and how many API keys it has
   * (never the hashes).
   */
  readonly document?: Readonly<Record<string, unknown>> | undefined;
}

/** A document whose stored version is rejected. */
export interface RejectedDocument {
  readonly kind: DocumentKind;
  readonly name: string;
  readonly source: SourceId;
  readonly origin: string;
  readonly problems: readonly string[];
  /** What applies instead: its last valid version, or nothing. */
  readonly inForce: "last valid version" | "none";
}

export interface ConfigStoreView {
  readonly revision: number;
  /** When this revision was applied (ISO 8601); undefined for revision 0. */
  readonly appliedAt: string | undefined;
  readonly sources: readonly SourceState[];
  readonly inForce: readonly DocumentInForce[];
  readonly rejected: readonly RejectedDocument[];
}

const EMPTY_CONFIG: PolicyConfig = Object.freeze({
  revision: 0,
  policies: Object.freeze([]),
  consumers: Object.freeze([]),
});

interface Applied {
  readonly document: PolicyDocument | ConsumerDocument;
  readonly entry: SourceEntry;
  readonly source: SourceId;
}

interface Checked {
  readonly version: string;
  readonly result:
    | { ok: true; document: PolicyDocument | ConsumerDocument }
    | { ok: false; problems: string[] };
}

export class ConfigStore {
  readonly #sources: readonly ConfigSource[];
  readonly #validator: DocumentValidator;
  readonly #log: Logger;
  readonly #metrics: ConfigStoreMetrics | undefined;
  readonly #listeners = new Set<(config: PolicyConfig) => void>();
  readonly #unsubscribe: Array<() => void> = [];
  /** Validation results by source/kind/name, reused while the stored version is the same. */
  #checked = new Map<string, Checked>();
  /** The last valid version of each document (kind/name), whichever source it came from. */
  #lastValid = new Map<string, Applied>();
  /** The reason last warned about, by source/kind/name: one warning per distinct reason. */
  #warned = new Map<string, string>();
  #config: PolicyConfig = EMPTY_CONFIG;
  #fingerprint = JSON.stringify({ policies: [], consumers: [] });
  #appliedAt: Date | undefined;
  #inForce: readonly DocumentInForce[] = [];
  #rejected: readonly RejectedDocument[] = [];
  #started = false;
  #closed = false;

  constructor(options: ConfigStoreOptions) {
    this.#sources = options.sources;
    this.#validator = createDocumentValidator(options.types);
    this.#log = options.logger.child({ component: "config-store" });
    this.#metrics = options.metrics;
  }

  /** Starts every source (each waits a bounded time for its first load), then applies what they hold. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const source of this.#sources) this.#unsubscribe.push(source.onChange(() => this.#recompute()));
    await Promise.all(this.#sources.map((source) => source.start()));
    this.#recompute();
  }

  /** The configuration in force now (same object until the next revision). */
  current(): PolicyConfig {
    return this.#config;
  }

  /** Called with every new revision; returns an unsubscribe function. */
  onChange(listener: (config: PolicyConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** For `/admin/config`: revision, sources, what is in force and what is rejected. */
  view(): ConfigStoreView {
    return {
      revision: this.#config.revision,
      appliedAt: this.#appliedAt?.toISOString(),
      sources: this.#sources.map((source) => source.state()),
      inForce: this.#inForce.map((info) => ({ ...info, document: this.#summary(info) })),
      rejected: this.#rejected,
    };
  }

  #summary(info: DocumentInForce): Record<string, unknown> | undefined {
    if (info.kind === "consumers") {
      const consumer = this.#config.consumers.find((c) => c.name === info.name);
      return consumer && { labels: consumer.labels ?? {}, apiKeys: consumer.apiKeys?.length ?? 0 };
    }
    const policy = this.#config.policies.find((p) => p.name === info.name);
    if (!policy) return undefined;
    return {
      type: policy.type,
      ...(policy.match ? { match: policy.match } : {}),
      priority: policy.priority ?? 0,
      config: redactSecrets(policy.config),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#listeners.clear();
    await Promise.all(this.#sources.map((source) => source.close()));
  }

  /** Merges the sources, validates what changed, and publishes a new revision if what is in force changed. */
  #recompute(): void {
    if (this.#closed || !this.#started) return;
    const chosen = new Map<
      string,
      { entry: SourceEntry; source: SourceId; shadowed: SourceEntry | undefined }
    >();
    // The file first, then etcd over it.
    for (const source of [...this.#sources].sort((a, b) => (a.id === b.id ? 0 : a.id === "file" ? -1 : 1))) {
      for (const entry of source.entries()) {
        const key = `${entry.kind}/${entry.name}`;
        const previous = chosen.get(key);
        chosen.set(key, { entry, source: source.id, shadowed: previous?.entry });
      }
    }

    const checked = new Map<string, Checked>();
    const inForce = new Map<string, Applied & { info: DocumentInForce }>();
    const rejected: RejectedDocument[] = [];
    const lastValid = new Map<string, Applied>();
    const warned = new Map<string, string>();
    for (const [key, { entry, source, shadowed }] of chosen) {
      const result = this.#check(entry, source, checked);
      const overrides = shadowed ? ({ overrides: "file" } as const) : {};
      if (result.ok) {
        const applied = { document: result.document, entry, source };
        lastValid.set(key, applied);
        inForce.set(key, {
          ...applied,
          info: { kind: entry.kind, name: entry.name, source, origin: entry.origin, ...overrides },
        });
        continue;
      }
      // The last valid version of this name; else, when etcd's new document is invalid, a valid one in the file.
      let fallback = this.#lastValid.get(key);
      if (!fallback && shadowed) {
        const fileResult = this.#check(shadowed, "file", checked);
        if (fileResult.ok) fallback = { document: fileResult.document, entry: shadowed, source: "file" };
      }
      rejected.push({
        kind: entry.kind,
        name: entry.name,
        source,
        origin: entry.origin,
        problems: result.problems,
        inForce: fallback ? "last valid version" : "none",
      });
      const warnKey = `${source}/${key}`;
      const reason = result.problems.join("; ");
      if (this.#warned.get(warnKey) !== reason) {
        this.#log.warn(
          { document: key, origin: entry.origin, problems: result.problems },
          "config document rejected (%s): %s",
          fallback ? "its last valid version stays in force" : "not applied",
          reason,
        );
      }
      warned.set(warnKey, reason);
      if (fallback) {
        lastValid.set(key, fallback);
        inForce.set(key, {
          ...fallback,
          info: {
            kind: entry.kind,
            name: entry.name,
            source: fallback.source,
            origin: fallback.entry.origin,
            newerVersionRejected: true,
          },
        });
      }
    }
    this.#checked = checked;
    this.#lastValid = lastValid;
    this.#warned = warned;
    this.#inForce = Object.freeze(
      [...inForce.values()].map((a) => Object.freeze(a.info)).sort((a, b) => compareKey(a, b)),
    );
    this.#rejected = Object.freeze(rejected.sort((a, b) => compareKey(a, b)));

    const byName = (a: { name: string }, b: { name: string }) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    const documents = [...inForce.values()];
    const policies = documents
      .filter((a) => a.entry.kind === "policies")
      .map((a) => a.document as PolicyDocument);
    const consumers = documents
      .filter((a) => a.entry.kind === "consumers")
      .map((a) => a.document as ConsumerDocument);
    policies.sort(byName);
    consumers.sort(byName);
    const fingerprint = JSON.stringify({ policies, consumers });
    if (fingerprint !== this.#fingerprint) {
      this.#fingerprint = fingerprint;
      this.#config = Object.freeze({
        revision: this.#config.revision + 1,
        policies: Object.freeze(policies),
        consumers: Object.freeze(consumers),
      });
      this.#appliedAt = new Date();
      this.#log.info(
        { revision: this.#config.revision, policies: policies.length, consumers: consumers.length },
        "config revision %d applied",
        this.#config.revision,
      );
      this.#metrics?.configChanged(this.#config.revision, this.#rejected.length);
      for (const listener of [...this.#listeners]) {
        try {
          listener(this.#config);
        } catch (error) {
          this.#log.error({ err: error }, "config onChange listener threw");
        }
      }
    } else {
      this.#metrics?.configChanged(this.#config.revision, this.#rejected.length);
    }
  }

  /** Validates one entry, reusing the result while its stored version is unchanged. */
  #check(entry: SourceEntry, source: SourceId, into: Map<string, Checked>): Checked["result"] {
    const key = `${source}/${entry.kind}/${entry.name}`;
    const cached = into.get(key) ?? this.#checked.get(key);
    if (cached && cached.version === entry.version) {
      into.set(key, cached);
      return cached.result;
    }
    const label = documentLabel(entry.kind, entry.value, entry.origin);
    let result: Checked["result"];
    if (entry.parseProblem !== undefined) {
      result = { ok: false, problems: [`${label}: ${entry.parseProblem}`] };
    } else {
      const validated =
        entry.kind === "policies"
          ? this.#validator.policy(entry.value, entry.expectedName)
          : this.#validator.consumer(entry.value, entry.expectedName);
      result = validated.ok
        ? { ok: true, document: validated.document }
        : { ok: false, problems: validated.problems.map((p: DocumentProblem) => formatProblem(label, p)) };
    }
    into.set(key, { version: entry.version, result });
    return result;
  }
}

function compareKey(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  const x = `${a.kind}/${a.name}`;
  const y = `${b.kind}/${b.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Property names whose values are not shown on `/admin/config` (an HS256 secret, a password in a URL…). */
const SECRET_NAME = /secret|password|passwd|token|credential|private/i;

/** A copy of a JSON value with the values of secret-looking properties replaced by `[redacted]`. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [
      key,
      SECRET_NAME.test(key) ? "[redacted]" : redactSecrets(child),
    ]),
  );
}
