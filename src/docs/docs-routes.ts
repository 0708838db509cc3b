import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";

export interface DocsRoutesOptions {
  /** The current OpenAPI document; called per request, so it must be cached by the caller. */
  document: () => object;
  /** Page title. Default "Refract API". */
  title?: string;
}

// Swagger UI's distribution as @fastify/swagger-ui ships it: served from this process, no CDN.
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "index.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

// Swagger UI sets inline styles; everything else comes from this origin.
const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self'; object-src 'none'; frame-ancestors 'self'; base-uri 'self'";

/**
 * The public docs routes (CONTRACT.md §1): `GET /openapi.json` (the live document) and `GET /docs`
 * (Swagger UI over it, where a person can try a call). Registered as ordinary routes, so they take
 * precedence over the gateway's catch-all. The JSON text is serialized once per document object.
 */
export function registerDocsRoutes(app: FastifyInstance, options: DocsRoutesOptions): void {
  const staticDir = join(
    dirname(createRequire(import.meta.url).resolve("@fastify/swagger-ui/package.json")),
    "static",
  );
  const assets = new Map<string, Promise<Buffer>>();
  const serialized = new WeakMap<object, { text: string; etag: string }>();
  const title = options.title ?? "Refract API";

  app.get("/openapi.json", async (request, reply) => {
    const document = options.document();
    let cached = serialized.get(document);
    if (!cached) {
      const text = JSON.stringify(document);
      cached = { text, etag: `"${createHash("sha256").update(text).digest("base64url").slice(0, 22)}"` };
      serialized.set(document, cached);
    }
    reply.header("etag", cached.etag).header("cache-control", "no-cache");
    if (request.headers["if-none-match"] === cached.etag) return reply.code(304).send();
    return reply.header("content-type", "application/json; charset=utf-8").send(cached.text);
  });

  const page = docsPage(title);
  const sendPage = async (_request: unknown, reply: import("fastify").FastifyReply) =>
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", DOCS_CSP)
      .send(page);
  app.get("/docs", sendPage);
  app.get("/docs/", sendPage);

  app.get("/docs/init.js", async (_request, reply) =>
    reply.header("content-type", "application/javascript; charset=utf-8").send(INIT_SCRIPT),
  );

  app.get<{ Params: { file: string } }>("/docs/static/:file", async (request, reply) => {
    const { file } = request.params;
    const type = ASSETS[file];
    if (!type) return reply.code(404).header("content-type", "text/plain").send("not found");
    let content = assets.get(file);
    if (!content) {
      content = readFile(join(staticDir, file));
      assets.set(file, content);
      content.catch(() => assets.delete(file));
    }
    return reply
      .header("content-type", type)
      .header("cache-control", "public, max-age=3600")
      .send(await content);
  });
}

function docsPage(title: string): string {
  const escaped = title.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escaped}</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="stylesheet" href="/docs/static/index.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
}

// Points Swagger UI at the live document; no validator badge (it would call an outside service).
const INIT_SCRIPT = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
});
`;
