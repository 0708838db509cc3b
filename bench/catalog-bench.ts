import { pathToFileURL } from "node:url";
import protobuf from "protobufjs";
import descriptorTypes from "protobufjs/ext/descriptor.js";
import { CatalogBuilder, type InstanceSchema } from "../src/catalog/build-catalog.js";
import { DEFAULT_JSON_OPTIONS } from "../src/codec/codec.js";
import { type DescriptorFile, decodeDescriptorFile } from "../src/reflection/descriptor-file.js";
import { hashDescriptorFiles } from "../src/reflection/schema-root.js";

/**
 * Memory and build time of a catalog of many backends (issue 9: 1,000 backends × 20 methods), each with
 * its own schema (distinct packages, so nothing is shared between them but the bundled google types).
 * Run with `node --expose-gc` for exact heap figures (bench/run.ts does).
 */

export interface CatalogBenchResult {
  backends: number;
  methodsPerBackend: number;
  methods: number;
  buildMs: number;
  rebuildUnchangedMs: number;
  heapMiB: number;
  heapPerBackendKiB: number;
}

function backendFile(index: number, methods: number): DescriptorFile {
  const lines = [
    `syntax = "proto3";`,
    `package acme.svc${index}.v1;`,
    `import "google/protobuf/timestamp.proto";`,
  ];
  lines.push("enum State { STATE_UNSPECIFIED = 0; STATE_ON = 1; STATE_OFF = 2; }");
  for (let m = 0; m < methods; m++) {
    lines.push(
      `message Req${m} { int64 id = 1; string name = 2; repeated string tags = 3; State state = 4; }`,
    );
    lines.push(
      `message Res${m} { int64 id = 1; string name = 2; google.protobuf.Timestamp at = 3; map<string, string> labels = 4; }`,
    );
  }
  lines.push("service Service {");
  for (let m = 0; m < methods; m++) lines.push(`  rpc Method${m}(Req${m}) returns (Res${m});`);
  lines.push("}");
  const root = new protobuf.Root();
  root.addJSON(protobuf.common.get("google/protobuf/timestamp.proto")!.nested!);
  protobuf.parse(lines.join("\n"), root, { keepCase: true });
  const set = root.toDescriptor("proto3") as unknown as {
    file: Array<{ name?: string; dependency?: string[] }>;
  };
  const file = set.file.find((f) => (f as { package?: string }).package === `acme.svc${index}.v1`)!;
  file.name = `acme/svc${index}/v1/service.proto`;
  file.dependency = ["google/protobuf/timestamp.proto"];
  return decodeDescriptorFile(descriptorTypes.FileDescriptorProto.encode(file as protobuf.Message).finish());
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function benchCatalog(backends = 1000, methodsPerBackend = 20): Promise<CatalogBenchResult> {
  const schemas = new Map<string, { schemas: InstanceSchema[]; statuses: [] }>();
  for (let i = 0; i < backends; i++) {
    const file = backendFile(i, methodsPerBackend);
    const files = new Map([[file.name, file]]);
    schemas.set(`backend-${i}`, {
      schemas: [
        {
          instance: {
            backend: `backend-${i}`,
            id: "a",
            address: `10.0.${i >> 8}.${i & 255}:50051`,
            metadata: {},
          },
          version: "v1",
          hash: hashDescriptorFiles(files.values()),
          services: [`acme.svc${i}.v1.Service`],
          files,
          firstSeenAt: 0,
        },
      ],
      statuses: [],
    });
  }
  const before = heapUsed();
  const builder = new CatalogBuilder();
  const input = {
    backends: schemas,
    jsonOptionsFor: () => DEFAULT_JSON_OPTIONS,
    isServiceAllowed: () => true,
  };
  let started = performance.now();
  const snapshot = builder.build(input);
  const buildMs = performance.now() - started;
  const heap = heapUsed() - before;
  started = performance.now();
  builder.build(input);
  const rebuildUnchangedMs = performance.now() - started;
  return {
    backends,
    methodsPerBackend,
    methods: snapshot.methodsByPath.size,
    buildMs,
    rebuildUnchangedMs,
    heapMiB: heap / 1024 / 1024,
    heapPerBackendKiB: heap / 1024 / backends,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(`${JSON.stringify(await benchCatalog(), null, 2)}\n`);
}
