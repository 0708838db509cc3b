/**
 * The etcd registry format (CONTRACT.md §6), as pure functions: key layout, value parsing and the value
 * `registerBackend` writes. Nothing here throws on bad input from etcd; callers log and skip it.
 *
 * Key:   `<prefix><backend-name>/<instance-id>`
 * Value: etcd's gRPC naming JSON (`go.etcd.io/etcd/client/v3/naming/endpoints`, internal.Update:
 *        `{"Op":0,"Addr":"host:port","Metadata":{...}}`) or a bare `host:port`.
 */
import type { InstanceMetadata } from "./registry.js";

/** Default key prefix for backend instances (`--etcd-prefix`). */
export const DEFAULT_REGISTRY_PREFIX = "/refract/backends/";

/** Backend names: the same rule as `--backend name=host:port`. */
const BACKEND_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** `host:port` with a DNS name, IPv4 or bracketed IPv6 host. */
const ADDRESS_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;
// Instance ids are free-form (the Go naming package often uses the address) but must stay printable:
// they appear in logs and on /admin/backends.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** A parsed key: which backend and which instance of it. */
export type RegistryKey =
  | { readonly ok: true; readonly backend: string; readonly id: string }
  | { readonly ok: false; readonly reason: string };

/**
 * A parsed value. `delete` is the naming package's `Op: 1`: the key exists but says the endpoint is gone,
 * so it must be treated as absent.
 */
export type RegistryValue =
  | { readonly ok: true; readonly op: "add"; readonly address: string; readonly metadata: InstanceMetadata }
  | { readonly ok: true; readonly op: "delete" }
  | { readonly ok: false; readonly reason: string };

/** Key and value together, as the registry consumes them. */
export type RegistryEntry =
  | {
      readonly kind: "instance";
      readonly backend: string;
      readonly id: string;
      readonly address: string;
      readonly metadata: InstanceMetadata;
    }
  | { readonly kind: "deleted"; readonly backend: string; readonly id: string }
  | { readonly kind: "invalid"; readonly reason: string };

/** Ensures the prefix ends with `/`, so `/a/b` and `/a/b/` name the same directory-like range. */
export function normalizePrefix(prefix: string): string {
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

/** True when `name` is a valid backend name. */
export function isValidBackendName(name: string): boolean {
  return BACKEND_NAME_RE.test(name);
}

/** Returns why `address` is not a dialable `host:port`, or undefined when it is. */
export function addressProblem(address: string): string | undefined {
  const match = ADDRESS_RE.exec(address);
  if (!match) return `"${address}" is not host:port`;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return `port ${match[2]} in "${address}" is out of range 1-65535`;
  return undefined;
}

/** Returns why `id` cannot be an instance id, or undefined when it can. */
export function instanceIdProblem(id: string): string | undefined {
  if (id.length === 0) return "instance id is empty";
  if (CONTROL_RE.test(id)) return "instance id contains control characters";
  return undefined;
}

/** The key of one instance: `<prefix><backend>/<id>` (the prefix is normalized first). */
export function registryKey(prefix: string, backend: string, id: string): string {
  return `${normalizePrefix(prefix)}${backend}/${id}`;
}

/** Splits `<prefix><backend>/<id>`; the id is everything after the first `/` and may contain `/`. */
export function parseRegistryKey(key: string, prefix: string): RegistryKey {
  const normalized = normalizePrefix(prefix);
  if (!key.startsWith(normalized)) return { ok: false, reason: `key is outside the prefix ${normalized}` };
  const rest = key.slice(normalized.length);
  const slash = rest.indexOf("/");
  if (slash < 0)
    return { ok: false, reason: "key has no instance id (want <prefix><backend>/<instance-id>)" };
  const backend = rest.slice(0, slash);
  const id = rest.slice(slash + 1);
  if (!isValidBackendName(backend)) return { ok: false, reason: `invalid backend name "${backend}"` };
  const idProblem = instanceIdProblem(id);
  if (idProblem) return { ok: false, reason: idProblem };
  return { ok: true, backend, id };
}

/**
 * Parses a value. JSON object keys are matched case-insensitively, as Go's encoding/json does for the
 * naming package's struct fields (`op`, `ADDR` and `Addr` are the same field; the last one wins).
 */
export function parseRegistryValue(raw: string): RegistryValue {
  const text = raw.trim();
  if (text.length === 0) return { ok: false, reason: "value is empty" };
  if (!text.startsWith("{")) {
    const problem = addressProblem(text);
    return problem ? { ok: false, reason: `${problem} and not naming JSON` } : addInstance(text, {});
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `invalid JSON: ${(error as Error).message}` };
  }
  if (!isPlainObject(parsed)) return { ok: false, reason: "JSON value is not an object" };
  const fields = foldKeys(parsed);

  const op = fields.get("op");
  // Operation is a uint8 in Go: 0 = Add, 1 = Delete; absent means Add.
  if (op !== undefined && op !== null && op !== 0 && op !== 1) {
    return { ok: false, reason: `unsupported Op ${JSON.stringify(op)} (want 0 = add or 1 = delete)` };
  }
  if (op === 1) return { ok: true, op: "delete" };

  const addr = fields.get("addr");
  if (typeof addr !== "string" || addr.length === 0)
    return { ok: false, reason: "Addr is missing or not a string" };
  const problem = addressProblem(addr);
  if (problem) return { ok: false, reason: `Addr ${problem}` };

  const metadata = parseMetadata(fields.get("metadata"));
  if (typeof metadata === "string") return { ok: false, reason: metadata };
  return addInstance(addr, metadata);
}

/** Parses a key and its value together; the value is read only when the key is valid. */
export function parseRegistryEntry(key: string, value: string, prefix: string): RegistryEntry {
  const parsedKey = parseRegistryKey(key, prefix);
  if (!parsedKey.ok) return { kind: "invalid", reason: parsedKey.reason };
  const parsedValue = parseRegistryValue(value);
  if (!parsedValue.ok) return { kind: "invalid", reason: parsedValue.reason };
  if (parsedValue.op === "delete") return { kind: "deleted", backend: parsedKey.backend, id: parsedKey.id };
  return {
    kind: "instance",
    backend: parsedKey.backend,
    id: parsedKey.id,
    address: parsedValue.address,
    metadata: parsedValue.metadata,
  };
}

/** The value `registerBackend` writes: naming JSON with `Op: 0`, readable by etcd's Go resolver too. */
export function formatRegistryValue(address: string, metadata: InstanceMetadata = {}): string {
  const meta: Record<string, unknown> = {};
  if (metadata.tls !== undefined) meta.tls = metadata.tls;
  if (metadata.authority !== undefined) meta.authority = metadata.authority;
  return JSON.stringify(
    Object.keys(meta).length === 0 ? { Op: 0, Addr: address } : { Op: 0, Addr: address, Metadata: meta },
  );
}

function addInstance(address: string, metadata: InstanceMetadata): RegistryValue {
  return { ok: true, op: "add", address, metadata };
}

/**
 * Metadata is `any` in the naming package, so other writers may store a string or an array there: only an
 * object is read, anything else is ignored. Known fields with the wrong type are errors, because dialing
 * without TLS when TLS was asked for is worse than not dialing.
 */
function parseMetadata(value: unknown): InstanceMetadata | string {
  if (!isPlainObject(value)) return {};
  const fields = foldKeys(value);
  const metadata: InstanceMetadata = {};
  const tls = fields.get("tls");
  if (tls !== undefined && tls !== null) {
    if (typeof tls !== "boolean") return `Metadata.tls must be a boolean, got ${JSON.stringify(tls)}`;
    metadata.tls = tls;
  }
  const authority = fields.get("authority");
  if (authority !== undefined && authority !== null) {
    if (typeof authority !== "string" || authority.length === 0 || CONTROL_RE.test(authority)) {
      return `Metadata.authority must be a non-empty string, got ${JSON.stringify(authority)}`;
    }
    metadata.authority = authority;
  }
  return metadata;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function foldKeys(object: Record<string, unknown>): Map<string, unknown> {
  const folded = new Map<string, unknown>();
  for (const [key, value] of Object.entries(object)) folded.set(key.toLowerCase(), value);
  return folded;
}
