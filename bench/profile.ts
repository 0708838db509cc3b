import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { largePayload, smallPayload } from "./payloads.js";

/**
 * `npm run bench:profile [small|large]`: runs the gateway under `node --cpu-prof`, loads the default
 * route for a few seconds, and prints where the gateway's CPU time goes — by function and by package —
 * from the V8 profile. Findings are written down in bench/README.md.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const which = process.argv[2] === "large" ? "large" : "small";
const payload = which === "large" ? largePayload : smallPayload;
const profileDir = join(root, ".tmp", "profile");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

async function waitForLine(child: ChildProcess, pick: (line: string) => string | undefined): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const value = pick(line);
    if (value !== undefined) {
      lines.on("line", () => {});
      return value;
    }
  }
  throw new Error("process exited before it was ready");
}

function summarize(file: string): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[] };
  const total = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    if (node.hitCount === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const short = url.replace(/^file:\/\//, "").replace(`${root}/`, "");
    const fn = `${functionName || "(anonymous)"} ${short ? `${short}:${lineNumber + 1}` : ""}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + node.hitCount);
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short)?.[1] ??
      (short.startsWith("dist/")
        ? "refract"
        : short.startsWith("node:")
          ? "node core"
          : short === ""
            ? `(${functionName || "vm"})`
            : short);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.hitCount);
  }
  const print = (title: string, map: Map<string, number>, rows: number): void => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, hits] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
      process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(6)}%  ${name}\n`);
    }
  };
  print("self time by package", byPackage, 15);
  print("self time by function", byFunction, 30);
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });
  const backends = spawn(process.execPath, ["--import", "tsx", join(here, "bench-backend.ts")], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const addresses = JSON.parse(await waitForLine(backends, (l) => l)) as { bench: string };
  const gateway = spawn(
    process.execPath,
    [
      "--cpu-prof",
      `--cpu-prof-dir=${profileDir}`,
      join(root, "dist/src/cli/main.js"),
      "--port=0",
      "--host=127.0.0.1",
      "--admin-port=0",
      "--log-level=info",
      "--workers=1",
      `--backend=bench=${addresses.bench}`,
    ],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await waitForLine(gateway, (line) => {
    try {
      return (JSON.parse(line) as { publicUrl?: string }).publicUrl;
    } catch {
      return undefined;
    }
  });
  const result = await autocannon({
    url: `${url}/refract.bench.v1.BenchService/Echo`,
    method: "POST",
    connections: 32,
    duration: 8,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  process.stdout.write(`${which}: ${result.requests.average} req/s, ${result.non2xx} non-2xx\n`);
  await new Promise((resolve) => {
    gateway.once("exit", resolve);
    gateway.kill("SIGTERM");
  });
  backends.kill("SIGTERM");
  const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error("no profile written");
  process.stdout.write(`profile: ${join(profileDir, file)}\n`);
  summarize(join(profileDir, file));
}

await main();
