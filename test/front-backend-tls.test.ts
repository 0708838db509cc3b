import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { loadConfig } from "../src/config/load-config.js";
import { makeTestCertificates, type TestCertificates } from "./helpers/certs.js";
import {
  type GatewayHarness,
  type GatewayHarnessOptions,
  postJson,
  startGatewayHarness,
  startProtoBackend,
} from "./helpers/gateway-harness.js";

/**
 * Issue 7, the backend side: TLS and mTLS to real grpc-js backends (`ServerCredentials.createSsl`, with
 * certificates made by openssl at test time), the server-name override, how TLS backends are declared,
 * and gzip message compression seen on the wire between the gateway and a backend.
 */

const PROTO = `
syntax = "proto3";
package acme.secure.v1;
message EchoRequest { string text = 1; }
message EchoResponse { string text = 1; string peer = 2; }
service Secure { rpc Echo(EchoRequest) returns (EchoResponse); }
`;
const ECHO = "/acme.secure.v1.Secure/Echo";

interface TlsBackend {
  port: number;
  close(): void;
}

function loadDefinition(): protoLoader.PackageDefinition {
  const dir = mkdtempSync(join(tmpdir(), "refract-tls-proto-"));
  try {
    writeFileSync(join(dir, "secure.proto"), PROTO);
    return protoLoader.loadSync(join(dir, "secure.proto"), { keepCase: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A grpc-js server on TLS (mTLS when `requireClientCert`), with reflection so the gateway learns it. */
async function startTlsBackend(
  certs: TestCertificates,
  options: { requireClientCert: boolean },
): Promise<TlsBackend> {
  const definition = loadDefinition();
  const server = new grpc.Server();
  server.addService(definition["acme.secure.v1.Secure"] as grpc.ServiceDefinition, {
    Echo(call: grpc.ServerUnaryCall<{ text: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      callback(null, { text: call.request.text, peer: "tls" });
    },
  });
  new ReflectionService(definition).addToServer(server);
  const credentials = grpc.ServerCredentials.createSsl(
    certs.read(certs.caCert),
    [{ cert_chain: certs.read(certs.serverCert), private_key: certs.read(certs.serverKey) }],
    options.requireClientCert,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port, close: () => server.forceShutdown() };
}

/** One call with a plain grpc-js client: the status code it ends with (0 = OK). */
function directCall(
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
) {
  const client = new grpc.Client(address, credentials, options);
  return new Promise<number>((resolve) => {
    client.makeUnaryRequest(
      ECHO,
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from([0x0a, 0x02, 0x68, 0x69]), // EchoRequest { text: "hi" }
      { deadline: Date.now() + 5000 },
      (error) => {
        client.close();
        resolve(error ? (error.code ?? -1) : 0);
      },
    );
  });
}

describe("front: TLS and mTLS to backends", () => {
  let certs: TestCertificates;
  let tlsOnly: TlsBackend;
  let mtls: TlsBackend;
  const opened: GatewayHarness[] = [];
  const gateway = async (options: NonNullable<GatewayHarnessOptions["gateway"]>, address: string) => {
    const h = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "secure", address, tls: true }],
      gateway: options,
    });
    opened.push(h);
    return h;
  };

  before(async () => {
    certs = makeTestCertificates();
    tlsOnly = await startTlsBackend(certs, { requireClientCert: false });
    mtls = await startTlsBackend(certs, { requireClientCert: true });
  });
  after(async () => {
    for (const h of opened) await h.close();
    tlsOnly?.close();
    mtls?.close();
    certs?.remove();
  });

  test("a TLS backend verified against --backend-ca", async () => {
    const h = await gateway({ backendCa: certs.caCert }, `127.0.0.1:${tlsOnly.port}`);
    const answer = await postJson(`${h.publicUrl}${ECHO}`, { text: "over tls" });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { text: "over tls", peer: "tls" });
  });

  test("mTLS: a client without a certificate is refused by the backend; the gateway with one succeeds", async () => {
    const address = `127.0.0.1:${mtls.port}`;
    const withoutCert = await directCall(address, grpc.credentials.createSsl(certs.read(certs.caCert)));
    assert.equal(withoutCert, grpc.status.UNAVAILABLE);
    const withCert = await directCall(
      address,
      grpc.credentials.createSsl(
        certs.read(certs.caCert),
        certs.read(certs.clientKey),
        certs.read(certs.clientCert),
      ),
    );
    assert.equal(withCert, grpc.status.OK);

    const h = await gateway(
      { backendCa: certs.caCert, backendCert: certs.clientCert, backendKey: certs.clientKey },
      address,
    );
    const answer = await postJson(`${h.publicUrl}${ECHO}`, { text: "mutual" });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { text: "mutual", peer: "tls" });
  });

  test("a gateway without the client certificate cannot reach the mTLS backend (no routes)", async () => {
    const h = await gateway({ backendCa: certs.caCert }, `127.0.0.1:${mtls.port}`);
    const answer = await postJson(`${h.publicUrl}${ECHO}`, { text: "no cert" });
    assert.ok(answer.status === 404 || answer.status === 503, String(answer.status));
  });

  test("--backend-server-name verifies a certificate issued for another name", async () => {
    const named = makeTestCertificates({ serverNames: ["backend.internal"], serverIps: [] });
    const backend = await startTlsBackend(named, { requireClientCert: false });
    try {
      const address = `127.0.0.1:${backend.port}`;
      const ca = named.read(named.caCert);
      assert.equal(await directCall(address, grpc.credentials.createSsl(ca)), grpc.status.UNAVAILABLE);
      const h = await gateway({ backendCa: named.caCert, backendServerName: "backend.internal" }, address);
      const answer = await postJson(`${h.publicUrl}${ECHO}`, { text: "named" });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    } finally {
      backend.close();
      named.remove();
    }
  });

  test("TLS backends are declared as name=grpcs://host:port or with tls/authority in a config file", () => {
    const flags = loadConfig({
      argv: ["--backend", "secure=grpcs://10.0.0.7:443", "--backend", "plain=h:1"],
      env: {},
    });
    assert.ok(flags.ok);
    assert.deepEqual(flags.config.backends, [
      { name: "secure", address: "10.0.0.7:443", tls: true },
      { name: "plain", address: "h:1" },
    ]);
    const file = loadConfig({
      argv: ["--config", "refract.yaml"],
      env: {},
      readFile: () =>
        "backends:\n  - {name: secure, address: '10.0.0.7:443', tls: true, authority: secure.internal}\n" +
        "backendCa: /etc/refract/ca.pem\nbackendCert: /etc/refract/client.pem\nbackendKey: /etc/refract/client.key\n",
    });
    assert.ok(file.ok, file.ok ? "" : file.problems.join("; "));
    assert.deepEqual(file.config.backends, [
      { name: "secure", address: "10.0.0.7:443", tls: true, authority: "secure.internal" },
    ]);
  });

  test("a missing certificate file fails start-up naming the option", async () => {
    await assert.rejects(
      startGatewayHarness({ library: false, users: false, gateway: { backendCa: "/nonexistent/ca.pem" } }),
      /backend-ca: cannot read \/nonexistent\/ca\.pem: ENOENT/,
    );
  });
});

/** What a forwarding HTTP/2 proxy saw of each gRPC request: its path, grpc-encoding and compressed flag. */
interface SeenRequest {
  path: string;
  encoding: string | undefined;
  compressedFlag: number | undefined;
}

/** A transparent HTTP/2 proxy in front of a gRPC server that records how requests were encoded. */
function startRecordingProxy(
  target: string,
): Promise<{ address: string; seen: SeenRequest[]; close(): void }> {
  const upstream = http2.connect(`http://${target}`);
  const seen: SeenRequest[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const record: SeenRequest = {
      path: String(headers[":path"]),
      encoding: headers["grpc-encoding"] as string | undefined,
      compressedFlag: undefined,
    };
    seen.push(record);
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name !== ":authority" && name !== ":scheme") forward[name] = value;
    }
    const call = upstream.request(forward);
    stream.on("data", (chunk: Buffer) => {
      record.compressedFlag ??= chunk[0];
      call.write(chunk);
    });
    stream.on("end", () => call.end());
    let trailers: http2.OutgoingHttpHeaders = {};
    call.on("response", (responseHeaders) => {
      const { ":status": status, ...rest } = responseHeaders;
      const trailersOnly = rest["grpc-status"] !== undefined;
      stream.respond(
        { ":status": status, ...rest },
        trailersOnly ? { endStream: true } : { waitForTrailers: true },
      );
    });
    call.on("data", (chunk: Buffer) => stream.write(chunk));
    call.on("trailers", (received) => {
      trailers = { ...received };
    });
    call.on("end", () => {
      if (!stream.closed) stream.end();
    });
    stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    call.on("error", () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on("error", () => call.close(http2.constants.NGHTTP2_CANCEL));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        address: `127.0.0.1:${port}`,
        seen,
        close: () => {
          upstream.destroy();
          server.close();
        },
      });
    });
  });
}

describe("front: gRPC message compression to backends", () => {
  test("--backend-compression gzip: a grpc-js backend receives gzip-compressed messages", async () => {
    const backend = await startProtoBackend({
      proto: PROTO,
      services: {
        "acme.secure.v1.Secure": {
          Echo(call: grpc.ServerUnaryCall<{ text: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
            callback(null, { text: call.request.text, peer: "plain" });
          },
        },
      },
    });
    const proxy = await startRecordingProxy(backend.address);
    const opened: GatewayHarness[] = [];
    try {
      for (const backendCompression of ["gzip", "none"] as const) {
        const h = await startGatewayHarness({
          library: false,
          users: false,
          backends: [{ name: "secure", address: proxy.address }],
          gateway: { backendCompression },
        });
        opened.push(h);
        const text = "compress me ".repeat(200);
        const answer = await postJson(`${h.publicUrl}${ECHO}`, { text });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.deepEqual(answer.body, { text, peer: "plain" });
        const calls = proxy.seen.filter((s) => s.path === ECHO);
        const last = calls[calls.length - 1];
        if (backendCompression === "gzip") {
          assert.equal(last?.encoding, "gzip");
          assert.equal(last?.compressedFlag, 1, "the message frame is marked compressed");
        } else {
          assert.notEqual(last?.encoding, "gzip");
          assert.equal(last?.compressedFlag, 0);
        }
        await h.close();
      }
    } finally {
      for (const h of opened) await h.close();
      proxy.close();
      await backend.close();
    }
  });
});
