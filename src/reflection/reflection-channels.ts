import * as grpc from "@grpc/grpc-js";

/**
 * Reflection's own grpc-js channel per instance. Reflection is a bidirectional stream, traffic grpc-js
 * carries anyway, and its answers may exceed the call receive limit, so it always had a channel of its
 * own; owning it here keeps reflection free of the upstream layer. The channel also tells when a backend
 * restarted at the same address with no registry change (it drops and becomes READY again), which is
 * when the instance's schema is fetched again.
 */

/**
 * Where reflection dials: structurally the registry's BackendInstance (reflection and registry are
 * same-layer siblings and do not import each other).
 */
export interface ReflectionTarget {
  /** Backend (logical service group) name. */
  readonly backend: string;
  /** Stable id within the backend. */
  readonly id: string;
  /** `host:port` to dial. */
  readonly address: string;
  readonly metadata: { readonly tls?: boolean; readonly authority?: string };
}

/** How reflection channels are made (the same TLS and compression settings as calls). */
export interface ReflectionChannelOptions {
  /** Max message size of reflection answers, bytes. Default 64 MiB (descriptor sets of big APIs). */
  maxReflectionBytes?: number;
  /** Credentials for instances whose metadata asks for TLS. Default: system roots. */
  tlsCredentials?: grpc.ChannelCredentials;
  /** Name TLS backends' certificates are verified against instead of the dialed host. Default: none. */
  tlsServerName?: string;
  /** Compress request messages to backends that advertise the algorithm. Default: none. */
  compression?: "gzip" | "deflate";
}

// grpc-js's compression algorithm numbers (compression-algorithms.ts: identity 0, deflate 1, gzip 2).
const COMPRESSION_ALGORITHM = { deflate: 1, gzip: 2 } as const;

interface Channel {
  readonly client: grpc.Client;
  /** READY was seen and the connection has not dropped since. */
  wasReady: boolean;
  /** The connection dropped after having been READY; the next READY is a reconnect. */
  reconnecting: boolean;
  closed: boolean;
}

/** One reflection channel per instance key, created on first use, closed by `close(key)`. */
export class ReflectionChannels {
  readonly #channels = new Map<string, Channel>();
  readonly #options: ReflectionChannelOptions;
  readonly #tls: grpc.ChannelCredentials;
  readonly #onReconnect: (key: string) => void;

  /** `onReconnect(key)`: the channel of `key` dropped and is READY again. */
  constructor(options: ReflectionChannelOptions, onReconnect: (key: string) => void) {
    this.#options = options;
    this.#tls = options.tlsCredentials ?? grpc.credentials.createSsl();
    this.#onReconnect = onReconnect;
  }

  /** The client reflection streams of an instance use. */
  client(key: string, target: ReflectionTarget): grpc.Client {
    let channel = this.#channels.get(key);
    if (!channel) {
      channel = { client: this.#makeClient(target), wasReady: false, reconnecting: false, closed: false };
      this.#channels.set(key, channel);
      this.#watch(key, channel);
    }
    return channel.client;
  }

  close(key: string): void {
    const channel = this.#channels.get(key);
    if (!channel) return;
    channel.closed = true;
    channel.client.close();
    this.#channels.delete(key);
  }

  closeAll(): void {
    for (const key of [...this.#channels.keys()]) this.close(key);
  }

  #makeClient(target: ReflectionTarget): grpc.Client {
    const options: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": this.#options.maxReflectionBytes ?? 64 * 1024 * 1024,
      "grpc.max_send_message_length": -1,
      // Each channel gets its own connection: instances are addressed individually, never pooled by grpc-js.
      "grpc.use_local_subchannel_pool": 1,
    };
    if (target.metadata.authority) options["grpc.default_authority"] = target.metadata.authority;
    const { tlsServerName, compression } = this.#options;
    if (target.metadata.tls && tlsServerName) options["grpc.ssl_target_name_override"] = tlsServerName;
    if (compression) options["grpc.default_compression_algorithm"] = COMPRESSION_ALGORITHM[compression];
    const credentials = target.metadata.tls ? this.#tls : grpc.credentials.createInsecure();
    return new grpc.Client(target.address, credentials, options);
  }

  #watch(key: string, entry: Channel): void {
    const channel = entry.client.getChannel();
    // Connect now: only a connection that was READY can tell us, by coming back, that the backend restarted.
    channel.getConnectivityState(true);
    const loop = (): void => {
      if (entry.closed) return;
      const state = channel.getConnectivityState(false);
      if (state === grpc.connectivityState.SHUTDOWN) return;
      if (state === grpc.connectivityState.READY) {
        if (entry.reconnecting) this.#onReconnect(key);
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
}
