import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { makeTestCertificates, type TestCertificates } from "./helpers/certs.js";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";

/**
 * Issue 7, the public port's protocols: HTTP/2 (h2c by prior knowledge in cleartext, ALPN h2 with TLS)
 * and HTTP/1.1 (requests, streams, WebSocket upgrades) on the same port, plus the header-size limit and
 * the timeouts against slow clients.
 */

const LIB = "/acme.library.v1.LibraryService";

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

function h2Post(session: http2.ClientHttp2Session, path: string, body: unknown): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/json",
    });
    let headers: http2.IncomingHttpHeaders = {};
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body: text }));
    stream.on("error", reject);
    stream.end(JSON.stringify(body));
  });
}

function connectH2(
  url: string,
  options: http2.SecureClientSessionOptions = {},
): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    // After the server's SETTINGS, so that the test can read them.
    session.once("remoteSettings", () => resolve(session));
    session.once("error", reject);
  });
}

function closeSession(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => session.close(() => resolve()));
}

/** An HTTP/1.1 request over a plain socket: the reply's status line, headers and body as text. */
function rawHttp1(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
    socket.write(request);
  });
}

describe("front: HTTP/2 and HTTP/1.1 on one cleartext port", () => {
  let h: GatewayHarness;
  let port: number;

  before(async () => {
    h = await startGatewayHarness({
      users: false,
      gateway: { maxHeaderBytes: 4096, headersTimeoutMs: 400, idleTimeoutMs: 500 },
    });
    port = Number(new URL(h.publicUrl).port);
  });
  after(() => h.close());

  test("an h2c prior-knowledge client calls a demo method, several streams on one connection", async () => {
    const session = await connectH2(h.publicUrl);
    try {
      const [one, two] = await Promise.all([
        h2Post(session, `${LIB}/GetShelf`, { shelfId: "1" }),
        h2Post(session, `${LIB}/ListShelves`, {}),
      ]);
      assert.equal(one.status, 200, one.body);
      assert.equal((JSON.parse(one.body) as { id: string }).id, "1");
      assert.match(String(one.headers["content-type"]), /^application\/json/);
      assert.ok(one.headers["x-request-id"], "x-request-id on HTTP/2 too");
      assert.equal(two.status, 200, two.body);
      assert.ok((JSON.parse(two.body) as { shelves: unknown[] }).shelves.length >= 2);
      // Gateway errors keep their JSON body over HTTP/2.
      const missing = await h2Post(session, `${LIB}/GetShelf`, { shelfId: "999" });
      assert.equal(missing.status, 404);
      assert.equal((JSON.parse(missing.body) as { code: number }).code, 5);
    } finally {
      await closeSession(session);
    }
  });

  test("a server stream over HTTP/2 arrives as NDJSON lines", async () => {
    const session = await connectH2(h.publicUrl);
    try {
      const answer = await h2Post(session, `${LIB}/StreamBooks`, { parent: "shelves/2", count: 3 });
      assert.equal(answer.status, 200, answer.body);
      assert.match(String(answer.headers["content-type"]), /^application\/x-ndjson/);
      const lines = answer.body.trim().split("\n");
      assert.equal(lines.length, 3, answer.body);
      for (const line of lines) assert.ok((JSON.parse(line) as { result?: unknown }).result);
    } finally {
      await closeSession(session);
    }
  });

  test("HTTP/1.1 clients keep working on the same port", async () => {
    const viaFetch = await postJson(`${h.publicUrl}${LIB}/GetShelf`, { shelfId: "2" });
    assert.equal(viaFetch.status, 200);
    const raw = await rawHttp1(
      port,
      `POST ${LIB}/GetShelf HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"shelfId":"1"}`,
    );
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /"id":"1"/);
    // `curl --http2` on cleartext asks to upgrade to h2c; the upgrade is ignored, the request served.
    const upgrade = await rawHttp1(
      port,
      `POST ${LIB}/GetShelf HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
        `HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"shelfId":"1"}`,
    );
    assert.match(upgrade, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(upgrade, /\r\nConnection: close\r\n/i);
    assert.match(upgrade, /"id":"1"/);
  });

  test("a WebSocket upgrade (HTTP/1.1) works on the same port", async () => {
    const socket = new WebSocket(`${h.publicUrl.replace(/^http/, "ws")}${LIB}/GetShelf`);
    const message = await new Promise<string>((resolve, reject) => {
      socket.once("open", () => socket.send(JSON.stringify({ shelfId: "1" })));
      socket.once("message", (data) => resolve(String(data)));
      socket.once("error", reject);
    });
    assert.equal((JSON.parse(message) as { id: string }).id, "1");
    const code = await new Promise<number>((resolve) => socket.once("close", (c) => resolve(c)));
    assert.equal(code, 1000);
  });

  test("a request head over --max-header-bytes is refused with 431", async () => {
    const raw = await rawHttp1(
      port,
      `GET ${LIB}/GetShelf HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(8000)}\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 431 /);
    const body = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { code: number; message: string };
    assert.equal(body.code, 8);
    assert.match(body.message, /request headers exceed the limit of 4096 bytes/);
    // A head under the limit still passes.
    const ok = await postJson(
      `${h.publicUrl}${LIB}/GetShelf`,
      { shelfId: "1" },
      { "x-fine": "a".repeat(2000) },
    );
    assert.equal(ok.status, 200);
  });

  test("HTTP/2 advertises the header limit and refuses a header list over it", async () => {
    const big = { ":method": "POST", ":path": `${LIB}/GetShelf`, "x-big": "a".repeat(8000) };
    // Sent before the server's SETTINGS are acknowledged: Node lets it through, the gateway answers 431.
    const early = http2.connect(h.publicUrl);
    try {
      const refused = await new Promise<H2Answer>((resolve, reject) => {
        const stream = early.request(big);
        let headers: http2.IncomingHttpHeaders = {};
        let body = "";
        stream.setEncoding("utf8");
        stream.on("response", (h) => {
          headers = h;
        });
        stream.on("data", (chunk: string) => {
          body += chunk;
        });
        stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body }));
        stream.on("error", reject);
        stream.end("{}");
      });
      assert.equal(refused.status, 431);
      assert.equal((JSON.parse(refused.body) as { code: number }).code, 8);
    } finally {
      early.destroy();
    }
    // Once they are: Node resets the stream itself (ENHANCE_YOUR_CALM); the session stays usable.
    const session = await connectH2(h.publicUrl);
    try {
      assert.equal(session.remoteSettings.maxHeaderListSize, 4096);
      assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
      const rstCode = await new Promise<number>((resolve) => {
        const stream = session.request(big);
        stream.on("error", () => {});
        stream.on("close", () => resolve(stream.rstCode ?? 0));
        stream.resume();
        stream.end("{}");
      });
      assert.equal(rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      assert.equal((await h2Post(session, `${LIB}/GetShelf`, { shelfId: "1" })).status, 200);
    } finally {
      await closeSession(session);
    }
  });

  test("slow clients: a connection that says nothing, or a head that never ends, is closed", async () => {
    const silentClosedMs = await timeToClose(port, "");
    assert.ok(silentClosedMs < 3000, `silent connection closed after ${silentClosedMs} ms`);
    const slowHeadClosedMs = await timeToClose(port, `GET ${LIB}/GetShelf HTTP/1.1\r\nHost: x\r\n`);
    assert.ok(slowHeadClosedMs < 3000, `slow head closed after ${slowHeadClosedMs} ms`);
  });

  test("idle keep-alive connections and idle HTTP/2 sessions are closed after --idle-timeout", async () => {
    const idleClosedMs = await timeToClose(
      port,
      `POST ${LIB}/GetShelf HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"shelfId":"1"}`,
    );
    assert.ok(idleClosedMs >= 400 && idleClosedMs < 3000, `idle keep-alive closed after ${idleClosedMs} ms`);
    const session = await connectH2(h.publicUrl);
    await h2Post(session, `${LIB}/GetShelf`, { shelfId: "1" });
    const goaway = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      session.once("goaway", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    session.destroy();
    assert.ok(goaway, "the server sent GOAWAY to an idle session");
  });
});

/** Milliseconds until the server closes a connection after `sent` was written. */
function timeToClose(port: number, sent: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => {
      if (sent) socket.write(sent);
    });
    socket.resume();
    socket.on("close", () => resolve(Date.now() - started));
    socket.on("error", reject);
    setTimeout(() => {
      socket.destroy();
      reject(new Error("the server kept the connection open"));
    }, 5000).unref();
  });
}

describe("front: TLS with ALPN (h2 and http/1.1)", () => {
  let certs: TestCertificates;
  let h: GatewayHarness;
  let port: number;

  before(async () => {
    certs = makeTestCertificates();
    h = await startGatewayHarness({
      users: false,
      gateway: { tlsCert: certs.serverCert, tlsKey: certs.serverKey },
    });
    port = Number(new URL(h.publicUrl).port);
  });
  after(async () => {
    await h?.close();
    certs?.remove();
  });

  test("listen() reports an https URL", () => {
    assert.match(h.publicUrl, /^https:\/\//);
  });

  test("an HTTP/2 client negotiates h2 by ALPN and calls a demo method", async () => {
    const session = await connectH2(`https://localhost:${port}`, { ca: certs.read(certs.caCert) });
    try {
      assert.equal(session.alpnProtocol, "h2");
      assert.equal(session.encrypted, true);
      const answer = await h2Post(session, `${LIB}/GetShelf`, { shelfId: "1" });
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { id: string }).id, "1");
    } finally {
      await closeSession(session);
    }
  });

  test("an HTTP/1.1 client over TLS still works on the same port", async () => {
    const answer = await new Promise<{ status: number; version: string; alpn: string | false; body: string }>(
      (resolve, reject) => {
        const request = https.request(
          {
            host: "localhost",
            port,
            method: "POST",
            path: `${LIB}/GetShelf`,
            ca: certs.read(certs.caCert),
            headers: { "content-type": "application/json" },
            agent: false,
          },
          (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              body += chunk;
            });
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                version: response.httpVersion,
                alpn: (response.socket as import("node:tls").TLSSocket).alpnProtocol ?? false,
                body,
              }),
            );
          },
        );
        request.on("error", reject);
        request.end(JSON.stringify({ shelfId: "2" }));
      },
    );
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.version, "1.1");
    assert.ok(answer.alpn === "http/1.1" || answer.alpn === false, String(answer.alpn));
    assert.equal((JSON.parse(answer.body) as { id: string }).id, "2");
  });

  test("a cleartext HTTP/1.1 request to the TLS port gets no answer", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const request = http.request({ host: "127.0.0.1", port, path: "/", agent: false }, (response) =>
        resolve(`status ${response.statusCode}`),
      );
      request.on("error", (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
      request.end();
    });
    assert.match(outcome, /^error /);
  });
});

describe("front: shutdown with HTTP/2 clients", () => {
  test("close() sends GOAWAY; a stream in flight finishes, the session takes no new streams", async () => {
    const h = await startGatewayHarness({ users: false, gateway: { shutdownGraceMs: 5000 } });
    const session = await connectH2(h.publicUrl);
    try {
      const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
      const streaming = h2Post(session, `${LIB}/StreamBooks`, {
        parent: "shelves/2",
        count: 3,
        intervalMs: 300,
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const closing = h.close();
      await goaway;
      const answer = await streaming;
      assert.equal(answer.status, 200);
      assert.equal(answer.body.trim().split("\n").length, 3, answer.body);
      assert.throws(() => session.request({ ":path": `${LIB}/GetShelf` }));
      await closing;
    } finally {
      session.destroy();
      await h.close();
    }
  });
});
