#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { GatewayConfig } from "../config/config.js";
import { helpText, loadConfig } from "../config/load-config.js";
import type { StaticBackend } from "../config/static-backend.js";
import { GatewayConfigError } from "../errors.js";
import { createGatewayInternals, type GatewayInternals } from "../server/create-gateway.js";
import { createLogger } from "../telemetry/logger.js";
import { catchStopSignals, type StopSignal } from "./stop-signal.js";
import { isWorkerProcess, serveAsWorker, superviseWorkers } from "./workers.js";

/**
 * `refract [options]` runs the gateway; `refract demo` runs it with the bundled demo backends and no
 * etcd; `refract register …` registers a backend instance in etcd; `refract config …` validates, applies,
 * lists and deletes policy and consumer documents (config-command.ts). Exits non-zero with one line per
 * problem on invalid configuration.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === "register") {
    const { runRegisterCommand } = await import("./register-command.js");
    return runRegisterCommand(argv.slice(1), env);
  }
  if (argv[0] === "config") {
    const { runConfigCommand } = await import("./config-command.js");
    return runConfigCommand(argv.slice(1), env);
  }
  const demo = argv[0] === "demo";
  const loaded = loadConfig({ argv: demo ? argv.slice(1) : argv, env });
  if (!loaded.ok) {
    for (const problem of loaded.problems) process.stderr.write(`refract: ${problem}\n`);
    return 2;
  }
  if (loaded.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (loaded.positionals.length > 0) {
    process.stderr.write(`refract: unknown command "${loaded.positionals[0]}" (see --help)\n`);
    return 2;
  }
  if (!demo && loaded.config.backends.length === 0 && loaded.config.etcd.length === 0) {
    process.stderr.write(
      "refract: no backends: give --backend name=host:port or --etcd <url> (or run `refract demo`)\n",
    );
    return 2;
  }
  // Before the first side effect (demo backends, listeners, workers): a stop during start-up closes them.
  const stop = catchStopSignals({ secondSignalEnds: isWorkerProcess() || loaded.config.workers <= 1 });
  try {
    return await (demo ? runDemo(loaded.config, stop) : serve(loaded.config, stop, {}));
  } finally {
    stop.dispose();
  }
}

async function runDemo(config: GatewayConfig, stop: StopSignal): Promise<number> {
  // Workers get the demo backends the supervising process started (one set for all of them).
  if (isWorkerProcess()) {
    const started = JSON.parse(process.env.REFRACT_DEMO_BACKENDS ?? "[]") as StaticBackend[];
    return serve({ ...config, backends: [...config.backends, ...started] }, stop, {});
  }
  // The demo backends live in fixtures/ (shipped in the package): loaded only for this command.
  const { startDemoBackends } = await import("../../fixtures/demo.js");
  const demo = await startDemoBackends();
  const started: StaticBackend[] = [
    { name: "library", address: demo.library.address },
    { name: "users", address: demo.users.address },
  ];
  const code = await serve({ ...config, backends: [...config.backends, ...started] }, stop, {
    workerEnv: { REFRACT_DEMO_BACKENDS: JSON.stringify(started) },
    onReady: (publicUrl, adminUrl) =>
      process.stdout.write(demoBanner(publicUrl.replace("0.0.0.0", "localhost"), adminUrl)),
  });
  await demo.close();
  return code;
}

interface ServeOptions {
  workerEnv?: Record<string, string>;
  onReady?: (publicUrl: string, adminUrl: string) => void;
}

/** One process, a worker of a supervisor, or the supervisor of `config.workers` workers. */
async function serve(config: GatewayConfig, stop: StopSignal, options: ServeOptions): Promise<number> {
  if (stop.stopping) return 0;
  if (isWorkerProcess()) {
    const gateway = await createGatewayInternals({ ...config, listenAdmin: false });
    const { publicUrl } = await gateway.start();
    if (!stop.stopping) serveAsWorker(gateway, publicUrl);
    return closeOnStop(gateway, stop);
  }
  if (config.workers > 1) {
    return superviseWorkers({
      workers: config.workers,
      adminPort: config.adminPort,
      adminHost: config.adminHost,
      shutdownGraceMs: config.shutdownGraceMs,
      logger: createLogger({ level: config.logLevel }),
      stop,
      ...(options.workerEnv ? { env: options.workerEnv } : {}),
      ...(options.onReady ? { onReady: options.onReady } : {}),
    });
  }
  const gateway = await createGatewayInternals(config);
  const { publicUrl, adminUrl } = await gateway.start();
  if (!stop.stopping) options.onReady?.(publicUrl, adminUrl);
  return closeOnStop(gateway, stop);
}

function demoBanner(base: string, adminUrl: string): string {
  return `
Refract demo is running: ${base} (admin: ${adminUrl})
Two demo backends: library (exact protoc descriptors, REST routes) and users (stock @grpc/reflection).

  curl -s -X POST ${base}/acme.library.v1.LibraryService/ListShelves -H 'content-type: application/json' -d '{}'
  curl -s -X POST ${base}/acme.library.v1.LibraryService/GetBook -H 'content-type: application/json' -d '{"name":"shelves/1/books/1"}'
  curl -s -X POST ${base}/acme.user.v1.UserService/GetUser -H 'content-type: application/json' -d '{"id":"9007199254740993"}'
  curl -s -X POST ${base}/acme.user.v1.UserService/GetUser -H 'content-type: application/json' -d '{"id":"42"}'   # 404, NOT_FOUND
  curl -s '${base}/v1/shelves/1/books?genre=GENRE_FICTION'      # a REST route from google.api.http
  curl -sN '${base}/v1/shelves/1/books:stream?count=3&interval_ms=200'   # server streaming as NDJSON
  curl -s ${adminUrl}/admin/backends

Browse and try the discovered services: ${base}/docs

Press Ctrl-C to stop.
`;
}

/** Resolves with the exit code once SIGTERM/SIGINT (perhaps received during start-up) has stopped the gateway. */
async function closeOnStop(gateway: GatewayInternals, stop: StopSignal): Promise<number> {
  const signal = await stop.received;
  gateway.logger.info({ signal }, "shutting down");
  try {
    await gateway.close();
    return 0;
  } catch (error) {
    gateway.logger.error({ err: error }, "shutdown failed");
    return 1;
  }
}

// Run when executed directly (also through the npm bin symlink), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      // A configuration problem found at start-up (an unreadable certificate, a bad rules file, options
      // that do not go together) is one line naming the option, like the ones the parser reports.
      if (error instanceof GatewayConfigError) {
        for (const line of error.message.split("\n")) process.stderr.write(`refract: ${line}\n`);
        process.exit(2);
      }
      process.stderr.write(`refract: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
