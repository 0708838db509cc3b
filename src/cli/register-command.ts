/**
 * `refract register` (CONTRACT.md §6, §7): keeps one backend instance registered in etcd until SIGTERM or
 * SIGINT, then removes its key and exits 0. Meant as a sidecar or a wrapper step for backends that do not
 * register themselves.
 *
 *   refract register --etcd <url[,url]> --name <backend> --address <host:port>
 *                    [--ttl 10s] [--prefix /refract/backends/] [--id <instance-id>]
 *                    [--tls] [--authority <name>] [--log-level info]
 *
 * Environment (flags win): REFRACT_ETCD, REFRACT_ETCD_PREFIX, REFRACT_LOG_LEVEL.
 * Exit codes: 0 after a clean deregistration (or a signal before registering), 1 when registration failed
 * for a reason other than configuration, 2 for invalid arguments (one line per problem on stderr).
 */
import { parseArgs } from "node:util";
import pino, { type DestinationStream, type Level } from "pino";
import { parseDurationMs } from "../config/duration.js";
import { endpointProblems } from "../registry/etcd-registry-client.js";
import { registerBackend, registerBackendProblems } from "../registry/register-backend.js";
import type { InstanceMetadata } from "../registry/registry.js";
import { DEFAULT_REGISTRY_PREFIX } from "../registry/registry-value.js";

export interface RegisterCommandIo {
  /** Where pino writes its logs. Default: process.stdout. */
  stdout?: NodeJS.WritableStream;
  /** Where usage and argument problems go. Default: process.stderr. */
  stderr?: NodeJS.WritableStream;
  /** Stops the command like SIGTERM does (for embedding and tests). */
  signal?: AbortSignal;
}

const USAGE = `usage: refract register --etcd <url[,url]> --name <backend> --address <host:port>
                        [--ttl 10s] [--prefix ${DEFAULT_REGISTRY_PREFIX}] [--id <instance-id>]
                        [--tls] [--authority <name>] [--log-level info]
`;

const LEVELS: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

interface RegisterArgs {
  endpoints: string[];
  name: string;
  address: string;
  ttlMs: number;
  prefix: string;
  instanceId?: string;
  metadata: InstanceMetadata;
  logLevel: Level | "silent";
}

/** Runs `refract register`; resolves to the process exit code. */
export async function runRegisterCommand(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: RegisterCommandIo = {},
): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  const parsed = parseRegisterArgs(argv, env);
  if (parsed === "help") {
    (io.stdout ?? process.stdout).write(USAGE);
    return 0;
  }
  if (Array.isArray(parsed)) {
    for (const line of parsed) stderr.write(`refract register: ${line}\n`);
    stderr.write(USAGE);
    return 2;
  }

  const logger = pino(
    { level: parsed.logLevel, base: { cmd: "register" } },
    (io.stdout ?? process.stdout) as DestinationStream,
  );
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "received %s; deregistering", signal);
    stop.abort();
  };
  const onExternalAbort = () => stop.abort();
  // once(): a second SIGTERM/SIGINT during deregistration gets the default action and ends the process,
  // the usual way to force a stuck shutdown.
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  io.signal?.addEventListener("abort", onExternalAbort, { once: true });
  if (io.signal?.aborted) stop.abort();
  try {
    let registration: Awaited<ReturnType<typeof registerBackend>>;
    try {
      registration = await registerBackend({
        etcd: parsed.endpoints,
        name: parsed.name,
        address: parsed.address,
        ttlMs: parsed.ttlMs,
        prefix: parsed.prefix,
        metadata: parsed.metadata,
        logger,
        // A sidecar should outlast an etcd that starts after it: keep trying until told to stop.
        startTimeoutMs: Number.POSITIVE_INFINITY,
        signal: stop.signal,
        ...(parsed.instanceId === undefined ? {} : { instanceId: parsed.instanceId }),
      });
    } catch (error) {
      if (stop.signal.aborted) return 0;
      logger.error({ err: error }, "registration failed");
      return 1;
    }
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await registration.close();
    return 0;
  } finally {
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("SIGINT", onSignal);
    io.signal?.removeEventListener("abort", onExternalAbort);
    logger.flush();
  }
}

/** Parses and validates; returns the arguments, `"help"`, or one message per problem. */
export function parseRegisterArgs(argv: string[], env: NodeJS.ProcessEnv): RegisterArgs | "help" | string[] {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        etcd: { type: "string" },
        name: { type: "string" },
        address: { type: "string" },
        ttl: { type: "string" },
        prefix: { type: "string" },
        // The gateway's own flag name for the same thing, accepted so one env/flag set serves both.
        "etcd-prefix": { type: "string" },
        id: { type: "string" },
        tls: { type: "boolean" },
        authority: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    return [(error as Error).message];
  }
  if (values.help) return "help";

  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };
  const etcd = str("etcd") ?? env.REFRACT_ETCD;
  const name = str("name");
  const address = str("address");
  const prefix = str("prefix") ?? str("etcd-prefix") ?? env.REFRACT_ETCD_PREFIX ?? DEFAULT_REGISTRY_PREFIX;
  const logLevel = str("log-level") ?? env.REFRACT_LOG_LEVEL ?? "info";

  const endpoints = (etcd ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (etcd === undefined) problems.push("--etcd: missing (or set REFRACT_ETCD)");
  else for (const problem of endpointProblems(endpoints)) problems.push(`--etcd: ${problem}`);
  if (name === undefined) problems.push("--name: missing");
  if (address === undefined) problems.push("--address: missing");

  let ttlMs = 10_000;
  const ttl = str("ttl");
  if (ttl !== undefined) {
    try {
      ttlMs = parseDurationMs(ttl, "--ttl");
      if (ttlMs < 1_000)
        problems.push(`--ttl: must be at least 1s (etcd leases count whole seconds), got ${ttl}`);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (!LEVELS.includes(logLevel)) problems.push(`--log-level: must be one of ${LEVELS.join(", ")}`);
  if (prefix.length === 0 || prefix === "/") problems.push("--prefix: must not be empty or /");

  const instanceId = str("id");
  if (name !== undefined && address !== undefined) {
    const fields = { etcd: endpoints, name, address, ...(instanceId === undefined ? {} : { instanceId }) };
    for (const problem of registerBackendProblems(fields)) {
      if (problem.option !== "etcd") problems.push(`--${problem.message}`);
    }
  }
  const authority = str("authority");
  if (authority !== undefined && authority.length === 0) problems.push("--authority: must not be empty");
  if (problems.length > 0 || name === undefined || address === undefined) return problems;

  const metadata: InstanceMetadata = {};
  if (values.tls === true) metadata.tls = true;
  if (authority !== undefined) metadata.authority = authority;
  return {
    endpoints,
    name,
    address,
    ttlMs,
    prefix,
    metadata,
    logLevel: logLevel as Level | "silent",
    ...(instanceId === undefined ? {} : { instanceId }),
  };
}
