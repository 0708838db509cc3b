/**
 * Router micro-benchmark: nanoseconds per `RouteTable.match` for tables of 10, 1,000 and 10,000
 * generated routes (resource-style templates, mixed verbs, custom verbs), over a fixed, deterministic
 * mix of request paths that hit routes near the start, middle and end of the declaration order plus
 * 405 and 404 paths. The cost should stay flat as the table grows (the table is a segment trie).
 *
 *     node --import tsx bench/router-bench.ts
 */
import { pathToFileURL } from "node:url";
import type { HttpRule } from "../src/router/http-rule.js";
import { createRouteTable, type RouteEntry } from "../src/router/index.js";

const SIZES = [10, 1_000, 10_000] as const;

function rule(selector: string, verb: string, pattern: string, body = ""): HttpRule {
  return { selector, verb, pattern, body, responseBody: "", additionalBindings: [], source: "descriptor" };
}

/** Five routes per generated "service", like a typical resource API (Google AIP style). */
function generateRules(count: number): HttpRule[] {
  const rules: HttpRule[] = [];
  for (let i = 0; rules.length < count; i++) {
    const pkg = `acme.svc${i}.v1.Service${i}`;
    const res = `items${i}`;
    const all = [
      rule(`${pkg}.Get`, "GET", `/v1/{name=projects/*/${res}/*}`),
      rule(`${pkg}.List`, "GET", `/v1/{parent=projects/*}/${res}`),
      rule(`${pkg}.Create`, "POST", `/v1/{parent=projects/*}/${res}`, res),
      rule(`${pkg}.Update`, "PATCH", `/v1/{item.name=projects/*/${res}/*}`, "item"),
      rule(`${pkg}.Cancel`, "POST", `/v1/{name=projects/*/${res}/*}:cancel`, "*"),
    ];
    rules.push(...all.slice(0, count - rules.length));
  }
  return rules;
}

/** Request paths spread over the table, so no size benefits from hitting only early routes. */
function requestMix(count: number): Array<[string, string]> {
  const services = Math.max(1, Math.floor(count / 5));
  const picks = [0, Math.floor(services / 2), services - 1];
  const mix: Array<[string, string]> = [];
  for (const s of picks) {
    mix.push(["GET", `/v1/projects/p-${s}/items${s}/item-${s}`]);
    mix.push(["GET", `/v1/projects/p-${s}/items${s}`]);
    mix.push(["PATCH", `/v1/projects/p-${s}/items${s}/item%2F${s}`]);
    mix.push(["POST", `/v1/projects/p-${s}/items${s}/item-${s}:cancel`]);
    mix.push(["DELETE", `/v1/projects/p-${s}/items${s}/item-${s}`]); // 405
  }
  mix.push(["GET", "/v1/projects/p/unknown/x"]); // 404
  mix.push(["GET", "/v2/nothing/here"]); // 404
  return mix;
}

interface Subject {
  readonly routes: number;
  readonly run: (iterations: number) => number;
}

function prepare(count: number): Subject {
  const entries: RouteEntry<number>[] = generateRules(count).map((r, i) => ({ rule: r, target: i }));
  const table = createRouteTable(entries);
  if (table.size !== count) throw new Error(`expected ${count} routes, built ${table.size}`);
  const mix = requestMix(count);
  const run = (iterations: number) => {
    let sink = 0;
    for (let i = 0; i < iterations; i++) {
      const [verb, path] = mix[i % mix.length] as [string, string];
      sink += table.match(verb, path).kind.length;
    }
    return sink;
  };
  return { routes: count, run };
}

/**
 * Match cost per table size: after a warm-up, 7 rounds of 1M matches, the sizes interleaved within
 * each round so a burst of load on the machine does not skew one size; the best round counts.
 */
export async function benchRouter(): Promise<Array<{ routes: number; nsPerMatch: number }>> {
  const subjects = SIZES.map(prepare);
  let sink = 0;
  for (const s of subjects) sink += s.run(200_000); // warm-up (JIT)
  const iterations = 1_000_000;
  const best = subjects.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < 7; round++) {
    subjects.forEach((s, i) => {
      const start = process.hrtime.bigint();
      sink += s.run(iterations);
      best[i] = Math.min(best[i] as number, Number(process.hrtime.bigint() - start) / iterations);
    });
  }
  if (sink === 0) throw new Error("unreachable: keeps the loops from being optimized away");
  return subjects.map((s, i) => ({ routes: s.routes, nsPerMatch: Math.round(best[i] as number) }));
}

async function main(): Promise<void> {
  const results = await benchRouter();
  const lines = [
    "routes    ns/match",
    ...results.map((r) => `${String(r.routes).padStart(6)}  ${String(r.nsPerMatch).padStart(10)}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
