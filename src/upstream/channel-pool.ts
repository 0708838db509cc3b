import * as grpc from "@grpc/grpc-js";
import { type BackendInstance, type BackendSet, instanceKey } from "../registry/registry.js";
import { H2UnaryTransport } from "./h2-unary.js";

/** How channels to backends are made. */
export interface ChannelPoolOptions {
  /** Max response message size accepted from backends, bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Max message size for reflection answers, bytes. Default 64 MiB (descriptor sets of big APIs). */
  maxReflectionBytes?: number;
  /** Credentials for instances whose metadata asks for TLS (src/upstream/backend-tls.ts). Default: system roots. */
  tlsCredentials?: grpc.ChannelCredentials;
  /** Name TLS backends' certificates are verified against instead of the dialed host. Default: none. */
  tlsServerName?: string;
  /** Compress request messages to backends that advertise the algorithm (`grpc-accept-encoding`). Default: none. */
  compression?: "gzip" | "deflate";
}

// grpc-js's compression algorithm numbers (compression-algorithms.ts: identity 0, deflate 1, gzip 2).
const COMPRESSION_ALGORITHM = { deflate: 1, gzip: 2 } as const;

interface Entry {
  instance: BackendInstance;
  client: grpc.Client;
  reflectionClient: grpc.Client | undefined;
  /** READY was seen and the connection has not dropped since. */
  wasReady: boolean;
  /** The connection dropped after having been READY; the next READY is a reconnect. */
  reconnecting: boolean;
  closed: boolean;
}

/**
 * One grpc-js channel per instance, created on first use and reused by every call (grpc-js multiplexes
 * calls over its HTTP/2 connection), closed when the instance leaves the registry. It also watches each
 * channel: a channel that drops and becomes READY again (a backend restarted at the same address, with
 * no registry change) is reported through `onReconnect`, so its schema can be fetched again.
 */
export class ChannelPool {
  readonly #entries = new Map<string, Entry>();
  readonly #options: Required<Pick<ChannelPoolOptions, "maxResponseBytes" | "maxReflectionBytes">> &
    Pick<ChannelPoolOptions, "tlsServerName" | "compression"> & { tls: grpc.ChannelCredentials };
  readonly #reconnectListeners = new Set<(instance: BackendInstance) => void>();
  readonly #h2 = new H2UnaryTransport();

  constructor(options: ChannelPoolOptions = {}) {
    this.#options = {
      maxResponseBytes: options.maxResponseBytes ?? 16 * 1024 * 1024,
      maxReflectionBytes: options.maxReflectionBytes ?? 64 * 1024 * 1024,
      tls: options.tlsCredentials ?? grpc.credentials.createSsl(),
      ...(options.tlsServerName === undefined ? {} : { tlsServerName: options.tlsServerName }),
      ...(options.compression === undefined ? {} : { compression: options.compression }),
    };
  }

  /**
   * The lean unary transport (h2-unary.ts) when it can serve this instance — plaintext, no message
   * compression requested — else undefined and the call goes through grpc-js.
   */
  unaryTransport(instance: BackendInstance): H2UnaryTransport | undefined {
    if (instance.metadata.tls || this.#options.compression !== undefined) return undefined;
    // The grpc-js channel still exists for the same instance: it watches connectivity (reconnects
    // trigger schema refreshes, failing instances are tried last) and carries streams and reflection.
    this.#entry(instance);
    return this.#h2;
  }

  /** Largest response message accepted from backends, bytes. */
  get maxResponseBytes(): number {
    return this.#options.maxResponseBytes;
  }

  /** The client (channel) for calls to an instance. */
  client(instance: BackendInstance): grpc.Client {
    return this.#entry(instance).client;
  }

  /** A separate channel for reflection: its answers may exceed the call receive limit. */
  reflectionClient(instance: BackendInstance): grpc.Client {
    const entry = this.#entry(instance);
    entry.reflectionClient ??= this.#makeClient(instance, this.#options.maxReflectionBytes);
    return entry.reflectionClient;
  }

  /** Whether the instance's channel is failing to connect (calls would fail fast). */
  isFailing(instance: BackendInstance): boolean {
    const entry = this.#entries.get(instanceKey(instance));
    return (
      entry?.client.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE
    );
  }

  onReconnect(listener: (instance: BackendInstance) => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /** Closes the channels of instances no longer in the set. */
  retain(backends: BackendSet): void {
    const keep = new Set<string>();
    for (const list of backends.values()) for (const instance of list) keep.add(instanceKey(instance));
    for (const [key, entry] of this.#entries) {
      if (!keep.has(key)) this.#close(key, entry);
    }
  }

  close(): void {
    for (const [key, entry] of this.#entries) this.#close(key, entry);
    this.#h2.close();
  }

  #entry(instance: BackendInstance): Entry {
    const key = instanceKey(instance);
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {
        instance,
        client: this.#makeClient(instance, this.#options.maxResponseBytes),
        reflectionClient: undefined,
        wasReady: false,
        reconnecting: false,
        closed: false,
      };
      this.#entries.set(key, entry);
      this.#watch(entry);
    }
    return entry;
  }

  #makeClient(instance: BackendInstance, maxReceiveBytes: number): grpc.Client {
    const options: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": maxReceiveBytes,
      "grpc.max_send_message_length": -1,
      // Each channel gets its own connection: instances are addressed individually, never pooled by grpc-js.
      "grpc.use_local_subchannel_pool": 1,
    };
    if (instance.metadata.authority) options["grpc.default_authority"] = instance.metadata.authority;
    const { tlsServerName, compression } = this.#options;
    if (instance.metadata.tls && tlsServerName) options["grpc.ssl_target_name_override"] = tlsServerName;
    // grpc-js stops compressing towards a server whose grpc-accept-encoding lacks the algorithm.
    if (compression) options["grpc.default_compression_algorithm"] = COMPRESSION_ALGORITHM[compression];
    const credentials = instance.metadata.tls ? this.#options.tls : grpc.credentials.createInsecure();
    return new grpc.Client(instance.address, credentials, options);
  }

  #watch(entry: Entry): void {
    const channel = entry.client.getChannel();
    // Connect now rather than on the first call: a warm connection saves the first request a handshake,
    // and only a connection that was READY can tell us, by coming back, that the backend restarted.
    channel.getConnectivityState(true);
    const loop = (): void => {
      if (entry.closed) return;
      const state = channel.getConnectivityState(false);
      if (state === grpc.connectivityState.SHUTDOWN) return;
      if (state === grpc.connectivityState.READY) {
        if (entry.reconnecting) {
          for (const listener of this.#reconnectListeners) listener(entry.instance);
        }
        entry.wasReady = true;
        entry.reconnecting = false;
      } else if (entry.wasReady && state === grpc.connectivityState.IDLE) {
        // grpc-js goes IDLE when the connection drops; reconnect now so a restarted backend is noticed.
        entry.wasReady = false;
        entry.reconnecting = true;
        channel.getConnectivityState(true);
      } else if (state === grpc.connectivityState.TRANSIENT_FAILURE && entry.wasReady) {
        entry.wasReady = false;
        entry.reconnecting = true;
      }
      try {
        channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, loop);
      } catch {
        // The channel was shut down between the state read and the watch: nothing left to watch.
      }
    };
    loop();
  }

  #close(key: string, entry: Entry): void {
    entry.closed = true;
    entry.client.close();
    entry.reflectionClient?.close();
    this.#h2.forget(entry.instance.address);
    this.#entries.delete(key);
  }
}
