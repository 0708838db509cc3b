import { format } from "node:util";
import * as grpc from "@grpc/grpc-js";
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from "pino";

/** Header names whose values never reach a log line: credentials and session cookies. */
const SECRET_HEADERS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "Authorization",
  "Proxy-Authorization",
  "Cookie",
  "Set-Cookie",
];

/**
 * pino redaction paths for the secret headers at any depth up to four levels (`headers.cookie`,
 * `req.headers.authorization`, `err.metadata.headers.cookie`…). fast-redact has no recursive wildcard,
 * so the depths are spelled out; deeper objects are not logged by the gateway.
 */
export const REDACT_PATHS: readonly string[] = SECRET_HEADERS.flatMap((name) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`;
  const bare = key.startsWith(".") ? key.slice(1) : key;
  return [bare, `*${key}`, `*.*${key}`, `*.*.*${key}`];
});

export interface CreateLoggerOptions {
  /** pino level. Default info. */
  level?: string;
  /** Where lines go. Default stdout (tests pass a stream to capture lines). */
  destination?: DestinationStream;
}

/** The gateway's logger: pino JSON lines with `service: "refract"` and secrets redacted. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions = {
    level: options.level ?? "info",
    base: { service: "refract" },
    redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** How a lazy child logger's stand-ins reach the real child (a key no logger has). */
const REAL_CHILD = Symbol("real child logger");

type LogMethod = (...args: unknown[]) => unknown;

/**
 * The stand-ins for the log methods, shared by every lazy child: called on the proxy (`this`), they make
 * its real child and call the same method on it.
 */
const STAND_INS = new Map<PropertyKey, LogMethod>(
  ["fatal", "error", "warn", "info", "debug", "trace", "child"].map((name) => [
    name,
    function (this: Record<typeof REAL_CHILD, Logger>, ...args: unknown[]) {
      const child = this[REAL_CHILD];
      return (Reflect.get(child, name) as LogMethod).apply(child, args);
    },
  ]),
);

/**
 * A child logger made on first use. Fastify makes one per request for `request.log`, and a pino child of
 * a redacting logger costs ~6.6 µs (its bindings go through redaction) — while most requests never log
 * through it: their access line is written by the telemetry with the request id as a field. The log
 * methods (all Fastify checks a child logger for) are stand-ins that make the real child when called;
 * any other property makes it at once.
 */
export function lazyChildLogger(parent: Logger, bindings: Bindings, options: ChildLoggerOptions): Logger {
  let child: Logger | undefined;
  const real = (): Logger => {
    child ??= parent.child(bindings, options);
    return child;
  };
  return new Proxy({} as Logger, {
    get(_target, key) {
      if (key === REAL_CHILD) return real();
      if (child === undefined) {
        const standIn = STAND_INS.get(key);
        if (standIn !== undefined) return standIn;
      }
      const value = Reflect.get(real(), key);
      return typeof value === "function" ? value.bind(child) : value;
    },
    set(_target, key, value) {
      return Reflect.set(real(), key, value);
    },
    has(_target, key) {
      return Reflect.has(real(), key);
    },
  });
}

/**
 * Sends grpc-js's own diagnostics (connection failures, keepalive, name resolution) into pino instead
 * of stderr. grpc-js keeps one process-wide logger, so the last gateway created in a process wins.
 * GRPC_VERBOSITY / GRPC_NODE_VERBOSITY, when set, keep their meaning; otherwise the level follows pino's.
 */
export function routeGrpcLogs(logger: Logger): void {
  const log = logger.child({ component: "grpc-js" });
  grpc.setLogger({
    error: (message?: unknown, ...rest: unknown[]) => log.error(format(message, ...rest)),
    info: (message?: unknown, ...rest: unknown[]) => log.info(format(message, ...rest)),
    debug: (message?: unknown, ...rest: unknown[]) => log.debug(format(message, ...rest)),
  });
  if (process.env.GRPC_NODE_VERBOSITY || process.env.GRPC_VERBOSITY) return;
  grpc.setLogVerbosity(grpcVerbosityFor(logger.level));
}

function grpcVerbosityFor(level: string): grpc.logVerbosity {
  switch (level) {
    case "trace":
    case "debug":
      return grpc.logVerbosity.DEBUG;
    case "info":
    case "warn":
      return grpc.logVerbosity.INFO;
    case "silent":
      return grpc.logVerbosity.NONE;
    default:
      return grpc.logVerbosity.ERROR;
  }
}
