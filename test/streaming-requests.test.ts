import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";
import { parseNdjson } from "./helpers/ndjson.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Issue 6 over plain HTTP/1.1, request side: client streaming and bidi with NDJSON request bodies read
 * line by line as they arrive, against the real LibraryService (ImportBooks, BookChat).
 */

const LIB = "/acme.library.v1.LibraryService";
const MAX_REQUEST_BYTES = 64 * 1024;

/** POSTs a body written piece by piece with a real socket, returning status and text. */
function postPieces(
  url: string,
  headers: Record<string, string>,
  write: (request: http.ClientRequest) => Promise<void>,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, text, headers: response.headers }),
      );
    });
    request.on("error", reject);
    write(request).then(() => request.end(), reject);
  });
}

describe("client and bidi streaming over HTTP", () => {
  let h: GatewayHarness;

  before(async () => {
    h = await startGatewayHarness({ users: false, gateway: { maxRequestBytes: MAX_REQUEST_BYTES } });
  });
  after(() => h.close());

  describe("client streaming", () => {
    test("NDJSON on the default route: one message per line, blank lines skipped", async () => {
      const body = [
        JSON.stringify({ parent: "shelves/1", book: { title: "One" } }),
        "",
        JSON.stringify({ parent: "shelves/2", book: { title: "Two" } }),
        "   ",
        "",
      ].join("\r\n");
      const response = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
      const result = (await response.json()) as { imported: number; names: string[] };
      assert.equal(result.imported, 2);
      assert.match(result.names[0]!, /^shelves\/1\/books\/\d+$/);
      assert.match(result.names[1]!, /^shelves\/2\/books\/\d+$/);
    });

    test("application/json with one message per line on the REST route (no newline at the end)", async () => {
      const body = [
        JSON.stringify({ parent: "shelves/1", book: { title: "Three" } }),
        JSON.stringify({ parent: "shelves/1", book: { title: "Four" } }),
      ].join("\n");
      const response = await fetch(`${h.publicUrl}/v1/books:import`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { imported: number }).imported, 2);
    });

    test("no body at all is a stream of zero messages", async () => {
      const response = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, { method: "POST" });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { imported: 0, names: [] });
    });

    test("a malformed line ends the call with 400 naming the line", async () => {
      const body = [
        JSON.stringify({ parent: "shelves/1", book: { title: "Five" } }),
        "",
        '{"parent": "shelves/1", "book": {"title": }}',
        JSON.stringify({ parent: "shelves/1", book: { title: "never sent" } }),
      ].join("\n");
      const response = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
      assert.equal(response.status, 400);
      const status = (await response.json()) as { code: number; message: string };
      assert.equal(status.code, 3);
      assert.match(status.message, /^line 3: /);
      const unknownField = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: `${JSON.stringify({ parent: "shelves/1", bok: {} })}\n`,
      });
      assert.equal(unknownField.status, 400);
      assert.match(((await unknownField.json()) as { message: string }).message, /^line 1: .*bok/);
    });

    test("a line over the body limit is 413 naming the line", async () => {
      const long = JSON.stringify({ parent: "shelves/1", book: { title: "x".repeat(MAX_REQUEST_BYTES) } });
      const response = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: `{"parent":"shelves/1"}\n${long}\n`,
      });
      assert.equal(response.status, 413);
      assert.match(((await response.json()) as { message: string }).message, /^line 2: longer than/);
    });

    test("a gzip body is inflated line by line; a line over the limit after inflating is 413", {
      timeout: 20_000,
    }, async () => {
      const post = (raw: string, encode: (b: Buffer) => Buffer = gzipSync) =>
        postPieces(
          `${h.publicUrl}/v1/books:import`,
          { "content-type": "application/x-ndjson", "content-encoding": "gzip" },
          async (request) => {
            request.write(encode(Buffer.from(raw)));
          },
        );
      const ok = await post(`${JSON.stringify({ parent: "shelves/1", book: { title: "Zipped" } })}\n`);
      assert.equal(ok.status, 200, ok.text);
      assert.equal((JSON.parse(ok.text) as { imported: number }).imported, 1);
      // Issue 13 (fuzz): this request was never answered — the inflating stream was never started.
      const big = await post(`{"parent":"${"0".repeat(2 * MAX_REQUEST_BYTES)}"}\n`);
      assert.equal(big.status, 413, big.text);
      assert.match(big.text, /line 1: longer than the limit of 65536 bytes/);
      const corrupt = await post("not gzip at all", (b) => b);
      assert.equal(corrupt.status, 400, corrupt.text);
      assert.equal((JSON.parse(corrupt.text) as { code: number }).code, 3);
    });

    test("the backend's own error is the response (its status, not 200)", async () => {
      const response = await fetch(`${h.publicUrl}${LIB}/ImportBooks`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: `${JSON.stringify({ parent: "shelves/404", book: { title: "Lost" } })}\n`,
      });
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { code: number }).code, 5);
    });

    test("lines are sent to the backend as they arrive, not when the body ends", async () => {
      const title = `Streamed import ${Date.now()}`;
      const result = await postPieces(
        `${h.publicUrl}/v1/books:import`,
        { "content-type": "application/x-ndjson", "transfer-encoding": "chunked" },
        async (request) => {
          request.write(`${JSON.stringify({ parent: "shelves/2", book: { title } })}\n`);
          // The body is still open: the book must exist already.
          await waitFor(
            async () => {
              const list = await postJson(`${h.publicUrl}${LIB}/ListBooks`, { parent: "shelves/2" });
              return (list.body as { books: Array<{ title: string }> }).books.some((b) => b.title === title);
            },
            5_000,
            "the first line's book to be created while the body is still open",
          );
          request.write(`${JSON.stringify({ parent: "shelves/2", book: { title: `${title} (2)` } })}\n`);
        },
      );
      assert.equal(result.status, 200);
      assert.equal((JSON.parse(result.text) as { imported: number }).imported, 2);
    });

    test("NDJSON is refused for a unary method (415)", async () => {
      const response = await fetch(`${h.publicUrl}${LIB}/GetShelf`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: '{"shelfId":"1"}\n',
      });
      assert.equal(response.status, 415);
    });
  });

  describe("bidirectional streaming over HTTP/1.1", () => {
    test("NDJSON lines in, NDJSON results out", async () => {
      const response = await fetch(`${h.publicUrl}${LIB}/BookChat`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: '{"text":"hello"}\n{"text":"again"}\n',
      });
      assert.equal(response.status, 200);
      assert.deepEqual(parseNdjson(await response.text()), [
        { result: { text: "hello", from: "library" } },
        { result: { text: "again", from: "library" } },
      ]);
    });

    test("a malformed line after the first answer is a last error line naming it", async () => {
      const result = await postPieces(
        `${h.publicUrl}${LIB}/BookChat`,
        { "content-type": "application/x-ndjson", "transfer-encoding": "chunked" },
        async (request) => {
          request.write('{"text":"one"}\n');
          await new Promise((r) => setTimeout(r, 100));
          request.write("{oops}\n");
        },
      );
      assert.equal(result.status, 200);
      const lines = parseNdjson(result.text);
      assert.deepEqual(lines[0], { result: { text: "one", from: "library" } });
      assert.equal(lines.at(-1)!.error?.code, 3);
      assert.match(lines.at(-1)!.error!.message, /^line 2: /);
    });
  });

  test("over HTTP/2 bidi is full duplex: each line is answered before the next one is sent", async () => {
    const session = http2.connect(h.publicUrl);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": `${LIB}/BookChat`,
        "content-type": "application/x-ndjson",
      });
      stream.setEncoding("utf8");
      const status = new Promise<number>((resolve) =>
        stream.on("response", (head) => resolve(Number(head[":status"]))),
      );
      let text = "";
      const sent = ["ping 1", "ping 2", "ping 3"];
      let next = 0;
      const send = (): void => {
        const line = `${JSON.stringify({ text: sent[next++] })}\n`;
        if (next === sent.length) stream.end(line);
        else stream.write(line);
      };
      stream.on("data", (chunk: string) => {
        text += chunk;
        // Only once the previous message's answer is in does the next one go out.
        if (parseNdjson(text).length === next && next < sent.length) send();
      });
      send();
      await new Promise((resolve) => stream.on("end", resolve));
      assert.equal(await status, 200);
      assert.deepEqual(
        parseNdjson(text).map((l) => l.result?.text),
        sent,
      );
    } finally {
      session.close();
    }
  });
});
