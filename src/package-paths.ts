import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory holding Refract's package.json, found by walking up from this module, so that bundled
 * files (proto/, fixtures/) resolve the same from source (tsx) and from the compiled `dist/` tree.
 */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "proto"))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find Refract's package root above ${start}`);
  }
}

/** Absolute path of a file shipped with the package, e.g. `packagePath("proto", "descriptors", "google.binpb")`. */
export function packagePath(...segments: string[]): string {
  return join(packageRoot, ...segments);
}
