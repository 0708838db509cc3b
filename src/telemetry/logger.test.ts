import assert from "node:assert/strict";
import { test } from "node:test";
import type pino from "pino";
import { createLogger, lazyChildLogger } from "./logger.js";

function capture(): { lines: Array<Record<string, unknown>>; stream: { write(line: string): void } } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, stream: { write: (line: string) => lines.push(JSON.parse(line)) } };
}

test("a lazy child logger makes its pino child only when it logs, and logs like one", () => {
  const { lines, stream } = capture();
  const parent = createLogger({ destination: stream });
  let made = 0;
  const counting = new Proxy(parent, {
    get(target, key) {
      if (key === "child") {
        return (...args: Parameters<pino.Logger["child"]>) => {
          made++;
          return target.child(...args);
        };
      }
      return Reflect.get(target, key);
    },
  });
  const child = lazyChildLogger(counting, { reqId: "r-1" }, {});
  // What Fastify checks of a child logger on every request must not make it.
  for (const method of ["info", "error", "debug", "fatal", "warn", "trace", "child"] as const) {
    assert.equal(typeof child[method], "function");
  }
  assert.equal(made, 0);
  child.info({ headers: { authorization: "Bearer secret" } }, "hello");
  child.warn("again");
  assert.equal(made, 1);
  assert.equal(child.level, "info");
  const grandchild = child.child({ component: "x" });
  grandchild.error("deep");
  assert.deepEqual(
    lines.map((line) => [line.reqId, line.msg, line.component]),
    [
      ["r-1", "hello", undefined],
      ["r-1", "again", undefined],
      ["r-1", "deep", "x"],
    ],
  );
  // The parent's redaction still applies through the lazy child.
  assert.deepEqual(lines[0]?.headers, { authorization: "[redacted]" });
});
