import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import type { RunningBackend } from "../fixtures/backends.js";
import { packagePath } from "../src/package-paths.js";
import { type GatewayHarness, startGatewayHarness, startProtoBackend } from "./helpers/gateway-harness.js";

/**
 * Issue 7 end to end, against a real backend that records the metadata and deadline it receives:
 * header ⇄ metadata mapping both ways, deadlines, and error details.
 */

const PROTO = `
syntax = "proto3";
package acme.probe.v1;
message EchoRequest { string text = 1; int32 sleep_ms = 2; }
message EchoResponse { map<string, string> metadata = 1; int64 deadline_ms = 2; }
message FailRequest { int32 code = 1; bool bad_request = 2; bool retry_info = 3; bool unknown_detail = 4; bool corrupt_detail = 5; }
message FailResponse {}
service Probe {
  rpc Echo(EchoRequest) returns (EchoResponse);
  rpc Fail(FailRequest) returns (FailResponse);
}
`;

// google.rpc types, encoded the way a backend in any language would (bundled protos, protobufjs).
const rpcRoot = new protobuf.Root();
rpcRoot.resolvePath = (_origin, target) => packagePath("proto", target);
rpcRoot.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
const StatusType = rpcRoot.lookupType("google.rpc.Status");
const BadRequest = rpcRoot.lookupType("google.rpc.BadRequest");
const RetryInfo = rpcRoot.lookupType("google.rpc.RetryInfo");

function detailsBin(request: {
  code: number;
  bad_request: boolean;
  retry_info: boolean;
  unknown_detail: boolean;
  corrupt_detail: boolean;
}): Buffer {
  const details: Array<{ type_url: string; value: Uint8Array }> = [];
  if (request.bad_request) {
    details.push({
      type_url: "type.googleapis.com/google.rpc.BadRequest",
      value: BadRequest.encode(
        BadRequest.fromObject({
          fieldViolations: [{ field: "book.title", description: "must not be empty" }],
        }),
      ).finish(),
    });
  }
  if (request.retry_info) {
    details.push({
      type_url: "type.googleapis.com/google.rpc.RetryInfo",
      value: RetryInfo.encode(
        RetryInfo.fromObject({ retryDelay: { seconds: 2, nanos: 500_000_000 } }),
      ).finish(),
    });
  }
  if (request.corrupt_detail) {
    // A known type whose bytes are not that message (a truncated length-delimited field).
    details.push({
      type_url: "type.googleapis.com/google.rpc.ErrorInfo",
      value: Uint8Array.from([0x0a, 0x05, 0x61]),
    });
  }
  if (request.unknown_detail) {
    details.push({ type_url: "type.googleapis.com/acme.secret.v1.Hidden", value: Uint8Array.from([8, 42]) });
  }
  const status = StatusType.fromObject({
    code: request.code,
    message: "probe failure",
    details: details.map((d) => ({ type_url: d.type_url, value: d.value })),
  });
  return Buffer.from(StatusType.encode(status).finish());
}

describe("client readiness: metadata, deadlines, error details", () => {
  let backend: RunningBackend;
  let h: GatewayHarness;

  before(async () => {
    backend = await startProtoBackend({
      proto: PROTO,
      services: {
        "acme.probe.v1.Probe": {
          Echo(
            call: grpc.ServerUnaryCall<{ text: string; sleep_ms: number }, unknown>,
            callback: grpc.sendUnaryData<unknown>,
          ) {
            const metadata: Record<string, string> = {};
            for (const [key, values] of Object.entries(call.metadata.getMap())) {
              metadata[key] = Buffer.isBuffer(values) ? `bin:${values.toString("hex")}` : String(values);
            }
            const deadline = call.getDeadline();
            const deadlineMs =
              deadline instanceof Date
                ? deadline.getTime() - Date.now()
                : Number.isFinite(deadline)
                  ? Number(deadline) - Date.now()
                  : 0;
            const header = new grpc.Metadata();
            header.set("x-served-by", "probe-1");
            call.sendMetadata(header);
            const trailer = new grpc.Metadata();
            trailer.set("x-cost", "7");
            trailer.set("x-checksum-bin", Buffer.from([1, 2, 3]));
            setTimeout(
              () => callback(null, { metadata, deadline_ms: String(Math.max(0, deadlineMs)) }, trailer),
              call.request.sleep_ms,
            );
          },
          Fail(
            call: grpc.ServerUnaryCall<
              {
                code: number;
                bad_request: boolean;
                retry_info: boolean;
                unknown_detail: boolean;
                corrupt_detail: boolean;
              },
              unknown
            >,
            callback: grpc.sendUnaryData<unknown>,
          ) {
            const metadata = new grpc.Metadata();
            metadata.set("grpc-status-details-bin", detailsBin(call.request));
            callback({
              code: call.request.code,
              details: "probe failure",
              metadata,
              name: "Error",
              message: "probe failure",
            });
          },
        },
      },
    });
    h = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "probe", address: backend.address }],
      gateway: { forwardHeaders: ["X-Tenant"], defaultTimeoutMs: 20_000, maxTimeoutMs: 60_000 },
    });
  });
  after(async () => {
    await h?.close();
    await backend?.close();
  });

  async function echo(headers: Record<string, string>, body: unknown = {}) {
    const response = await fetch(`${h.publicUrl}/acme.probe.v1.Probe/Echo`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    });
    return {
      status: response.status,
      headers: response.headers,
      // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary JSON answers
      json: (await response.json()) as Record<string, any>,
    };
  }

  test("request headers become metadata as the contract lists, and nothing else", async () => {
    const r = await echo({
      authorization: "Bearer abc",
      "grpc-metadata-tenant-id": "t-7",
      "grpc-metadata-token-bin": Buffer.from([0xde, 0xad]).toString("base64"),
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "x-request-id": "req-42",
      "x-tenant": "acme",
      "x-forwarded-for": "203.0.113.9",
      cookie: "session=secret",
      "x-not-listed": "nope",
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const md = r.json.metadata as Record<string, string>;
    assert.equal(md.authorization, "Bearer abc");
    assert.equal(md["tenant-id"], "t-7");
    assert.equal(md["token-bin"], "bin:dead");
    assert.equal(md.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.equal(md["x-request-id"], "req-42");
    assert.equal(md["x-tenant"], "acme", "forwardHeaders pass as they are, without a prefix");
    assert.match(md["x-forwarded-for"] ?? "", /^203\.0\.113\.9, 127\.0\.0\.1$/);
    assert.match(md["x-forwarded-host"] ?? "", /^127\.0\.0\.1:\d+$/);
    assert.equal(md.cookie, undefined);
    assert.equal(md["x-not-listed"], undefined);
    assert.equal(md.connection, undefined);
  });

  test("a generated request id reaches the backend and the client", async () => {
    const r = await echo({});
    const id = r.headers.get("x-request-id");
    assert.match(id ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(r.json.metadata["x-request-id"], id);
  });

  test("an invalid metadata value is dropped with a log line, the call goes on", async () => {
    const r = await echo({ "grpc-metadata-blob-bin": "***not base64***" });
    assert.equal(r.status, 200);
    assert.equal(r.json.metadata["blob-bin"], undefined);
    await h.logs.waitFor((line) => line.key === "blob-bin" && /not forwarded/.test(String(line.msg)));
  });

  test("backend header metadata and trailers come back as Grpc-Metadata-* and Grpc-Trailer-*", async () => {
    const r = await echo({});
    assert.equal(r.headers.get("grpc-metadata-x-served-by"), "probe-1");
    assert.equal(r.headers.get("grpc-trailer-x-cost"), "7");
    assert.equal(r.headers.get("grpc-trailer-x-checksum-bin"), Buffer.from([1, 2, 3]).toString("base64"));
  });

  test("Grpc-Timeout reaches the backend intact; the default applies without one; the maximum caps it", async () => {
    const given = await echo({ "grpc-timeout": "1500m" });
    const ms = Number(given.json.deadlineMs);
    assert.ok(ms > 1000 && ms <= 1500, `backend saw ${ms} ms`);
    const defaulted = await echo({});
    const defaultMs = Number(defaulted.json.deadlineMs);
    assert.ok(defaultMs > 19_000 && defaultMs <= 20_000, `backend saw ${defaultMs} ms`);
    const capped = await echo({ "grpc-timeout": "10M" });
    const cappedMs = Number(capped.json.deadlineMs);
    assert.ok(cappedMs > 59_000 && cappedMs <= 60_000, `backend saw ${cappedMs} ms`);
  });

  test("a deadline that expires is 504 DEADLINE_EXCEEDED", async () => {
    const r = await echo({ "grpc-timeout": "100m" }, { sleepMs: 1000 });
    assert.equal(r.status, 504);
    assert.equal(r.json.code, 4);
  });

  test("a malformed Grpc-Timeout is 400", async () => {
    for (const value of ["soon", "123456789S", "10x", "-5S"]) {
      const r = await echo({ "grpc-timeout": value });
      assert.equal(r.status, 400, value);
      assert.match(r.json.message, /Grpc-Timeout/);
    }
  });

  async function fail(body: Record<string, unknown>) {
    const response = await fetch(`${h.publicUrl}/acme.probe.v1.Probe/Fail`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    return {
      status: response.status,
      headers: response.headers,
      // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary JSON answers
      json: (await response.json()) as Record<string, any>,
    };
  }

  test("a BadRequest detail is decoded with the bundled google/rpc types", async () => {
    const r = await fail({ code: 3, badRequest: true });
    assert.equal(r.status, 400);
    assert.equal(r.json.details.length, 1);
    assert.equal(r.json.details[0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
    assert.equal(r.json.details[0].fieldViolations[0].field, "book.title");
    assert.equal(r.json.details[0].fieldViolations[0].description, "must not be empty");
  });

  test("an unknown detail type is rendered as @type + base64 value, without failing the response", async () => {
    const r = await fail({ code: 9, unknownDetail: true, badRequest: true });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 9);
    const unknown = r.json.details.find((d: { "@type": string }) =>
      d["@type"].endsWith("acme.secret.v1.Hidden"),
    );
    assert.deepEqual(unknown, {
      "@type": "type.googleapis.com/acme.secret.v1.Hidden",
      value: Buffer.from([8, 42]).toString("base64"),
    });
  });

  test("details that cannot be decoded are rendered raw; the error itself still reaches the client", async () => {
    const r = await fail({ code: 9, corruptDetail: true });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 9);
    assert.deepEqual(r.json.details, [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        value: Buffer.from([0x0a, 0x05, 0x61]).toString("base64"),
      },
    ]);
  });

  test("RetryInfo becomes Retry-After on 503 and 429, not on other statuses", async () => {
    const unavailable = await fail({ code: 14, retryInfo: true });
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers.get("retry-after"), "3");
    assert.equal(unavailable.json.details[0].retryDelay, "2.500s");
    const exhausted = await fail({ code: 8, retryInfo: true });
    assert.equal(exhausted.status, 429);
    assert.equal(exhausted.headers.get("retry-after"), "3");
    const other = await fail({ code: 9, retryInfo: true });
    assert.equal(other.headers.get("retry-after"), null);
  });

  test("UNAUTHENTICATED is 401 with WWW-Authenticate", async () => {
    const r = await fail({ code: 16 });
    assert.equal(r.status, 401);
    assert.ok(r.headers.get("www-authenticate"));
  });
});
