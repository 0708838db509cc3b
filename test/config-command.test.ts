/**
 * `refract config` through the real CLI (child processes of src/cli/main.ts) against a real etcd:
 * validate, apply, get, delete, schema; and two applies at once, where the one that read first must fail
 * with the conflict (made deterministic: it reads, the other applies, then it commits).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import type { Etcd3 } from "etcd3";
import { parse as parseYaml } from "yaml";
import { runConfigCommand } from "../src/cli/config-command.js";
import { type EtcdServer, startEtcd } from "./helpers/etcd-server.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const HASH = "c".repeat(64);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `refract config …` as a child process; bounded. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "config", ...args], {
      env: { ...process.env, REFRACT_ETCD: "", REFRACT_CONFIG_PREFIX: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`refract config ${args.join(" ")} did not finish within 30 s`));
    }, 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { stream, text: () => text };
}

describe("refract config (real CLI, real etcd)", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let dir: string;
  let counter = 0;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const prefix = () => `/refract-cli-test/${process.pid}-${++counter}/`;

  before(async () => {
    etcd = await startEtcd();
    client = etcd.client();
    dir = mkdtempSync(join(tmpdir(), "refract-config-cli-"));
  });
  after(async () => {
    await etcd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("validate: 0 when valid; 2 with one line per problem, the file and the JSON path named", async () => {
    const good = file(
      "good.yaml",
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: ["127.0.0.0/8"]}}\nconsumers:\n  - {name: app, apiKeys: [{sha256: "${HASH}"}]}\n`,
    );
    const single = file(
      "single.json",
      JSON.stringify({ name: "lab", type: "ip-restriction", config: { allow: ["10.0.0.0/8"] } }),
    );
    const ok = await cli(["validate", good, single]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /3 document\(s\) valid/);
    // The gateway's own --config file: its options beside the lists are the gateway's to check.
    const gatewayFile = file(
      "gateway.yaml",
      `workers: 2\nlogLevel: info\njson: {emitUnpopulated: false}\npolicies:\n  - {name: office, type: ip-restriction, config: {deny: ["127.0.0.0/8"]}}\n`,
    );
    const asRun = await cli(["validate", gatewayFile]);
    assert.equal(asRun.code, 0, asRun.stderr);
    assert.match(asRun.stdout, /1 document\(s\) valid/);

    const secret = "sk_live_never-print-this";
    const bad = file(
      "bad.yaml",
      `- {name: office, type: ip-restriction, config: {deny: "127.0.0.0/8"}}\n- {name: Bad_Name, type: nope, config: {}}\n- {name: app, apiKeys: [{key: "${secret}"}]}\n`,
    );
    const broken = file("broken.yaml", "policies: [\n");
    const failed = await cli(["validate", bad, broken, join(dir, "missing.yaml")]);
    assert.equal(failed.code, 2);
    const lines = failed.stderr.trim().split("\n");
    assert.deepEqual(lines, [
      `refract config: ${bad}: policies/office: /config/deny: must be array`,
      `refract config: ${bad}: policies/Bad_Name: /name: must match pattern "^[a-z0-9]([a-z0-9-]{0,62})$"`,
      `refract config: ${bad}: policies/Bad_Name: /type: unknown policy type "nope" (one of: ${lines[2]?.match(/one of: (.*)\)$/)?.[1]})`,
      `refract config: ${bad}: consumers/app: /apiKeys/0: a clear-text API key is not accepted: store its SHA-256 (lower-case hex) as {sha256: …}`,
      lines[4],
      `refract config: ${join(dir, "missing.yaml")}: no such file`,
    ]);
    assert.match(lines[4] ?? "", new RegExp(`^refract config: ${broken}: not YAML or JSON: `));
    assert.match(lines[2] ?? "", /one of: .*ip-restriction/);
    assert.ok(!failed.stderr.includes(secret));
  });

  test("apply, get, delete round trip; apply of unchanged documents writes nothing", async () => {
    const p = prefix();
    const docs = file(
      "apply.yaml",
      `policies:\n  - {name: office, type: ip-restriction, config: {deny: ["127.0.0.0/8"]}}\nconsumers:\n  - {name: app, apiKeys: [{sha256: "${HASH}"}], labels: {tier: gold}}\n`,
    );
    const applied = await cli(["apply", "--etcd", etcd.endpoint, "--config-prefix", p, docs]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(applied.stdout.trim().split("\n"), ["policies/office created", "consumers/app created"]);
    const stored = await client.get(`${p}policies/office`).string();
    assert.deepEqual(JSON.parse(stored ?? "null"), {
      name: "office",
      type: "ip-restriction",
      config: { deny: ["127.0.0.0/8"] },
    });

    const revisionBefore = (await client.getAll().prefix(p).exec()).header.revision;
    const again = await cli(["apply", docs], { REFRACT_ETCD: etcd.endpoint, REFRACT_CONFIG_PREFIX: p });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.stdout.trim().split("\n"), [
      "policies/office unchanged",
      "consumers/app unchanged",
    ]);
    assert.equal((await client.getAll().prefix(p).exec()).header.revision, revisionBefore);

    const all = await cli(["get", "--etcd", etcd.endpoint, "--config-prefix", p]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(parseYaml(all.stdout), {
      policies: [{ name: "office", type: "ip-restriction", config: { deny: ["127.0.0.0/8"] } }],
      consumers: [{ name: "app", apiKeys: [{ sha256: HASH }], labels: { tier: "gold" } }],
    });
    const one = await cli(["get", "--etcd", etcd.endpoint, "--config-prefix", p, "--output", "json", "app"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).name, "app");
    const missing = await cli(["get", "--etcd", etcd.endpoint, "--config-prefix", p, "nobody"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nobody: not found under/);

    // An invalid file writes nothing at all, even beside valid documents.
    const invalid = file(
      "invalid.yaml",
      `- {name: lab, type: ip-restriction, config: {allow: ["10.0.0.0/8"]}}\n- {name: x, type: ip-restriction}\n`,
    );
    const refused = await cli(["apply", "--etcd", etcd.endpoint, "--config-prefix", p, invalid]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /policies\/x: \/config: required/);
    assert.equal(await client.get(`${p}policies/lab`).string(), null);

    const deleted = await cli([
      "delete",
      "--etcd",
      etcd.endpoint,
      "--config-prefix",
      p,
      "policies/office",
      "app",
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(deleted.stdout.trim().split("\n"), ["policies/office deleted", "consumers/app deleted"]);
    assert.equal((await client.getAll().prefix(p).keys()).length, 0);
    const gone = await cli(["delete", "--etcd", etcd.endpoint, "--config-prefix", p, "office"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /office: not found.*\n.*nothing was deleted/);
  });

  test("two applies at once: the one that read before the other committed fails, writes nothing, says retry", async () => {
    const p = prefix();
    const mine = file(
      "mine.yaml",
      JSON.stringify({ name: "office", type: "ip-restriction", config: { deny: ["10.0.0.0/8"] } }),
    );
    const theirs = file(
      "theirs.yaml",
      JSON.stringify({ name: "lab", type: "ip-restriction", config: { deny: ["192.0.2.0/24"] } }),
    );
    const stdout = collect();
    const stderr = collect();
    let other: Run | undefined;
    const code = await runConfigCommand(
      ["apply", "--etcd", etcd.endpoint, "--config-prefix", p, mine],
      {},
      {
        stdout: stdout.stream,
        stderr: stderr.stream,
        // The other operator's apply (the real CLI) commits between this one's read and its commit.
        afterRead: async () => {
          other = await cli(["apply", "--etcd", etcd.endpoint, "--config-prefix", p, theirs]);
        },
      },
    );
    assert.equal(other?.code, 0, other?.stderr);
    assert.equal(code, 1);
    assert.match(stderr.text(), /changed since it was read .*nothing was written: run the command again/);
    assert.equal(await client.get(`${p}policies/office`).string(), null);
    assert.notEqual(await client.get(`${p}policies/lab`).string(), null);

    // Run again: it applies.
    const retried = await cli(["apply", "--etcd", etcd.endpoint, "--config-prefix", p, mine]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.notEqual(await client.get(`${p}policies/office`).string(), null);

    // A delete of a document another operator rewrote in between fails the same way.
    const deleteStderr = collect();
    const deleteCode = await runConfigCommand(
      ["delete", "--etcd", etcd.endpoint, "--config-prefix", p, "office"],
      {},
      {
        stdout: collect().stream,
        stderr: deleteStderr.stream,
        afterRead: async () => {
          await client
            .put(`${p}policies/office`)
            .value(
              JSON.stringify({ name: "office", type: "ip-restriction", config: { deny: ["11.0.0.0/8"] } }),
            );
        },
      },
    );
    assert.equal(deleteCode, 1);
    assert.match(deleteStderr.text(), /changed since it was read/);
    assert.notEqual(await client.get(`${p}policies/office`).string(), null);
  });

  test("schema: one JSON Schema that checks every type's config; arguments and help", async () => {
    const printed = await cli(["schema"]);
    assert.equal(printed.code, 0, printed.stderr);
    const schema = JSON.parse(printed.stdout) as { definitions: Record<string, unknown> };
    assert.ok(schema.definitions["config-ip-restriction"]);
    const validate = new Ajv({ strict: false, logger: false }).compile(schema);
    assert.ok(validate({ name: "office", type: "ip-restriction", config: { deny: ["127.0.0.0/8"] } }));
    assert.equal(
      validate({ name: "office", type: "ip-restriction", config: { deny: "127.0.0.0/8" } }),
      false,
    );

    const noEtcd = await cli(["apply", join(dir, "x.yaml")]);
    assert.equal(noEtcd.code, 2);
    assert.match(noEtcd.stderr, /--etcd: missing \(or set REFRACT_ETCD\)/);
    const unknown = await cli(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: refract config validate FILE/);
  });
});
