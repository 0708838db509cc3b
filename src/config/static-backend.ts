import { GatewayConfigError } from "../errors.js";

/** One `--backend name=host:port` entry (or a config-file `backends` item). */
export interface StaticBackend {
  name: string;
  address: string;
  /** Dial with TLS (`name=grpcs://host:port` on the command line). Default false. */
  tls?: boolean;
  /** `:authority` and TLS server name to use instead of the address. */
  authority?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ADDRESS_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

const SCHEME_RE = /^(grpcs?):\/\//;

/**
 * Parses `name=host:port`, `name=grpc://host:port` or `name=grpcs://host:port` (TLS); throws a
 * GatewayConfigError naming the problem. The scheme is the one flag-sized way to say "TLS" per backend;
 * certificates are gateway-wide (`--backend-ca`, `--backend-cert`, `--backend-key`).
 */
export function parseBackendFlag(value: string): StaticBackend {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new GatewayConfigError("backend", `"${value}" is not name=host:port`);
  const name = value.slice(0, eq);
  const target = value.slice(eq + 1);
  const scheme = SCHEME_RE.exec(target)?.[1];
  const address = scheme === undefined ? target : target.slice(scheme.length + 3);
  if (!NAME_RE.test(name)) throw new GatewayConfigError("backend", `invalid backend name "${name}"`);
  const match = ADDRESS_RE.exec(address);
  if (!match || Number(match[2]) > 65535) {
    throw new GatewayConfigError(
      "backend",
      `invalid address "${address}" for backend "${name}" (want host:port)`,
    );
  }
  return scheme === "grpcs" ? { name, address, tls: true } : { name, address };
}
