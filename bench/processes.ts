import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Child processes of the benchmarks: start them, know when they are ready, read their CPU and memory. */

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

export interface Started {
  child: ChildProcess;
  /** What `ready` returned for the line that said the child is ready (e.g. its URL). */
  line: string;
}

/**
 * Starts `node <args>` from the repository root and resolves with the first stdout line `ready` maps to
 * a value. Later output is drained so the child never blocks on a full pipe.
 */
export async function spawnReady(
  args: string[],
  options: { env?: Record<string, string>; ready?: (line: string) => string | undefined } = {},
): Promise<Started> {
  const ready = options.ready ?? ((line: string) => line);
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not start`)), 30_000);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
    lines.on("line", (l) => {
      const value = ready(l);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      }
    });
  });
  return { child, line };
}

/** The gateway logs JSON lines; the one with `publicUrl` says where it listens. */
export function listeningUrl(line: string): string | undefined {
  try {
    return (JSON.parse(line) as { publicUrl?: string }).publicUrl;
  } catch {
    return undefined;
  }
}

export interface ProcessSample {
  cpuMs: number;
  rssBytes: number;
}

/** CPU time (user + system) and resident memory of a process, from /proc. */
export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat(5))
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}
