import Fastify from "fastify";

/**
 * The HTTP floor: Fastify answering every POST with a fixed JSON body (the gateway's own answer for the
 * same request, passed in REFRACT_BENCH_BODY). Prints its URL when ready.
 */
const body = process.env.REFRACT_BENCH_BODY ?? "{}";
const app = Fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, text, done) =>
  done(null, text),
);
app.all("/*", async (_request, reply) => {
  reply.header("content-type", "application/json; charset=utf-8");
  return body;
});
const url = await app.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`${url}\n`);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
