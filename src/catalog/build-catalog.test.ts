import assert from "node:assert/strict";
import { describe, test } from "node:test";
import protobuf from "protobufjs";
import descriptorTypes from "protobufjs/ext/descriptor.js";
import { DEFAULT_JSON_OPTIONS } from "../codec/codec.js";
import { decodeDescriptorFile } from "../reflection/descriptor-file.js";
import { hashDescriptorFiles } from "../reflection/schema-root.js";
import type { HttpRule } from "../router/http-rule.js";
import { CatalogBuilder, type InstanceSchema } from "./build-catalog.js";
import { NO_POLICIES } from "./catalog.js";

// One backend schema, declared inline: two unary methods of one service.
function schema(): InstanceSchema {
  const root = protobuf.parse(
    `syntax = "proto3"; package t.v1;
     message Req { string name = 1; } message Res { string name = 1; }
     service S { rpc Get(Req) returns (Res); rpc Put(Req) returns (Res); }`,
    { keepCase: true },
  ).root;
  const set = root.toDescriptor("proto3") as unknown as { file: Array<{ name?: string }> };
  const proto = set.file[0]!;
  proto.name = "t/v1/s.proto";
  const file = decodeDescriptorFile(
    descriptorTypes.FileDescriptorProto.encode(proto as protobuf.Message).finish(),
  );
  const files = new Map([[file.name, file]]);
  return {
    instance: { backend: "t", id: "a", address: "127.0.0.1:1", metadata: {} },
    version: "v1",
    hash: hashDescriptorFiles(files.values()),
    services: ["t.v1.S"],
    files,
    firstSeenAt: 0,
  };
}

const rule = (selector: string, pattern: string): HttpRule => ({
  selector,
  verb: "GET",
  pattern,
  body: "",
  responseBody: "",
  additionalBindings: [],
  source: "rules-file",
});

describe("CatalogBuilder: one snapshot holds everything the request path reads", () => {
  const builder = new CatalogBuilder();
  const snapshot = builder.build({
    backends: new Map([["t", { schemas: [schema()], statuses: [] }]]),
    fileRules: [rule("t.v1.S.Get", "/v1/{name}"), rule("t.v1.S.Gone", "/v1/gone")],
    jsonOptionsFor: () => DEFAULT_JSON_OPTIONS,
    isServiceAllowed: () => true,
  });
  const get = snapshot.methodsByPath.get("/t.v1.S/Get")!;
  const put = snapshot.methodsByPath.get("/t.v1.S/Put")!;

  test("methods carry their codecs, a prebuilt Status codec shared per schema, and an empty policy chain", () => {
    assert.equal(get.statusCodec.typeName, "google.rpc.Status");
    assert.equal(get.statusCodec, put.statusCodec);
    assert.equal(get.policies, NO_POLICIES);
    assert.equal(get.instances.length, 1);
  });

  test("the route table is built with the snapshot, rules file merged, problems reported", () => {
    const match = snapshot.routes.match("GET", "/v1/abc");
    assert.equal(match.kind, "match");
    assert.equal(match.kind === "match" && match.target, get);
    assert.deepEqual(snapshot.routeProblems, ["http rule for t.v1.S.Gone: no such method is discovered"]);
  });
});
