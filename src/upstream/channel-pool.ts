import * as grpc from "@grpc/grpc-js";
import { type BackendInstance, type BackendSet, instanceKey } from "../registry/registry.js";
import { H2UnaryTransport } from "./h2-unary.js";

/** How connections to backends are made. */
export interface ChannelPoolOptions {
  /** Max response message size accepted from backends, bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Largest response header list taken on the own HTTP/2 transport, bytes. Default 256 KiB. */
  maxBackendHeaderBytes?: number;
  /** Credentials for instances whose metadata asks for TLS (src/upstream/backend-tls.ts). Default: system roots. */
  tlsCredentials?: grpc.ChannelCredentials;
  /** Name TLS backends' certificates are verified against instead of the dialed host. Default: none. */
  tlsServerName?: string;
  /** Compress request messages to backends that advertise the algorithm (`grpc-accept-encoding`). Default: none. */
  compression?: "gzip" | "deflate";
}

// grpc-js's compression algorithm numbers (compression-algorithms.ts: identity 0, deflate 1, gzip 2).
const COMPRESSION_ALGORITHM = { deflate: 1, gzip: 2 } as const;

/**
 * The connections calls to backend instances travel on. A plaintext instance's unary calls go over the
 * gateway's own HTTP/2 connection (h2-unary.ts); a grpc-js channel is opened for an instance only when
 * grpc-js carries its traffic — its streams, or all its calls when it wants TLS or message compression —
 * on first use, and reused by every such call (grpc-js multiplexes them over its HTTP/2 connection).
 * Everything of an instance is closed when it leaves the registry (`retain`). Reflection has channels
 * of its own (src/reflection/reflection-channels.ts), so a plaintext instance that only gets unary calls
 * has one connection here.
 */
export class ChannelPool {
  readonly #channels = new Map<string, grpc.Client>();
  readonly #options: Required<Pick<ChannelPoolOptions, "maxResponseBytes">> &
    Pick<ChannelPoolOptions, "tlsServerName" | "compression"> & { tls: grpc.ChannelCredentials };
  readonly #h2: H2UnaryTransport;

  constructor(options: ChannelPoolOptions = {}) {
    this.#h2 = new H2UnaryTransport({ maxHeaderListBytes: options.maxBackendHeaderBytes });
    this.#options = {
      maxResponseBytes: options.maxResponseBytes ?? 16 * 1024 * 1024,
      tls: options.tlsCredentials ?? grpc.credentials.createSsl(),
      ...(options.tlsServerName === undefined ? {} : { tlsServerName: options.tlsServerName }),
      ...(options.compression === undefined ? {} : { compression: options.compression }),
    };
  }

  /**
   * The own unary transport (h2-unary.ts) when it can serve this instance — plaintext, no message
   * compression requested — else undefined and the call goes through grpc-js (`client`).
   */
  unaryTransport(instance: BackendInstance): H2UnaryTransport | undefined {
    return instance.metadata.tls || this.#options.compression !== undefined ? undefined : this.#h2;
  }

  /** Largest response message accepted from backends, bytes. */
  get maxResponseBytes(): number {
    return this.#options.maxResponseBytes;
  }

  /** The grpc-js client (channel) of an instance, opened on first use. */
  client(instance: BackendInstance): grpc.Client {
    const key = instanceKey(instance);
    let client = this.#channels.get(key);
    if (client === undefined) {
      client = this.#makeClient(instance);
      this.#channels.set(key, client);
    }
    return client;
  }

  /**
   * Whether the connection a unary call to the instance would use is failing to connect: the own
   * HTTP/2 connection's state for a plaintext instance, else its grpc-js channel's.
   */
  readonly isUnaryFailing = (instance: BackendInstance): boolean =>
    this.unaryTransport(instance) === undefined
      ? this.isChannelFailing(instance)
      : this.#h2.isFailing(instance.address);

  /** Whether the instance's grpc-js channel is failing to connect (calls on it would fail fast). */
  readonly isChannelFailing = (instance: BackendInstance): boolean =>
    this.#channels.size !== 0 &&
    this.#channels.get(instanceKey(instance))?.getChannel().getConnectivityState(false) ===
      grpc.connectivityState.TRANSIENT_FAILURE;

  /** Closes the connections of instances no longer in the set. */
  retain(backends: BackendSet): void {
    const keep = new Set<string>();
    const addresses = new Set<string>();
    for (const list of backends.values()) {
      for (const instance of list) {
        keep.add(instanceKey(instance));
        addresses.add(instance.address);
      }
    }
    for (const [key, client] of this.#channels) {
      if (!keep.has(key)) {
        client.close();
        this.#channels.delete(key);
      }
    }
    this.#h2.retain(addresses);
  }

  close(): void {
    for (const client of this.#channels.values()) client.close();
    this.#channels.clear();
    this.#h2.close();
  }

  #makeClient(instance: BackendInstance): grpc.Client {
    const options: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": this.#options.maxResponseBytes,
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
}
