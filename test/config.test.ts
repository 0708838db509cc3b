import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { README_PATH, withOptionsTable } from "../scripts/gen-options-table.js";
import { loadConfig } from "../src/config/load-config.js";
import { envName, OPTION_SPECS } from "../src/config/options.js";
import { GatewayConfigError } from "../src/errors.js";
import { createGateway } from "../src/index.js";

const run = promisify(execFile);

/** Runs the real CLI in a child process; resolves with its exit code and output. */
async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // A clean environment: no REFRACT_* of the developer's shell leaks in.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("REFRACT_")));
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      env: { ...base, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const lines = (text: string) => text.split("\n").filter(Boolean);

describe("invalid configuration", () => {
  test("bad flags exit non-zero with one line per problem, naming the option", async () => {
    const { code, stdout, stderr } = await cli(["--port", "abc", "--bogus"]);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.deepEqual(
      lines(stderr).sort(),
      ['refract: --port: "abc" is not an integer', "refract: --bogus: unknown option (see --help)"].sort(),
    );
  });

  test("bad values from the environment and a config file are reported together", async () => {
    const dir = mkdtempSync(join(tmpdir(), "refract-config-"));
    try {
      const file = join(dir, "refract.yaml");
      writeFileSync(file, "adminPort: 70000\nlogLevel: loud\nnope: 1\nshutdownGraceMs: soon\n");
      const { code, stderr } = await cli(["--config", file, "--backend", "x=127.0.0.1:1"], {
        REFRACT_MAX_REQUEST_BYTES: "lots",
      });
      assert.equal(code, 2);
      const problems = lines(stderr);
      assert.equal(problems.length, 5, stderr);
      const expectations: RegExp[] = [
        /^refract: config .*refract\.yaml: nope: unknown option$/,
        /^refract: config key shutdownGraceMs: .*soon/,
        /^refract: REFRACT_MAX_REQUEST_BYTES: "lots" is not a size/,
        /^refract: --admin-port: must be <= 65535$/,
        /^refract: --log-level: must be equal to one of the allowed values$/,
      ];
      for (const expected of expectations)
        assert.ok(
          problems.some((p) => expected.test(p)),
          `${expected}\n${stderr}`,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("configuration sources", () => {
  const file = "port: 1000\nlogLevel: warn\nforwardHeaders: [x-from-file]\njson:\n  enumsAsInts: true\n";
  const load = (argv: string[], env: Record<string, string>) => {
    const result = loadConfig({ argv: ["--config", "refract.yaml", ...argv], env, readFile: () => file });
    assert.ok(result.ok, JSON.stringify(result));
    return result.config;
  };

  test("flag over environment over file over default", () => {
    assert.equal(load(["--port", "3000"], { REFRACT_PORT: "2000" }).port, 3000);
    assert.equal(load([], { REFRACT_PORT: "2000" }).port, 2000);
    assert.equal(load([], {}).port, 1000);
    assert.equal(load([], {}).adminPort, 9090, "default");
    assert.equal(load([], {}).logLevel, "warn");
    assert.equal(load([], { REFRACT_LOG_LEVEL: "debug" }).logLevel, "debug");
    assert.deepEqual(load([], {}).forwardHeaders, ["x-from-file"]);
    assert.deepEqual(load([], { REFRACT_FORWARD_HEADER: "a, b" }).forwardHeaders, ["a", "b"]);
    assert.deepEqual(
      load(["--forward-header", "c", "--forward-header", "d"], { REFRACT_FORWARD_HEADER: "a" })
        .forwardHeaders,
      ["c", "d"],
    );
    assert.equal(load([], {}).json.enumsAsInts, true);
    assert.equal(load(["--enums-as-ints=false"], {}).json.enumsAsInts, false);
  });

  test("the config file may come from REFRACT_CONFIG; durations and sizes take units", () => {
    const result = loadConfig({
      argv: ["--shutdown-grace", "2.5s", "--max-request-bytes", "1MiB"],
      env: { REFRACT_CONFIG: "from-env.yaml" },
      readFile: (path) => (path === "from-env.yaml" ? "docs: false\n" : ""),
    });
    assert.ok(result.ok);
    assert.equal(result.config.docs, false);
    assert.equal(result.config.shutdownGraceMs, 2500);
    assert.equal(result.config.maxRequestBytes, 1024 * 1024);
  });

  test("the defaults: 10 s shutdown grace, docs on", () => {
    const result = loadConfig({ argv: [], env: {} });
    assert.ok(result.ok);
    assert.equal(result.config.shutdownGraceMs, 10_000);
    assert.equal(result.config.docs, true);
  });
});

describe("one validation for every way in", () => {
  test("createGateway() rejects a bad option with a GatewayConfigError naming it, before opening anything", async () => {
    await assert.rejects(
      createGateway({ maxRequestBytes: -1 }),
      (error: unknown) =>
        error instanceof GatewayConfigError &&
        error.option === "maxRequestBytes" &&
        /^maxRequestBytes: must be >= 1$/.test(error.message),
    );
    await assert.rejects(
      createGateway({ json: { maxDepth: 0 } }),
      (error: unknown) => error instanceof GatewayConfigError && error.option === "json.maxDepth",
    );
    await assert.rejects(
      createGateway({ backendJson: { users: { enumsAsInts: "yes" as unknown as boolean } } }),
      (error: unknown) =>
        error instanceof GatewayConfigError && error.option === "backendJson.users.enumsAsInts",
    );
  });

  test("the component knobs are options: flags with units, config keys named with theirs", () => {
    const result = loadConfig({
      argv: [
        "--reflection-timeout",
        "3s",
        "--max-reflection-bytes",
        "128MiB",
        "--pending-schema-wait",
        "0",
        "--max-header-count",
        "50",
        "--max-backend-header-bytes",
        "64KiB",
        "--etcd-dial-timeout",
        "1s",
        "--etcd-retry-max",
        "30s",
      ],
      env: { REFRACT_ETCD_START_TIMEOUT: "500ms" },
    });
    assert.ok(result.ok, JSON.stringify(result));
    const c = result.config;
    assert.deepEqual(
      [c.reflectionTimeoutMs, c.maxReflectionBytes, c.pendingSchemaWaitMs, c.maxHeaderCount],
      [3000, 128 * 1024 ** 2, 0, 50],
    );
    assert.equal(c.maxBackendHeaderBytes, 64 * 1024);
    assert.deepEqual([c.etcdDialTimeoutMs, c.etcdStartTimeoutMs, c.etcdRetryMaxMs], [1000, 500, 30_000]);
    const withFile = loadConfig({
      argv: ["--config", "r.yaml"],
      env: {},
      readFile: () => "etcdRetryInitialMs: 50ms\n",
    });
    assert.ok(withFile.ok);
    assert.equal(withFile.config.etcdRetryInitialMs, 50);
    const bad = loadConfig({ argv: ["--reflection-timeout", "0", "--max-header-count", "0"], env: {} });
    assert.deepEqual(bad.ok ? [] : [...bad.problems].sort(), [
      "--max-header-count: must be >= 1",
      "--reflection-timeout: must be > 0",
    ]);
  });
});

describe("documentation of the options", () => {
  test("--help lists every option with its environment variable and default", async () => {
    const { code, stdout } = await cli(["--help"]);
    assert.equal(code, 0);
    const help = lines(stdout);
    for (const spec of OPTION_SPECS) {
      const line = help.find((l) => l.trimStart().startsWith(`--${spec.flag}`));
      assert.ok(line, `--${spec.flag} missing from --help`);
      assert.ok(line.includes(`Default: ${spec.defaultText}.`), line);
      assert.ok(line.includes(envName(spec)), line);
    }
    assert.ok(help.some((l) => l.includes("--config")));
  });

  test("the README options table is generated from the option table and up to date", () => {
    const readme = readFileSync(README_PATH, "utf8");
    assert.equal(
      withOptionsTable(readme),
      readme,
      "README.md is stale: run node --import tsx scripts/gen-options-table.ts",
    );
    for (const spec of OPTION_SPECS) assert.ok(readme.includes(`| \`--${spec.flag}`), spec.flag);
  });
});
