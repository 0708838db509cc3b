/**
 * `refract config` (issue 15; CONTRACT.md §10): policy and consumer documents, offline and in etcd.
 *
 *   refract config validate FILE…                         offline, against the schemas
 *   refract config apply  --etcd URL [--config-prefix P] FILE…   validate, then write in ONE transaction
 *   refract config get    --etcd URL [--config-prefix P] [--output yaml|json] [NAME]
 *   refract config delete --etcd URL [--config-prefix P] NAME…
 *   refract config schema                                 the JSON Schema of the documents
 *
 * A FILE (YAML or JSON) holds one document, a list of them, or `{policies: […], consumers: […]}`. A NAME is
 * `policies/<name>`, `consumers/<name>`, or a bare name when only one kind has it. Environment (flags win):
 * REFRACT_ETCD, REFRACT_CONFIG_PREFIX.
 *
 * No lost update: apply and delete read the prefix, then commit in one etcd transaction that holds only if
 * no key under the prefix was written since that read (a range compare on mod revisions) and the keys they
 * replace or delete still have the mod revision read. When two operators apply at once, one commits and the
 * other fails, writes nothing, and is told to retry.
 *
 * Exit codes: 0 done (or valid); 1 etcd failed, a conflict, or a NAME not found; 2 invalid arguments or
 * invalid documents (one line per problem on stderr).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CompareResult, CompareTarget, type Etcd3, type IKeyValue, Range } from "etcd3";
import { stringify as toYaml } from "yaml";
import { OPTION_SPECS } from "../config/options.js";
import { parseDocumentText } from "../config-store/config-source.js";
import { DEFAULT_CONFIG_PREFIX, parseConfigKey } from "../config-store/etcd-config-source.js";
import {
  configDocumentsJsonSchema,
  createDocumentValidator,
  type DocumentKind,
  documentLabel,
  formatProblem,
  kindOf,
  type PolicyTypeSchema,
} from "../config-store/validate-documents.js";
import { createEtcdClient, endpointProblems, errorText } from "../registry/etcd-registry-client.js";
import { normalizePrefix } from "../registry/registry-value.js";

export interface ConfigCommandIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** The policy types documents may name. Default: every type Refract has. */
  types?: readonly PolicyTypeSchema[];
  /**
   * Test seam (internal): awaited by apply and delete between their read and their commit, so a test can
   * let another operator write in between, deterministically.
   */
  afterRead?: () => Promise<void>;
}

const USAGE = `usage: refract config validate FILE…
       refract config apply  --etcd URL[,URL] [--config-prefix ${DEFAULT_CONFIG_PREFIX}] FILE…
       refract config get    --etcd URL[,URL] [--config-prefix ${DEFAULT_CONFIG_PREFIX}] [--output yaml|json] [NAME]
       refract config delete --etcd URL[,URL] [--config-prefix ${DEFAULT_CONFIG_PREFIX}] NAME…
       refract config schema

FILE: YAML or JSON holding one policy or consumer document, a list of them, or {policies: […], consumers: […]}.
NAME: policies/<name>, consumers/<name>, or <name> when only one kind has it.
apply writes every document in one etcd transaction that fails (exit 1, nothing written) when anything
under the prefix changed since it was read: run it again. Environment: REFRACT_ETCD, REFRACT_CONFIG_PREFIX.
Exit codes: 0 done, 1 etcd failure / conflict / not found, 2 invalid arguments or documents.
`;

/** A document read from a file, validated. */
interface FileDocument {
  kind: DocumentKind;
  name: string;
  document: unknown;
}

/** Runs `refract config …`; resolves to the exit code. */
export async function runConfigCommand(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ConfigCommandIo = {},
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const fail = (lines: readonly string[], code: number) => {
    for (const line of lines) stderr.write(`refract config: ${line}\n`);
    return code;
  };
  let parsed: ReturnType<typeof parseConfigArgs>;
  try {
    parsed = parseConfigArgs(argv);
  } catch (error) {
    stderr.write(`refract config: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { command, values, positionals } = parsed;
  if (values.help || command === undefined || command === "help") {
    (values.help || command === "help" ? stdout : stderr).write(USAGE);
    return values.help || command === "help" ? 0 : 2;
  }
  const types = io.types ?? (await defaultPolicyTypes());

  switch (command) {
    case "schema":
      if (positionals.length > 0) return fail(["schema takes no arguments"], 2);
      stdout.write(`${JSON.stringify(configDocumentsJsonSchema(types), null, 2)}\n`);
      return 0;
    case "validate": {
      if (positionals.length === 0) return fail(["validate: give at least one FILE"], 2);
      const read = readDocumentFiles(positionals, types);
      if (read.problems.length > 0) return fail(read.problems, 2);
      stdout.write(`${read.documents.length} document(s) valid\n`);
      return 0;
    }
    case "apply":
    case "get":
    case "delete":
      break;
    default:
      return fail([`unknown command "${command}" (validate, apply, get, delete, schema)`], 2);
  }

  const problems: string[] = [];
  // An empty variable counts as unset, as for the gateway's own REFRACT_* variables.
  const etcd = values.etcd ?? (env.REFRACT_ETCD || undefined);
  const endpoints = (etcd ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (etcd === undefined) problems.push("--etcd: missing (or set REFRACT_ETCD)");
  else for (const problem of endpointProblems(endpoints)) problems.push(`--etcd: ${problem}`);
  const prefix = normalizePrefix(
    values["config-prefix"] ?? (env.REFRACT_CONFIG_PREFIX || DEFAULT_CONFIG_PREFIX),
  );
  if (prefix === "/") problems.push("--config-prefix: must not be empty or /");
  const output = values.output ?? "yaml";
  if (output !== "yaml" && output !== "json") problems.push("--output: must be yaml or json");
  if (command === "apply" && positionals.length === 0) problems.push("apply: give at least one FILE");
  if (command === "delete" && positionals.length === 0) problems.push("delete: give at least one NAME");
  if (command === "get" && positionals.length > 1) problems.push("get: give at most one NAME");
  let documents: FileDocument[] = [];
  if (command === "apply" && positionals.length > 0) {
    const read = readDocumentFiles(positionals, types);
    problems.push(...read.problems);
    documents = read.documents;
    // etcd's default --max-txn-ops is 128: one transaction cannot carry more writes.
    if (documents.length > 127)
      problems.push(`apply: at most 127 documents at once (got ${documents.length})`);
  }
  if (problems.length > 0) return fail(problems, 2);

  const client = createEtcdClient({ endpoints, callTimeoutMs: 5_000 });
  try {
    if (command === "get")
      return await get(client, prefix, positionals[0], output as "yaml" | "json", stdout, fail);
    if (command === "apply") return await apply(client, prefix, documents, io, stdout, fail);
    return await remove(client, prefix, positionals, io, stdout, fail);
  } catch (error) {
    return fail([`etcd: ${errorText(error)}`], 1);
  } finally {
    client.close();
  }
}

const OPTIONS = {
  etcd: { type: "string" },
  "config-prefix": { type: "string" },
  output: { type: "string", short: "o" },
  help: { type: "boolean", short: "h" },
} as const;

function parseConfigArgs(argv: string[]) {
  const first = argv[0];
  const command = first !== undefined && !first.startsWith("-") ? first : undefined;
  const args = command === undefined ? argv : argv.slice(1);
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: OPTIONS });
  return { command, values, positionals };
}

/** Reads and validates every file; every problem is `FILE: <document>: <path>: <problem>`. */
export function readDocumentFiles(
  files: readonly string[],
  types: readonly PolicyTypeSchema[],
): { documents: FileDocument[]; problems: string[] } {
  const validator = createDocumentValidator(types);
  const documents: FileDocument[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      problems.push(
        `${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : errorText(error)}`,
      );
      continue;
    }
    const parsed = parseDocumentText(text);
    if ("problem" in parsed) {
      problems.push(`${file}: ${parsed.problem}`);
      continue;
    }
    const items = documentsOf(parsed.value);
    if (typeof items === "string") {
      problems.push(`${file}: ${items}`);
      continue;
    }
    for (const { kind, value, position } of items) {
      const label = documentLabel(kind, value, position);
      const result = kind === "policies" ? validator.policy(value) : validator.consumer(value);
      if (!result.ok) {
        for (const problem of result.problems) problems.push(`${file}: ${formatProblem(label, problem)}`);
        continue;
      }
      const name = result.document.name;
      const key = `${kind}/${name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        problems.push(`${file}: ${key}: defined twice (also in ${first})`);
        continue;
      }
      seen.set(key, file);
      documents.push({ kind, name, document: result.document });
    }
  }
  return { documents, problems };
}

/** The documents of one file: one, a list, or `{policies, consumers}`; a string when the shape is wrong. */
function documentsOf(value: unknown): { kind: DocumentKind; value: unknown; position: string }[] | string {
  if (value === null || value === undefined) return "no documents";
  if (Array.isArray(value))
    return value.map((item, i) => ({ kind: kindOf(item), value: item, position: `[${i}]` }));
  if (typeof value !== "object") return "must hold a document, a list of documents, or {policies, consumers}";
  const object = value as Record<string, unknown>;
  if (!("policies" in object) && !("consumers" in object))
    return [{ kind: kindOf(object), value, position: "document" }];
  const out: { kind: DocumentKind; value: unknown; position: string }[] = [];
  for (const key of Object.keys(object)) {
    // A gateway's own --config file holds options beside its lists: the gateway checks those itself.
    if (GATEWAY_OPTION_KEYS.has(key)) continue;
    if (key !== "policies" && key !== "consumers") return `${key}: unknown key beside policies and consumers`;
    const list = object[key];
    if (!Array.isArray(list)) return `${key}: must be a list of documents`;
    list.forEach((item, i) => {
      out.push({ kind: key, value: item, position: `${key}[${i}]` });
    });
  }
  return out;
}

/** Top-level keys of a gateway's --config file besides the lists (`json.emitUnpopulated` → `json`). */
const GATEWAY_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...OPTION_SPECS.map((spec) => spec.key.split(".")[0]!),
  "backendJson",
  "backends",
]);

type Fail = (lines: readonly string[], code: number) => number;

interface Read {
  revision: bigint;
  byKey: Map<string, IKeyValue>;
}

async function readPrefix(client: Etcd3, prefix: string): Promise<Read> {
  const response = await client.getAll().prefix(prefix).exec();
  return {
    revision: BigInt(response.header.revision),
    byKey: new Map(response.kvs.map((kv) => [kv.key.toString("utf8"), kv])),
  };
}

/**
 * Commits `operations` only if nothing under the prefix was written after `read` (every key's mod revision
 * is at most the read's revision) and the keys in `touched` still have the mod revision read (a deleted
 * key would escape the range compare). Returns false on a conflict.
 */
async function commitIfUnchanged(
  client: Etcd3,
  prefix: string,
  read: Read,
  touched: readonly string[],
  operations: { put?: { key: string; value: string }; deleteKey?: string }[],
): Promise<boolean> {
  const range = Range.prefix(prefix);
  const compare = [
    {
      key: range.start,
      range_end: range.end,
      target: CompareTarget.Mod,
      result: CompareResult.Less,
      mod_revision: (read.revision + 1n).toString(),
    },
    ...touched.map((key) => {
      const kv = read.byKey.get(key);
      return kv
        ? {
            key: Buffer.from(key),
            target: CompareTarget.Mod,
            result: CompareResult.Equal,
            mod_revision: kv.mod_revision,
          }
        : { key: Buffer.from(key), target: CompareTarget.Version, result: CompareResult.Equal, version: 0 };
    }),
  ];
  const success = operations.map((op) =>
    op.put
      ? { request_put: { key: Buffer.from(op.put.key), value: Buffer.from(op.put.value) } }
      : { request_delete_range: { key: Buffer.from(op.deleteKey!) } },
  );
  const response = await client.kv.txn({ compare, success, failure: [] });
  return response.succeeded;
}

const CONFLICT =
  "the configuration under %s changed since it was read (another operator?); nothing was written: run the command again";

async function apply(
  client: Etcd3,
  prefix: string,
  documents: readonly FileDocument[],
  io: ConfigCommandIo,
  stdout: NodeJS.WritableStream,
  fail: Fail,
): Promise<number> {
  const read = await readPrefix(client, prefix);
  await io.afterRead?.();
  const writes: { key: string; value: string }[] = [];
  const report: string[] = [];
  for (const { kind, name, document } of documents) {
    const key = `${prefix}${kind}/${name}`;
    const value = `${JSON.stringify(document, null, 2)}\n`;
    const stored = read.byKey.get(key);
    const before = stored ? parseDocumentText(stored.value.toString("utf8")) : undefined;
    if (before && "value" in before && JSON.stringify(before.value) === JSON.stringify(document)) {
      report.push(`${kind}/${name} unchanged`);
      continue;
    }
    writes.push({ key, value });
    report.push(`${kind}/${name} ${stored ? "updated" : "created"}`);
  }
  if (writes.length > 0) {
    const ok = await commitIfUnchanged(
      client,
      prefix,
      read,
      writes.map((w) => w.key),
      writes.map((put) => ({ put })),
    );
    if (!ok) return fail([CONFLICT.replace("%s", prefix)], 1);
  }
  for (const line of report) stdout.write(`${line}\n`);
  return 0;
}

/** Resolves NAME arguments to keys of `read`; problems for unknown or ambiguous names. */
function resolveNames(
  read: Read,
  prefix: string,
  names: readonly string[],
): { keys: string[]; problems: string[] } {
  const keys: string[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const explicit = /^(policies|consumers)\/(.+)$/.exec(name);
    const candidates = explicit
      ? [`${prefix}${name}`]
      : [`${prefix}policies/${name}`, `${prefix}consumers/${name}`];
    const found = candidates.filter((key) => read.byKey.has(key));
    if (found.length === 0) problems.push(`${name}: not found under ${prefix}`);
    else if (found.length > 1)
      problems.push(`${name}: both a policy and a consumer; say policies/${name} or consumers/${name}`);
    else keys.push(found[0]!);
  }
  return { keys, problems };
}

async function remove(
  client: Etcd3,
  prefix: string,
  names: readonly string[],
  io: ConfigCommandIo,
  stdout: NodeJS.WritableStream,
  fail: Fail,
): Promise<number> {
  const read = await readPrefix(client, prefix);
  await io.afterRead?.();
  const { keys, problems } = resolveNames(read, prefix, names);
  if (problems.length > 0) return fail([...problems, "nothing was deleted"], 1);
  const unique = [...new Set(keys)];
  const ok = await commitIfUnchanged(
    client,
    prefix,
    read,
    unique,
    unique.map((deleteKey) => ({ deleteKey })),
  );
  if (!ok) return fail([CONFLICT.replace("%s", prefix)], 1);
  for (const key of unique) stdout.write(`${key.slice(prefix.length)} deleted\n`);
  return 0;
}

async function get(
  client: Etcd3,
  prefix: string,
  name: string | undefined,
  output: "yaml" | "json",
  stdout: NodeJS.WritableStream,
  fail: Fail,
): Promise<number> {
  const read = await readPrefix(client, prefix);
  const print = (value: unknown) =>
    stdout.write(output === "json" ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value));
  const parse = (kv: IKeyValue): { value: unknown } | { problem: string } =>
    parseDocumentText(kv.value.toString("utf8"));
  if (name !== undefined) {
    const { keys, problems } = resolveNames(read, prefix, [name]);
    if (problems.length > 0) return fail(problems, 1);
    const parsed = parse(read.byKey.get(keys[0]!)!);
    if ("problem" in parsed) return fail([`${keys[0]}: ${parsed.problem}`], 1);
    print(parsed.value);
    return 0;
  }
  const all: { policies: unknown[]; consumers: unknown[] } = { policies: [], consumers: [] };
  const problems: string[] = [];
  for (const [key, kv] of [...read.byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parsedKey = parseConfigKey(key, prefix);
    if (!parsedKey) continue;
    const parsed = parse(kv);
    if ("problem" in parsed) problems.push(`${key}: ${parsed.problem} (left out)`);
    else all[parsedKey.kind].push(parsed.value);
  }
  print(all);
  if (problems.length > 0) fail(problems, 0);
  return 0;
}

/** Every policy type Refract has, with its config schema (loaded only by this command). */
async function defaultPolicyTypes(): Promise<readonly PolicyTypeSchema[]> {
  const { policyTypeSchemas } = await import("../policy/policy-types.js");
  return policyTypeSchemas();
}
