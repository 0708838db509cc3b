import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";

const LIBRARY = "acme.library.v1.LibraryService";
type Line = Record<string, unknown>;
const SECRET = "Bearer s3cr3t-token";
const COOKIE = "session=c00kie-value";

describe("access log", () => {
  let h: GatewayHarness;
  before(async () => {
    // debug: the most talkative level must still not leak a secret.
    h = await startGatewayHarness({ logLevel: "debug" });
  });
  after(() => h.close());

  const completed = (requestId: string) =>
    h.logs.waitFor((line) => line.msg === "request completed" && line.reqId === requestId);

  test("one line per request with request id, route, method, status, gRPC code, upstream and durations", async () => {
    const r = await postJson(
      `${h.publicUrl}/${LIBRARY}/GetBook`,
      { name: "shelves/1/books/1" },
      { authorization: SECRET, cookie: COOKIE, "x-request-id": "req-ok-1" },
    );
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-request-id"), "req-ok-1");
    const line = await completed("req-ok-1");
    assert.equal(line.level, 30);
    assert.equal(line.service, "refract");
    assert.equal(line.route, `/${LIBRARY}/GetBook`);
    assert.equal(line.rpc, `${LIBRARY}.GetBook`);
    assert.equal(line.method, "POST");
    assert.equal(line.path, `/${LIBRARY}/GetBook`);
    assert.equal(line.status, 200);
    assert.equal(line.grpcCode, 0);
    assert.equal(line.grpcStatus, "OK");
    assert.equal(line.upstream, h.library!.address);
    assert.equal(typeof line.upstreamMs, "number");
    assert.equal(typeof line.durationMs, "number");
    assert.ok((line.durationMs as number) >= (line.upstreamMs as number));
    assert.equal(h.logs.filter((l) => l.reqId === "req-ok-1" && l.msg === "request completed").length, 1);
  });

  test("REST routes log their template; failures log status, code and message the same way", async () => {
    const rest = await fetch(`${h.publicUrl}/v1/shelves/1/books/1`, {
      headers: { "x-request-id": "req-rest" },
    });
    assert.equal(rest.status, 200);
    await rest.arrayBuffer();
    const restLine = await completed("req-rest");
    assert.equal(restLine.route, "/v1/{name=shelves/*/books/*}");
    assert.equal(restLine.method, "GET");
    assert.equal(restLine.rpc, `${LIBRARY}.GetBook`);

    const missing = await postJson(
      `${h.publicUrl}/acme.user.v1.UserService/GetUser`,
      { id: "42" },
      {
        "x-request-id": "req-404",
      },
    );
    assert.equal(missing.status, 404);
    const missingLine = await completed("req-404");
    assert.equal(missingLine.status, 404);
    assert.equal(missingLine.grpcCode, 5);
    assert.equal(missingLine.grpcStatus, "NOT_FOUND");
    assert.equal(missingLine.upstream, h.users!.address, "the backend answered NOT_FOUND");
    assert.equal(typeof missingLine.error, "string");

    const unknown = await fetch(`${h.publicUrl}/no/such/route`, {
      headers: { "x-request-id": "req-unknown" },
    });
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();
    const unknownLine = await completed("req-unknown");
    assert.equal(unknownLine.route, "unmatched");
    assert.equal(unknownLine.upstream, undefined);
    assert.equal(unknownLine.grpcCode, 5);

    const bad = await fetch(`${h.publicUrl}/${LIBRARY}/GetBook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-400" },
      body: "{not json",
    });
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
    const badLine = await completed("req-400");
    assert.equal(
      badLine.rpc,
      `${LIBRARY}.GetBook`,
      "a request that failed before the backend still names its RPC",
    );
    assert.equal(badLine.grpcCode, 3);
    assert.equal(badLine.upstream, undefined);

    const badQuery = await fetch(`${h.publicUrl}/v1/shelves/1/books/1?bogus=1`, {
      headers: { "x-request-id": "req-rest-400" },
    });
    assert.equal(badQuery.status, 400);
    await badQuery.arrayBuffer();
    const badQueryLine = await completed("req-rest-400");
    assert.equal(badQueryLine.rpc, `${LIBRARY}.GetBook`, "REST routes too");
    assert.equal(badQueryLine.route, "/v1/{name=shelves/*/books/*}");
  });

  test("authorization and cookies never reach a log line, wherever they sit in the logged object", async () => {
    h.gateway.logger.info(
      {
        headers: { authorization: SECRET, "set-cookie": [COOKIE] },
        req: { headers: { cookie: COOKIE, host: "example" } },
        call: { metadata: { headers: { Authorization: SECRET } } },
      },
      "redaction probe",
    );
    const probe = await h.logs.waitFor((l) => l.msg === "redaction probe");
    const headers = probe.headers as Line;
    assert.equal(headers.authorization, "[redacted]");
    assert.equal(headers["set-cookie"], "[redacted]");
    assert.equal(((probe.req as Line).headers as Line).cookie, "[redacted]");
    assert.equal(((probe.req as Line).headers as Line).host, "example");
    const all = JSON.stringify(h.logs.lines);
    assert.ok(!all.includes("s3cr3t"), "no secret anywhere in the captured log");
    assert.ok(!all.includes("c00kie"), "no cookie anywhere in the captured log");
  });

  test("grpc-js diagnostics go through pino", async () => {
    grpc.experimental.log(grpc.logVerbosity.ERROR, "probe from grpc-js");
    const line = await h.logs.waitFor((l) => l.msg === "probe from grpc-js");
    assert.equal(line.component, "grpc-js");
    assert.equal(line.level, 50);
  });
});
