import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { packagePath } from "../src/package-paths.js";

/** Problems found only when the gateway starts (files it reads) exit 2 with one line naming the option. */

function run(args: string[]) {
  return spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      packagePath("src", "cli", "main.ts"),
      "--backend=x=127.0.0.1:1",
      "--workers=1",
      "--port=0",
      "--admin-port=0",
      ...args,
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
}

test("an unreadable certificate file: exit 2, one line naming the option", () => {
  const result = run(["--tls-cert=/nonexistent/cert.pem", "--tls-key=/nonexistent/key.pem"]);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /^refract: tls-cert: cannot read \/nonexistent\/cert\.pem/m);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
});

test("an invalid HTTP rules file: exit 2, the rule index and the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "refract-rules-"));
  try {
    const file = join(dir, "rules.yaml");
    writeFileSync(file, 'http:\n  rules:\n    - selector: a.b.C\n      get: "/v1/{bad"\n');
    const result = run([`--http-rules=${file}`]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /http\.rules\[0\]\.get: unterminated variable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
