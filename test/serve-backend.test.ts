import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { test } from "node:test";
import { packagePath } from "../src/package-paths.js";
import { startEtcd } from "./helpers/etcd-server.js";
import { waitFor } from "./helpers/wait.js";

/** The demo backend process docker-compose.yml runs: it serves, registers itself, and deregisters on SIGTERM. */

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("serve-backend registers in etcd and removes its key on SIGTERM", async () => {
  const etcd = await startEtcd();
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", packagePath("fixtures", "serve-backend.ts"), "library"],
    {
      env: {
        ...process.env,
        PORT: String(port),
        REFRACT_ETCD: etcd.endpoint,
        REFRACT_ADVERTISE_ADDRESS: `127.0.0.1:${port}`,
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const client = etcd.client();
  try {
    const key = `/refract/backends/library/127.0.0.1:${port}`;
    const value = await waitFor(() => client.get(key).string(), 15_000, "the registration");
    assert.equal(JSON.parse(value).Addr, `127.0.0.1:${port}`);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.equal(await client.get(key).string(), null);
  } finally {
    child.kill("SIGKILL");
    client.close();
    await etcd.close();
  }
});
