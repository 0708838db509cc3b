import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { startLibraryBackend } from "../fixtures/backends.js";

/**
 * The backends of the end-to-end benchmark, in their own process so the gateway's CPU is measured
 * alone: BenchService/Echo (answers with the request, stock reflection) and the demo library (for the
 * REST route). Prints one JSON line `{"bench":"host:port","library":"host:port"}` when ready.
 */
const here = dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(join(here, "bench.proto"), {
  includeDirs: [join(here, "..", "proto")],
  longs: String,
  enums: String,
  defaults: false,
});
const server = new grpc.Server();
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  refract: { bench: { v1: { BenchService: grpc.ServiceClientConstructor } } };
};
server.addService(pkg.refract.bench.v1.BenchService.service, {
  Echo: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
    callback(null, call.request),
});
new ReflectionService(definition).addToServer(server);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) =>
    error ? reject(error) : resolve(p),
  ),
);
const library = await startLibraryBackend();
process.stdout.write(`${JSON.stringify({ bench: `127.0.0.1:${port}`, library: library.address })}\n`);
process.on("SIGTERM", () => {
  server.forceShutdown();
  void library.close().then(() => process.exit(0));
});
