import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { type RunningBackend, startLibraryBackend } from "../fixtures/backends.js";
import { packagePath } from "../src/package-paths.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 9, `--workers N`: N processes share the public port, the parent serves the admin port for all
 * of them, restarts a worker that dies, and drains them all on SIGTERM.
 */

interface Readyz {
  status: string;
  reasons: string[];
  workers: Array<{ worker: number; pid: number; status: number }>;
}

async function post(url: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json" },
  });
  await response.arrayBuffer();
  return response.status;
}

test("two workers: shared port, aggregated metrics, a dead worker replaced, clean exit", async () => {
  const backend: RunningBackend = await startLibraryBackend();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      packagePath("src", "cli", "main.ts"),
      "--workers=2",
      "--port=0",
      "--host=127.0.0.1",
      "--admin-port=0",
      `--backend=library=${backend.address}`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const lines = createInterface({ input: child.stdout! });
    const listening = await new Promise<{ publicUrl: string; adminUrl: string }>((resolve, reject) => {
      lines.on("line", (line) => {
        const parsed = JSON.parse(line) as { msg?: string; publicUrl?: string; adminUrl?: string };
        if (parsed.msg === "refract listening" && parsed.adminUrl)
          resolve(parsed as { publicUrl: string; adminUrl: string });
      });
      child.once("exit", () => reject(new Error("gateway exited before listening")));
    });
    const readyz = async (): Promise<Readyz> =>
      (await fetch(`${listening.adminUrl}/readyz`)).json() as Promise<Readyz>;
    const first = await waitFor(
      async () => {
        const r = await readyz();
        return r.status === "ready" ? r : undefined;
      },
      20_000,
      "both workers ready",
    );
    assert.equal(first.workers.length, 2);
    const pids = first.workers.map((w) => w.pid);
    assert.notEqual(pids[0], pids[1]);

    const url = `${listening.publicUrl}/acme.library.v1.LibraryService/ListShelves`;
    for (let i = 0; i < 20; i++) assert.equal(await post(url), 200);
    const metrics = await (await fetch(`${listening.adminUrl}/metrics`)).text();
    const served = metrics
      .split("\n")
      .filter(
        (l) =>
          l.startsWith("refract_http_requests_total{") &&
          l.includes('method="ListShelves"') &&
          l.includes('status="200"'),
      )
      .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    assert.equal(served, 20, "the admin port sums both workers' counters");

    process.kill(pids[0]!, "SIGKILL");
    // Connections the dead worker held die with it: a client retries such a request on a new connection
    // (fetch's pool may hold several), which the live worker serves.
    const postRetryingDeadConnections = async (): Promise<number> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await post(url);
        } catch (error) {
          if (attempt >= 5) throw error;
        }
      }
    };
    for (let i = 0; i < 10; i++)
      assert.equal(await postRetryingDeadConnections(), 200, "the other worker keeps serving");
    const replaced = await waitFor(
      async () => {
        const r = await readyz();
        return r.status === "ready" && r.workers.length === 2 && !r.workers.some((w) => w.pid === pids[0])
          ? r
          : undefined;
      },
      20_000,
      "a replacement worker",
    );
    assert.ok(replaced.workers.some((w) => w.pid === pids[1]));

    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    child.kill("SIGKILL");
    await backend.close();
  }
});
