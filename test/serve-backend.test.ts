import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";
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

test("serve-backend stopped during start-up (etcd not reachable yet) closes its server and exits 0", async () => {
  const etcd = await startEtcd();
  await etcd.stop(); // registration keeps trying: the process is mid start-up, serving but not registered
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", packagePath("fixtures", "serve-backend.ts"), "user"],
    {
      env: { ...process.env, PORT: String(port), REFRACT_ETCD: etcd.endpoint },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    await waitFor(() => canConnect(port), 15_000, "the backend to serve");
    child.kill("SIGTERM");
    assert.equal(await exited, 0, "a stop during start-up is handled, not the signal's default action");
    assert.equal(await canConnect(port), false, "the server was closed");
  } finally {
    child.kill("SIGKILL");
    await etcd.close();
  }
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
