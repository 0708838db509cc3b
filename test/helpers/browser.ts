import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { packagePath } from "../../src/package-paths.js";

/** Debian's chromium, installed by the project's own script when missing (no test is skipped for it). */
export function chromiumPath(): string {
  const printed = execFileSync("bash", [packagePath("scripts", "install-chromium.sh")], { encoding: "utf8" })
    .trim()
    .split("\n");
  const path = printed.at(-1);
  assert.ok(path, "scripts/install-chromium.sh printed no browser path");
  return path;
}
