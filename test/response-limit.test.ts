import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import type { RunningBackend } from "../fixtures/backends.js";
import { loadConfig } from "../src/config/load-config.js";
import {
  type GatewayHarness,
  postJson,
  startGatewayHarness,
  startProtoBackend,
} from "./helpers/gateway-harness.js";

/** `--max-response-bytes` (issue 13.12): the largest backend answer taken, a documented option with a unit. */

const BLOB_PROTO = `syntax = "proto3";
package test.blob;
service Blob { rpc Get(GetRequest) returns (GetReply); }
message GetRequest { int32 size = 1; }
message GetReply { string data = 1; }`;

describe("response size limit", () => {
  let backend: RunningBackend;
  let harness: GatewayHarness;
  before(async () => {
    backend = await startProtoBackend({
      proto: BLOB_PROTO,
      services: {
        "test.blob.Blob": {
          Get: (
            call: grpc.ServerUnaryCall<{ size: number }, unknown>,
            callback: grpc.sendUnaryData<unknown>,
          ) => callback(null, { data: "x".repeat(call.request.size) }),
        },
      },
    });
    const config = loadConfig({ argv: ["--max-response-bytes", "4KiB"], env: {} });
    assert.ok(config.ok);
    assert.equal(config.config.maxResponseBytes, 4096);
    harness = await startGatewayHarness({
      library: false,
      users: false,
      backends: [{ name: "blob", address: backend.address }],
      gateway: { maxResponseBytes: config.config.maxResponseBytes },
    });
  });
  after(async () => {
    await harness?.close();
    await backend?.close();
  });

  test("a message within the limit is served", async () => {
    const answer = await postJson(`${harness.publicUrl}/test.blob.Blob/Get`, { size: 4000 });
    assert.equal(answer.status, 200);
    assert.equal((answer.body as { data: string }).data.length, 4000);
  });

  test("a larger one is 429 RESOURCE_EXHAUSTED naming the limit, and the gateway keeps serving", async () => {
    const answer = await postJson(`${harness.publicUrl}/test.blob.Blob/Get`, { size: 5000 });
    assert.equal(answer.status, 429);
    const body = answer.body as { code: number; message: string };
    assert.equal(body.code, 8);
    assert.match(body.message, /larger than max \(\d+ vs\. 4096\)/);
    assert.equal((await postJson(`${harness.publicUrl}/test.blob.Blob/Get`, { size: 10 })).status, 200);
  });

  test("the option is validated: a size, not a number of anything else", () => {
    const bad = loadConfig({ argv: ["--max-response-bytes", "lots"], env: {} });
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.problems.some((p) => p.includes("max-response-bytes")));
  });
});
