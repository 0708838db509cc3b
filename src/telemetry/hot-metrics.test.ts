import assert from "node:assert/strict";
import { test } from "node:test";
import { AggregatorRegistry, Counter, Histogram, Registry } from "prom-client";
import { HotCounter, HotHistogram } from "./hot-metrics.js";

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** The same observations into prom-client's own metrics and into the hot ones. */
function fill(hot: boolean, seed: number): Registry {
  const registry = new Registry();
  const registers = [registry];
  const counterConfig = {
    name: "t_requests_total",
    help: "Requests.",
    labelNames: ["service", "code"] as const,
    registers,
  };
  const histogramConfig = {
    name: "t_duration_seconds",
    help: "Durations.",
    labelNames: ["service"] as const,
    buckets: BUCKETS,
    registers,
  };
  const observations: Array<[string, string, number]> = [];
  for (let i = 0; i < 200; i++) {
    const x = (i * 7919 + seed * 104_729) % 1000;
    // Values on and around every bound, and above the largest.
    observations.push([
      `svc${x % 3}`,
      x % 5 === 0 ? "UNAVAILABLE" : "OK",
      [0.001, 0.0005, 0.01, 0.05, 1, 3][x % 6]!,
    ]);
  }
  if (hot) {
    const counter = new HotCounter(counterConfig);
    const histogram = new HotHistogram(histogramConfig);
    for (const [service, code, seconds] of observations) {
      counter.with(service, code).inc();
      histogram.with(service).observe(seconds);
    }
  } else {
    const counter = new Counter(counterConfig);
    const histogram = new Histogram(histogramConfig);
    for (const [service, code, seconds] of observations) {
      counter.inc({ service, code });
      histogram.observe({ service }, seconds);
    }
  }
  return registry;
}

test("hot metrics expose exactly what prom-client's own counter and histogram expose", async () => {
  const expected = await fill(false, 1).metrics();
  assert.match(expected, /t_duration_seconds_bucket\{le="0.01",service="svc\d"\} \d+/);
  assert.equal(await fill(true, 1).metrics(), expected);
});

test("hot metrics aggregate across workers like prom-client's (AggregatorRegistry)", async () => {
  const merged = async (hot: boolean) =>
    AggregatorRegistry.aggregate([
      await fill(hot, 1).getMetricsAsJSON(),
      await fill(hot, 2).getMetricsAsJSON(),
    ]).metrics();
  assert.equal(await merged(true), await merged(false));
});

test("resetting the registry empties the hot series", async () => {
  const registry = fill(true, 3);
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /svc/);
});
