/**
 * Keeps one backend instance registered in etcd (CONTRACT.md §6): the key `<prefix><name>/<id>` holds the
 * naming JSON `{"Op":0,"Addr":…}` and is attached to a lease that is kept alive. If the lease is lost (it
 * expired during an outage, or etcd lost its data, or someone revoked it) a new lease is granted and the
 * key written again, with backoff, until close(). close() revokes the lease, which deletes the key.
 */
import type { Etcd3, Lease } from "etcd3";
import pino, { type Logger } from "pino";
import { createBackoff } from "../backoff.js";
import { GatewayConfigError } from "../errors.js";
import {
  createEtcdClient,
  type EtcdClientOptions,
  errorText,
  sleep,
  withTimeout,
} from "./etcd-registry-client.js";
import type { InstanceMetadata } from "./registry.js";
import {
  addressProblem,
  DEFAULT_REGISTRY_PREFIX,
  formatRegistryValue,
  instanceIdProblem,
  isValidBackendName,
  normalizePrefix,
  registryKey,
} from "./registry-value.js";

export interface RegisterBackendOptions {
  /** etcd endpoint URL(s) (`http://host:2379`), or an existing client (which is then not closed). */
  etcd: string | readonly string[] | Etcd3;
  /** Backend name, e.g. `library`. */
  name: string;
  /** `host:port` the gateway should dial. */
  address: string;
  /** Lease TTL. Rounded up to whole seconds (etcd's unit), at least 1 s. Default 10000. */
  ttlMs?: number;
  /** Key prefix. Default `/refract/backends/`. */
  prefix?: string;
  /** Instance id (the last key segment). Default: the address. */
  instanceId?: string;
  metadata?: InstanceMetadata;
  /** Default: silent. */
  logger?: Logger;
  /** Deadline of each etcd call. Default 5000. */
  callTimeoutMs?: number;
  /**
   * How long to keep trying the first registration before rejecting. Default 10000; `Infinity` keeps
   * trying until it works or `signal` aborts.
   */
  startTimeoutMs?: number;
  /** Aborting before the first registration rejects; after it, it is the same as close(). */
  signal?: AbortSignal;
  /** Retry delays after a failure (exponential, jittered, capped). Defaults 200 and 5000. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Extra etcd3 settings, used only when `etcd` is given as URL(s). */
  etcdOptions?: EtcdClientOptions;
}

export interface Registration {
  /** The etcd key written. */
  readonly key: string;
  /** Stops keeping the lease alive and revokes it (removing the key). Idempotent; bounded in time. */
  close(): Promise<void>;
}

/** Registers and resolves once the key is written; rejects on invalid options or when start times out. */
export async function registerBackend(options: RegisterBackendOptions): Promise<Registration> {
  const problems = registerBackendProblems(options);
  if (problems.length > 0) throw problems[0];
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_REGISTRY_PREFIX);
  const id = options.instanceId ?? options.address;
  const key = registryKey(prefix, options.name, id);
  const value = formatRegistryValue(options.address, options.metadata ?? {});
  const ttlSeconds = Math.max(1, Math.ceil((options.ttlMs ?? 10_000) / 1000));
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const log = (options.logger ?? pino({ level: "silent" })).child({ component: "register-backend", key });

  const owned = typeof options.etcd === "string" || Array.isArray(options.etcd);
  const client: Etcd3 = owned
    ? createEtcdClient({
        endpoints: typeof options.etcd === "string" ? [options.etcd] : (options.etcd as readonly string[]),
        callTimeoutMs,
        ...(options.etcdOptions ? { etcdOptions: options.etcdOptions } : {}),
      })
    : (options.etcd as Etcd3);

  const stop = new AbortController();
  const onExternalAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onExternalAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  let settleFirst: (error?: unknown) => void = () => {};
  const first = new Promise<void>((resolve, reject) => {
    settleFirst = (error?: unknown) => (error === undefined ? resolve() : reject(error));
  });

  /** Grants a lease and writes the key with it; resolves to the lease and a promise of its loss. */
  async function establish(): Promise<{ lease: Lease; lost: Promise<Error> }> {
    const lease = client.lease(ttlSeconds);
    // Attached at once: etcd3 emits 'lost' from the grant itself when it fails.
    const lost = new Promise<Error>((resolve) => lease.once("lost", resolve));
    // Typed as a keepalive response in etcd3's .d.ts, but it is the error (lease.js handleKeepaliveError).
    lease.on("keepaliveFailed", (error: unknown) =>
      log.debug({ err: errorText(error) }, "lease keepalive failed"),
    );
    try {
      const leaseId = await withDeadline(lease.grant(), "lease grant");
      await withDeadline(lease.put(key).value(value).exec(), "put");
      log.info({ leaseId, ttlSeconds, address: options.address }, "registered %s", key);
      return { lease, lost };
    } catch (error) {
      // The lease (if granted) has no key; stop its keepalive and let it expire.
      lease.release();
      throw error;
    }
  }

  async function revoke(lease: Lease): Promise<void> {
    try {
      await withDeadline(lease.revoke(), "lease revoke");
      log.info("deregistered %s", key);
    } catch (error) {
      // The key disappears anyway once the TTL runs out without keepalives.
      log.warn({ err: errorText(error), ttlSeconds }, "could not revoke lease; the key expires with it");
    }
  }

  function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
    // Our own clients put a deadline on every call; a client passed in may not, so bound it here too.
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} timed out after ${callTimeoutMs} ms`)),
        callTimeoutMs,
      );
      promise.then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    });
    return Promise.race([promise, timeout]);
  }

  async function maintain(): Promise<void> {
    const backoff = createBackoff(options.retryInitialMs ?? 200, options.retryMaxMs ?? 5_000);
    const startDeadline = Date.now() + startTimeoutMs;
    let registered = false;
    let lastWarning = "";
    while (!stop.signal.aborted) {
      let attempt: { lease: Lease; lost: Promise<Error> };
      try {
        attempt = await establish();
      } catch (error) {
        const text = errorText(error);
        if (!registered && Date.now() >= startDeadline) {
          settleFirst(new Error(`could not register ${key} within ${startTimeoutMs} ms: ${text}`));
          return;
        }
        // One warning per distinct error; repeats go to debug so an outage does not flood the log.
        if (text !== lastWarning) log.warn({ err: text }, "registration failed; retrying");
        else log.debug({ err: text }, "registration failed; retrying");
        lastWarning = text;
        await sleep(backoff.next(), stop.signal);
        continue;
      }
      lastWarning = "";
      backoff.reset();
      if (!registered) {
        registered = true;
        settleFirst();
      }
      const stopped = new Promise<undefined>((resolve) => {
        if (stop.signal.aborted) resolve(undefined);
        stop.signal.addEventListener("abort", () => resolve(undefined), { once: true });
      });
      const lostError = await Promise.race([attempt.lost, stopped]);
      if (lostError === undefined) {
        await revoke(attempt.lease);
        return;
      }
      log.warn({ err: errorText(lostError) }, "lease lost; registering again");
      await sleep(backoff.next(), stop.signal);
    }
    if (!registered) settleFirst(new Error(`registration of ${key} aborted`));
  }

  const loop = maintain().catch((error: unknown) => {
    log.error({ err: error }, "registration loop stopped unexpectedly");
    settleFirst(error);
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stop.abort();
      options.signal?.removeEventListener("abort", onExternalAbort);
      // The loop revokes the lease; its calls are bounded by callTimeoutMs each.
      await withTimeout(loop, 3 * callTimeoutMs, undefined);
      if (owned) client.close();
    })();
    return closing;
  };

  try {
    await first;
  } catch (error) {
    await close();
    throw error;
  }
  return { key, close };
}

/** Every problem with the options, one GatewayConfigError each (registerBackend throws the first). */
export function registerBackendProblems(
  options: Pick<RegisterBackendOptions, "etcd" | "name" | "address" | "instanceId" | "ttlMs">,
): GatewayConfigError[] {
  const problems: GatewayConfigError[] = [];
  if (!isValidBackendName(options.name)) {
    problems.push(new GatewayConfigError("name", `invalid backend name "${options.name}"`));
  }
  const address = addressProblem(options.address);
  if (address) problems.push(new GatewayConfigError("address", address));
  if (options.instanceId !== undefined) {
    const id = instanceIdProblem(options.instanceId);
    if (id) problems.push(new GatewayConfigError("id", id));
  }
  const ttl = options.ttlMs;
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) {
    problems.push(new GatewayConfigError("ttl", `must be a positive duration, got ${ttl}`));
  }
  if (typeof options.etcd === "string" && options.etcd.length === 0) {
    problems.push(new GatewayConfigError("etcd", "no etcd endpoint given"));
  }
  if (Array.isArray(options.etcd) && options.etcd.length === 0) {
    problems.push(new GatewayConfigError("etcd", "no etcd endpoint given"));
  }
  return problems;
}
