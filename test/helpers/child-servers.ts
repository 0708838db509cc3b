import { type ChildProcess, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";

/**
 * What the real servers the tests start (etcd, Redis) share: processes still running and temporary dirs
 * not yet removed are cleaned synchronously if the test process exits without closing them.
 */
export const liveChildren = new Set<ChildProcess>();
export const tempDirs = new Set<string>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  liveChildren.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killAll);
  // A signal's default action skips 'exit' handlers: clean up, then re-raise it with the default action
  // (the once-listener is gone by then) so the process still dies the way the sender intended.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/** Throws a message saying how to install `binary` when it cannot run. */
export function assertBinary(binary: string, installScript: string, variable: string): void {
  const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `cannot run "${binary}" (${probe.error?.message ?? probe.stderr.trim()}); ` +
        `install it with ${installScript} or set ${variable}`,
    );
  }
}

/** A loopback port free right now (another process may still take it: callers retry on EADDRINUSE). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
