import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { chromiumPath } from "./helpers/browser.js";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";

const LIBRARY = "acme.library.v1.LibraryService";
const SCREENSHOT = "test-artifacts/docs.png";

describe("GET /docs in a real browser", () => {
  let h: GatewayHarness;
  let browser: Browser;
  before(async () => {
    h = await startGatewayHarness();
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test("lists the discovered services and a 'try it out' call returns the backend's answer", async () => {
    const expected = await postJson(`${h.publicUrl}/${LIBRARY}/GetBook`, { name: "shelves/1/books/2" });
    assert.equal(expected.status, 200);
    const title = (expected.body as { title: string }).title;

    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const origins = new Set<string>();
    const problems: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.protocol !== "data:") origins.add(url.origin);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });

    const response = await page.goto(`${h.publicUrl}/docs`);
    assert.equal(response?.status(), 200);
    // Both demo services appear as sections (tags) of the rendered document.
    const tags = page.locator(".opblock-tag-section .opblock-tag");
    await tags.first().waitFor({ timeout: 20_000 });
    const tagTexts = await tags.allInnerTexts();
    assert.ok(
      tagTexts.some((t) => t.includes(LIBRARY)),
      tagTexts.join(" | "),
    );
    assert.ok(
      tagTexts.some((t) => t.includes("acme.user.v1.UserService")),
      tagTexts.join(" | "),
    );
    await page.getByText("Manages shelves and the books on them.").first().waitFor();

    // Open GetBook's default route, try it out with a real request body, execute.
    const operation = page.locator(`.opblock:has(.opblock-summary-path[data-path="/${LIBRARY}/GetBook"])`);
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator("textarea.body-param__text").fill(JSON.stringify({ name: "shelves/1/books/2" }));
    await operation.locator("button.execute").click();
    const live = operation.locator(".live-responses-table tbody .response-col_status").first();
    await live.waitFor({ timeout: 20_000 });
    assert.equal((await live.textContent())?.trim(), "200");
    const body = operation.locator(".live-responses-table tbody .response-col_description pre").first();
    await body.waitFor();
    const answer = JSON.parse((await body.textContent()) ?? "") as {
      name: string;
      title: string;
      id: string;
    };
    assert.equal(answer.name, "shelves/1/books/2");
    assert.equal(answer.title, title);
    assert.equal(typeof answer.id, "string", "int64 stays a string on the way to the browser");
    // The backend really received the call the page made.
    assert.ok(h.library!.calls.filter((c) => c.path === `/${LIBRARY}/GetBook`).length >= 2);

    mkdirSync("test-artifacts", { recursive: true });
    await operation.locator(".live-responses-table").scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT, fullPage: false });

    // A REST route: the template's variable `name=shelves/*/books/*` is offered as two path parameters,
    // which Swagger UI fills in without percent-encoding a slash, so the route matches.
    const rest = page.locator(
      '.opblock:has(.opblock-summary-path[data-path="/v1/shelves/{shelf}/books/{book}"])',
    );
    const restGet = rest.filter({ has: page.locator(".opblock-summary-method", { hasText: "GET" }) });
    await restGet.locator(".opblock-summary").click();
    await restGet.locator("button.try-out__btn").click();
    await restGet.locator('tr[data-param-name="shelf"] input').fill("1");
    await restGet.locator('tr[data-param-name="book"] input').fill("2");
    await restGet.locator("button.execute").click();
    const restStatus = restGet.locator(".live-responses-table tbody .response-col_status").first();
    await restStatus.waitFor({ timeout: 20_000 });
    assert.equal((await restStatus.textContent())?.trim(), "200");
    const restBody = restGet.locator(".live-responses-table tbody .response-col_description pre").first();
    assert.equal((JSON.parse((await restBody.textContent()) ?? "") as { title: string }).title, title);

    // Everything came from the gateway itself: no CDN, no outside validator; no script or CSP errors.
    assert.deepEqual([...origins], [h.publicUrl]);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
