/**
 * The `policies:` and `consumers:` lists of the `--config` file, live (issue 15): the file is watched and
 * re-read after a short debounce, so a saved change applies without a restart. Only these two lists are
 * live; the file's other options are read once at start-up (load-config.ts).
 *
 * The directory is watched, not the file: editors (vim, IntelliJ) and Kubernetes ConfigMap updates replace
 * the file by a rename, after which a watch on the old inode would hear nothing more. Any event in the
 * directory schedules a re-read; an unchanged text changes nothing. A file that is missing, unreadable or
 * not YAML (a half-written save) keeps the last documents read, and the state says so.
 */
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { type ConfigSource, parseDocumentText, type SourceEntry, type SourceState } from "./config-source.js";
import type { DocumentKind } from "./validate-documents.js";

export interface FileConfigSourceOptions {
  /** The `--config` file. */
  path: string;
  logger: Logger;
  /** Quiet time after the last file event before the file is read again. Default 100 ms. */
  debounceMs?: number;
}

const KINDS: readonly DocumentKind[] = ["policies", "consumers"];

export function createFileConfigSource(options: FileConfigSourceOptions): ConfigSource {
  const path = resolve(options.path);
  const log = options.logger.child({ component: "config-file", path });
  const debounceMs = options.debounceMs ?? 100;
  const listeners = new Set<() => void>();
  let entries: readonly SourceEntry[] = [];
  let lastText: string | undefined;
  /** The file's other options as first read: only the lists are live, so a change to these is said. */
  let startOptions: string | undefined;
  let loaded = false;
  let problem: string | undefined;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function read(): void {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      fail(code === "ENOENT" ? "file missing" : `unreadable: ${(error as Error).message}`);
      return;
    }
    if (text === lastText && problem === undefined) return;
    const parsed = parseDocumentText(text);
    if ("problem" in parsed) {
      fail(parsed.problem);
      return;
    }
    const file = parsed.value ?? {};
    if (typeof file !== "object" || Array.isArray(file)) {
      fail("must be a mapping of option names to values");
      return;
    }
    const lists = file as Record<string, unknown>;
    const next: SourceEntry[] = [];
    for (const kind of KINDS) {
      const list = lists[kind] ?? [];
      if (!Array.isArray(list)) {
        fail(`${kind}: must be a list of documents`);
        return;
      }
      next.push(...entriesOf(kind, list));
    }
    lastText = text;
    const options = JSON.stringify(
      Object.entries(lists).filter(([key]) => !KINDS.includes(key as DocumentKind)),
    );
    if (startOptions === undefined) startOptions = options;
    else if (options !== startOptions) {
      log.warn(
        "options other than policies and consumers changed in the config file: they apply at the next restart",
      );
      startOptions = options;
    }
    loaded = true;
    if (problem !== undefined) log.info("config file readable again");
    problem = undefined;
    if (sameEntries(entries, next)) return;
    entries = Object.freeze(next);
    log.info({ documents: next.length }, "read policies and consumers from the config file");
    for (const listener of [...listeners]) listener();
  }

  function fail(reason: string): void {
    if (problem !== reason) {
      log.warn({ reason }, "config file not applied: %s; keeping the documents read before", reason);
    }
    problem = reason;
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(read, debounceMs);
  }

  return {
    id: "file",
    async start() {
      if (closed || watcher) return;
      read();
      try {
        watcher = watch(dirname(path), { persistent: false }, () => schedule());
        watcher.on("error", (error) => {
          log.warn({ err: error }, "watching the config file's directory failed; changes are not applied");
          problem = `not watched: ${error.message}`;
        });
      } catch (error) {
        log.warn({ err: error }, "cannot watch the config file's directory; changes are not applied");
        problem = `not watched: ${(error as Error).message}`;
      }
    },
    entries: () => entries,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    state(): SourceState {
      const count = `${entries.length} document(s)`;
      if (closed) return { source: "file", loaded, healthy: false, detail: `closed; ${path}` };
      if (problem !== undefined) {
        return {
          source: "file",
          loaded,
          healthy: false,
          detail: `${path}: ${problem}; keeping the last read (${count})`,
        };
      }
      return { source: "file", loaded, healthy: true, detail: `${path}: watched; ${count}` };
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
      listeners.clear();
    },
  };
}

/** The entries of one list; a name used twice in the file keeps its first document, the others are rejected. */
function entriesOf(kind: DocumentKind, list: readonly unknown[]): SourceEntry[] {
  const firstAt = new Map<string, number>();
  return list.map((value, index): SourceEntry => {
    const origin = `file ${kind}[${index}]`;
    const version = JSON.stringify(value) ?? "";
    const name = nameOf(value);
    if (name === undefined) return { kind, name: `${kind}[${index}]`, value, origin, version };
    const first = firstAt.get(name);
    if (first !== undefined) {
      return {
        kind,
        name: `${kind}[${index}]`,
        value,
        origin,
        version,
        parseProblem: `duplicate name "${name}" (first defined at ${kind}[${first}]; that one is used)`,
      };
    }
    firstAt.set(name, index);
    return { kind, name, value, origin, version };
  });
}

function nameOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const name = (value as { name?: unknown }).name;
  return typeof name === "string" && name.length > 0 && !name.includes("[") ? name : undefined;
}

function sameEntries(a: readonly SourceEntry[], b: readonly SourceEntry[]): boolean {
  return (
    a.length === b.length &&
    a.every((entry, i) => {
      const other = b[i]!;
      return entry.kind === other.kind && entry.name === other.name && entry.version === other.version;
    })
  );
}
