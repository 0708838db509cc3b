import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { chromiumPath } from "./helpers/browser.js";
import { type GatewayHarness, startGatewayHarness } from "./helpers/gateway-harness.js";

/**
 * Issue 6 from a real browser (headless chromium through playwright-core): the browser's own
 * `EventSource` reads a server stream as Server-Sent Events, and its own `WebSocket` runs a bidi call.
 * The page is served from the gateway's origin, as a web app behind the gateway would be.
 */

const LIB = "/acme.library.v1.LibraryService";

interface EventSourceResult {
  messages: string[];
  /** `data` of the server's `event: error`, or "connection error" for the browser's own error event. */
  error?: string;
  ended: boolean;
}

/** Opens an EventSource in the page and collects events until `end` or `error`. */
function readEventSource(page: Page, path: string): Promise<EventSourceResult> {
  return page.evaluate(
    (url) =>
      new Promise<EventSourceResult>((resolve) => {
        const source = new EventSource(url);
        const messages: string[] = [];
        source.onmessage = (event) => messages.push(event.data as string);
        source.addEventListener("end", () => {
          source.close();
          resolve({ messages, ended: true });
        });
        source.addEventListener("error", (event) => {
          source.close();
          // The server's `event: error` is a MessageEvent with data; a broken connection is a plain Event.
          const data = (event as unknown as { data?: string }).data;
          resolve({ messages, ended: false, error: data ?? "connection error" });
        });
      }),
    path,
  );
}

describe("streaming from a real browser", () => {
  let h: GatewayHarness;
  let browser: Browser;
  let page: Page;

  before(async () => {
    h = await startGatewayHarness({ users: false });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    page = await browser.newPage();
    // Any page of the gateway's origin: EventSource and WebSocket then need no CORS.
    await page.goto(`${h.publicUrl}/v1/shelves/1`);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test("EventSource reads a server stream on a REST route and closes on event: end", async () => {
    const result = await readEventSource(page, "/v1/shelves/2/books:stream?count=3");
    assert.equal(result.ended, true);
    assert.equal(result.error, undefined);
    assert.deepEqual(
      result.messages.map((m) => (JSON.parse(m) as { name: string }).name),
      ["shelves/2/books/1", "shelves/2/books/2", "shelves/2/books/3"],
    );
  });

  test("EventSource gets the failure as event: error carrying the google.rpc.Status", async () => {
    const result = await readEventSource(page, "/v1/shelves/1/books:stream?count=3&failAfter=2");
    assert.equal(result.messages.length, 2);
    assert.deepEqual(JSON.parse(result.error ?? "null"), {
      code: 10,
      message: "stream aborted after 2 books (fail_after)",
      details: [],
    });
  });

  test("the browser's WebSocket runs a bidi call: echoes, half-close, close 1000", async () => {
    const result = await page.evaluate(
      (url) =>
        new Promise<{ received: string[]; code: number; reason: string }>((resolve) => {
          const socket = new WebSocket(url);
          const received: string[] = [];
          socket.onopen = () => socket.send(JSON.stringify({ text: "from the browser" }));
          socket.onmessage = (event) => {
            received.push(event.data as string);
            if (received.length === 1) socket.send(JSON.stringify({ text: "and again" }));
            else socket.send("");
          };
          socket.onclose = (event) => resolve({ received, code: event.code, reason: event.reason });
        }),
      `${h.publicUrl.replace(/^http/, "ws")}${LIB}/BookChat`,
    );
    assert.deepEqual(
      result.received.map((m) => JSON.parse(m)),
      [
        { text: "from the browser", from: "library" },
        { text: "and again", from: "library" },
      ],
    );
    assert.equal(result.code, 1000);
  });

  test("the browser's WebSocket sees the gRPC status as close code 4005", async () => {
    const result = await page.evaluate(
      (url) =>
        new Promise<{ code: number; reason: string }>((resolve) => {
          const socket = new WebSocket(url);
          socket.onopen = () => socket.send(JSON.stringify({ name: "shelves/1/books/999" }));
          socket.onclose = (event) => resolve({ code: event.code, reason: event.reason });
        }),
      `${h.publicUrl.replace(/^http/, "ws")}${LIB}/GetBook`,
    );
    assert.deepEqual(result, { code: 4005, reason: "book shelves/1/books/999 not found" });
  });
});
