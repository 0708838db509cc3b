import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { Logger } from "pino";
import {
  type BackendOptions,
  type RunningBackend,
  startBackend,
  startLibraryBackend,
  startUserBackend,
} from "../../fixtures/backends.js";
import type { StaticBackend } from "../../src/config/static-backend.js";
import type { BackendInstance, BackendSet, Registry, RegistryHealth } from "../../src/registry/registry.js";
import {
  type CreateGatewayOptions,
  createGatewayInternals,
  type GatewayInternals,
} from "../../src/server/create-gateway.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { waitFor } from "./wait.js";

/** Log lines a gateway wrote, parsed, in order. */
export interface LogCapture {
  readonly lines: Array<Record<string, unknown>>;
  /** Lines matching `predicate` so far. */
  filter(predicate: (line: Record<string, unknown>) => boolean): Array<Record<string, unknown>>;
  /** Waits for a line matching `predicate` (log lines are written when a response closes). */
  waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

export interface GatewayHarnessOptions {
  /** Start the library demo backend (name "library"): true/options, or false. Default true. */
  library?: boolean | BackendOptions;
  /** Start the user demo backend (name "users"): true/options, or false. Default true. */
  users?: boolean | BackendOptions;
  /** Further static backends (e.g. a backend the test made itself). */
  backends?: StaticBackend[];
  /** Everything else createGateway takes; `port`, `adminPort` default to 0 and hosts to 127.0.0.1. */
  gateway?: Omit<CreateGatewayOptions, "logger" | "backends">;
  /** Log level of the captured logger. Default "info". */
  logLevel?: string;
  /** Use this logger instead of the capturing one (then `logs` stays empty). */
  logger?: Logger;
}

export interface GatewayHarness {
  /** The gateway with its parts (catalog, logger, metrics registry) for assertions about them. */
  readonly gateway: GatewayInternals;
  /** `http://127.0.0.1:<port>` of the public listener. */
  readonly publicUrl: string;
  /** `http://127.0.0.1:<port>` of the admin listener. */
  readonly adminUrl: string;
  readonly library: RunningBackend | undefined;
  readonly users: RunningBackend | undefined;
  readonly logs: LogCapture;
  /** Closes the gateway, then the backends it started. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts real demo backends and a real gateway on free loopback ports, with its JSON log lines
 * captured: the base of the end-to-end tests. Everything it opens is closed by `close()`, also when
 * start-up fails half way.
 */
export async function startGatewayHarness(options: GatewayHarnessOptions = {}): Promise<GatewayHarness> {
  const opened: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of opened.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    const backends: StaticBackend[] = [...(options.backends ?? [])];
    const library = await maybeStart(options.library, startLibraryBackend);
    if (library) {
      opened.push(() => library.close());
      backends.push({ name: "library", address: library.address });
    }
    const users = await maybeStart(options.users, startUserBackend);
    if (users) {
      opened.push(() => users.close());
      backends.push({ name: "users", address: users.address });
    }
    const logs = createLogCapture();
    const logger =
      options.logger ?? createLogger({ level: options.logLevel ?? "info", destination: logs.stream });
    const gateway = await createGatewayInternals({
      port: 0,
      adminPort: 0,
      host: "127.0.0.1",
      adminHost: "127.0.0.1",
      refreshIntervalMs: 0,
      ...options.gateway,
      backends,
      logger,
    });
    opened.push(() => gateway.close());
    const { publicUrl, adminUrl } = await gateway.start();
    let closing: Promise<void> | undefined;
    return {
      gateway,
      publicUrl,
      adminUrl,
      library,
      users,
      logs: logs.capture,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function maybeStart(
  choice: boolean | BackendOptions | undefined,
  start: (options?: BackendOptions) => Promise<RunningBackend>,
): Promise<RunningBackend | undefined> {
  if (choice === false) return undefined;
  return start(choice === true || choice === undefined ? {} : choice);
}

/** A pino destination that keeps every line, parsed. */
export function createLogCapture(): { stream: { write(line: string): void }; capture: LogCapture } {
  const lines: Array<Record<string, unknown>> = [];
  const capture: LogCapture = {
    lines,
    filter: (predicate) => lines.filter(predicate),
    waitFor: (predicate, timeoutMs = 5_000) =>
      waitFor(() => lines.find(predicate), timeoutMs, "a matching log line"),
  };
  return {
    stream: {
      write(line: string) {
        for (const text of line.split("\n")) if (text.trim()) lines.push(JSON.parse(text));
      },
    },
    capture,
  };
}

/** POSTs JSON to a URL and returns status, parsed body and headers. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** A backend for a schema declared inline: a real grpc-js server with stock @grpc/reflection. */
export interface ProtoBackendOptions {
  /** The .proto source (proto3); imports of google/protobuf/*.proto work. */
  proto: string;
  /** Handlers by fully-qualified service name, as grpc-js takes them (messages with proto field names). */
  services: Record<string, grpc.UntypedServiceImplementation>;
  /** Port to bind (0 = free one; give the old port to "redeploy" at the same address). */
  port?: number;
}

export async function startProtoBackend(options: ProtoBackendOptions): Promise<RunningBackend> {
  const dir = mkdtempSync(join(tmpdir(), "refract-proto-"));
  try {
    const file = join(dir, "inline.proto");
    writeFileSync(file, options.proto);
    const packageDefinition = protoLoader.loadSync(file, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    return await startBackend({
      reflection: "stock",
      packageDefinition,
      descriptorSet: new Uint8Array(0),
      services: options.services,
      ...(options.port === undefined ? {} : { port: options.port }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A registry the test drives: set a backend's addresses or the health it reports at any time. */
export interface MutableRegistry extends Registry {
  set(backend: string, addresses: readonly string[]): void;
  setHealth(health: Partial<RegistryHealth>): void;
}

export function createMutableRegistry(initial: Record<string, readonly string[]> = {}): MutableRegistry {
  let backends: BackendSet = new Map();
  let health: RegistryHealth = { loaded: false, connected: true, detail: "test registry" };
  const listeners = new Set<(set: BackendSet) => void>();
  const instances = (backend: string, addresses: readonly string[]): BackendInstance[] =>
    addresses.map((address) => ({ backend, id: address, address, metadata: {} }));
  const build = (entries: Record<string, readonly string[]>): BackendSet =>
    new Map(Object.entries(entries).map(([name, addresses]) => [name, instances(name, addresses)]));
  backends = build(initial);
  return {
    async start() {
      health = { ...health, loaded: true };
    },
    current: () => backends,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    health: () => health,
    async close() {},
    set(backend, addresses) {
      const next = new Map(backends);
      if (addresses.length === 0) next.delete(backend);
      else next.set(backend, instances(backend, addresses));
      backends = next;
      for (const listener of listeners) listener(backends);
    },
    setHealth(partial) {
      health = { ...health, ...partial };
    },
  };
}

/** One sample of a Prometheus text exposition. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of one scrape, with a lookup that ignores label order. */
export interface MetricSamples {
  readonly samples: readonly MetricSample[];
  /** The sum of the samples named `name` whose labels include `labels` (0 when none). */
  value(name: string, labels?: Record<string, string>): number;
  /** The samples named `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): MetricSample[];
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text format (what prom-client writes). */
export function parseMetrics(text: string): MetricSamples {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    const match = SAMPLE_RE.exec(line);
    if (!match || line.startsWith("#")) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(LABEL_RE)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return { samples, find, value: (name, labels) => find(name, labels).reduce((sum, s) => sum + s.value, 0) };
}

/** Scrapes `<adminUrl>/metrics`. */
export async function scrape(adminUrl: string): Promise<MetricSamples> {
  const response = await fetch(`${adminUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}
