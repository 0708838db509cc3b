import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { GatewayConfigError } from "../errors.js";
import type { GatewayConfig, GatewayOptions } from "./config.js";
import { parseDurationMs } from "./duration.js";
import { envName, OPTION_SPECS, type OptionSpec } from "./options.js";
import { parseBackendFlag, type StaticBackend } from "./static-backend.js";
import { validateGatewayOptions } from "./validate-options.js";

export interface LoadConfigInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file (injectable for tests). */
  readFile?: (path: string) => string;
}

export type LoadConfigResult =
  | { ok: true; config: GatewayConfig; help: boolean; positionals: string[] }
  | { ok: false; problems: string[] };

const SPEC_BY_FLAG = new Map(OPTION_SPECS.map((spec) => [spec.flag, spec]));
const SPEC_BY_KEY = new Map<string, OptionSpec>(OPTION_SPECS.map((spec) => [spec.key, spec]));
const REPEATABLE: ReadonlySet<string> = new Set(["list", "backend-list"]);

/**
 * Builds the configuration from defaults < config file < `REFRACT_*` environment < command-line flags,
 * then validates it with validateGatewayOptions() (the check createGateway() runs too). Every problem is reported (one
 * line each, naming the option and where it came from), not only the first.
 *
 * The flag parser is hand-written because node:util parseArgs cannot take `--flag=false` for booleans,
 * which the contract needs (`--emit-unpopulated=false`).
 */
export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const problems: string[] = [];
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  let configPath = input.env.REFRACT_CONFIG;
  const argv = [...input.argv];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (name === "config") {
      configPath = value ?? argv[++i];
      continue;
    }
    const spec = SPEC_BY_FLAG.get(name);
    if (!spec) {
      problems.push(`--${name}: unknown option (see --help)`);
      continue;
    }
    if (value === undefined) {
      if (spec.kind === "boolean") value = "true";
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) value = argv[++i]!;
      else {
        problems.push(`--${name}: needs a value`);
        continue;
      }
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }

  const values: Record<string, unknown> = {};
  // The file's policies:/consumers: lists are read (and watched) by the config store, not here.
  if (configPath) values.configFile = configPath;
  if (configPath) {
    let file: Record<string, unknown> | undefined;
    try {
      const text = (input.readFile ?? ((p) => readFileSync(p, "utf8")))(configPath);
      const parsed: unknown = parseYaml(text);
      if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) {
        problems.push(`config ${configPath}: must be a mapping of option names to values`);
      } else file = (parsed ?? {}) as Record<string, unknown>;
    } catch (error) {
      problems.push(`config ${configPath}: ${(error as Error).message.split("\n")[0]}`);
    }
    if (file) readFile(file, configPath, values, problems);
  }
  for (const spec of OPTION_SPECS) {
    const raw = input.env[envName(spec)];
    if (raw === undefined || raw === "") continue;
    const items = REPEATABLE.has(spec.kind)
      ? raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : [raw];
    assign(spec, items, `${envName(spec)}`, values, problems);
  }
  for (const [flag, items] of flags) {
    const spec = SPEC_BY_FLAG.get(flag)!;
    if (!REPEATABLE.has(spec.kind) && items.length > 1) {
      problems.push(`--${flag}: given ${items.length} times; give it once`);
      continue;
    }
    const split =
      spec.kind === "list"
        ? items.flatMap((s) =>
            s
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean),
          )
        : items;
    assign(spec, split, `--${flag}`, values, problems);
  }

  const partial: Record<string, unknown> = { json: {} };
  for (const [key, value] of Object.entries(values)) setPath(partial, key, value);
  let config: GatewayConfig | undefined;
  try {
    config = validateGatewayOptions(partial as GatewayOptions);
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error;
    // Named as the user can write them: the flag when the option has one, else the config-file key.
    for (const { option, problem } of error.optionProblems) {
      const spec = SPEC_BY_KEY.get(option);
      problems.push(`${spec ? `--${spec.flag}` : option === "options" ? "config" : option}: ${problem}`);
    }
  }
  if (problems.length > 0 || config === undefined) return { ok: false, problems };
  return { ok: true, config, help, positionals };
}

function readFile(
  file: Record<string, unknown>,
  path: string,
  values: Record<string, unknown>,
  problems: string[],
): void {
  for (const [key, raw] of Object.entries(file)) {
    if (key === "json" && raw && typeof raw === "object") {
      for (const [jsonKey, jsonRaw] of Object.entries(raw as Record<string, unknown>)) {
        const spec = OPTION_SPECS.find((s) => s.key === `json.${jsonKey}`);
        if (!spec) problems.push(`config ${path}: json.${jsonKey}: unknown option`);
        else assign(spec, toItems(jsonRaw), `config key json.${jsonKey}`, values, problems);
      }
      continue;
    }
    if (key === "backendJson") {
      values.backendJson = raw;
      continue;
    }
    // Policy and consumer documents: validated and applied live by src/config-store/, not options.
    if (key === "policies" || key === "consumers") continue;
    const spec = OPTION_SPECS.find((s) => s.key === key);
    if (!spec) {
      problems.push(`config ${path}: ${key}: unknown option`);
      continue;
    }
    if (spec.kind === "backend-list" && Array.isArray(raw) && raw.every((b) => b && typeof b === "object")) {
      values.backends = raw;
      continue;
    }
    assign(spec, toItems(raw), `config key ${key}`, values, problems);
  }
}

function toItems(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  return [String(raw)];
}

/** Converts the text of one option (from any source) into its typed value. */
function assign(
  spec: OptionSpec,
  items: string[],
  source: string,
  values: Record<string, unknown>,
  problems: string[],
): void {
  try {
    values[spec.key] = convert(spec, items);
  } catch (error) {
    const message =
      error instanceof GatewayConfigError ? error.message.replace(/^[^:]*: /, "") : (error as Error).message;
    problems.push(`${source}: ${message}`);
  }
}

function convert(spec: OptionSpec, items: string[]): unknown {
  const one = items[items.length - 1] ?? "";
  switch (spec.kind) {
    case "string":
      return one;
    case "integer": {
      if (!/^-?\d+$/.test(one.trim())) throw new Error(`"${one}" is not an integer`);
      return Number(one);
    }
    case "boolean": {
      const lower = one.trim().toLowerCase();
      if (lower === "true" || lower === "1" || lower === "yes") return true;
      if (lower === "false" || lower === "0" || lower === "no") return false;
      throw new Error(`"${one}" is not a boolean (true or false)`);
    }
    case "duration":
      return parseDurationMs(one, spec.flag);
    case "bytes":
      return parseBytes(one);
    case "list":
      return items;
    case "backend-list":
      return items.map((item): StaticBackend => parseBackendFlag(item));
  }
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1000,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** `4MiB`, `512KiB`, `1000000` → bytes. */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? "").toLowerCase()];
  if (!match || unit === undefined) throw new Error(`"${text}" is not a size (e.g. 4MiB, 512KiB, 1000000)`);
  return Math.floor(Number(match[1]) * unit);
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const [head, tail] = key.split(".", 2) as [string, string | undefined];
  if (tail === undefined) target[head] = value;
  else (target[head] as Record<string, unknown>)[tail] = value;
}

/** `--help` text: every option with its flag, environment variable and default. */
export function helpText(): string {
  const lines = [
    "usage: refract [options]            run the gateway",
    "       refract demo [options]       run the gateway with the bundled demo backends (no etcd)",
    "       refract register --help      register a backend instance in etcd and keep it alive",
    "       refract config --help        validate, apply, get, delete policy and consumer documents",
    "",
    "options (flag > REFRACT_* environment > --config file > default):",
    `  --config <file>                  YAML or JSON file of options, and policies:/consumers: lists applied live (env REFRACT_CONFIG)`,
  ];
  for (const spec of OPTION_SPECS) {
    const flag = `--${spec.flag}${spec.kind === "boolean" ? "[=true|false]" : " <value>"}`;
    lines.push(`  ${flag.padEnd(33)}${spec.description} Default: ${spec.defaultText}. Env: ${envName(spec)}`);
  }
  return `${lines.join("\n")}\n`;
}
