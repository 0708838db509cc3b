import type { Registry } from "prom-client";

/**
 * Counters and histograms for the per-request hot path, exposed through a prom-client Registry.
 *
 * Why not prom-client's own Counter and Histogram there: each of their updates converts, validates and
 * hashes its label object (sorting the names, building a string) and allocates on the way; the gateway
 * makes four labelled updates per request, and removing them saved ~15 µs of CPU per request, a tenth of
 * the whole HTTP side (bench/README.md). Here a series is found once per label set and then updated with
 * plain arithmetic. What prom-client does well stays with it: these metrics register in its Registry
 * and answer its `get()` with the shape its own metrics return, so the text exposition, the admin
 * endpoint and the cluster aggregation of `--workers` (AggregatorRegistry) are prom-client's.
 * `hot-metrics.test.ts` checks the exposition is byte for byte that of prom-client's metrics.
 */

interface MetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

/** One exported sample, as prom-client's `get()` gives them. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: Sample[];
  aggregator: "sum";
}

abstract class HotMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator = "sum";
  abstract readonly type: "counter" | "histogram";
  protected readonly series = new Map<string, { labels: Record<L, string>; state: S }>();

  constructor(config: MetricConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    // The registry keeps any object with prom-client's metric interface (name, help, type, get, reset).
    for (const registry of config.registers) {
      registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
    }
  }

  protected lookup(values: readonly string[], make: () => S): S {
    const key = values.length === 1 ? values[0]! : values.join("\u0000");
    let entry = this.series.get(key);
    if (entry === undefined) {
      const labels = {} as Record<L, string>;
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? "";
      });
      entry = { labels, state: make() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  abstract get(): Promise<MetricData>;

  /** prom-client's Registry.resetMetrics() calls this. */
  reset(): void {
    this.series.clear();
  }
}

export interface CounterSeries {
  inc(): void;
}

class CounterState implements CounterSeries {
  value = 0;
  inc(): void {
    this.value++;
  }
}

export class HotCounter<L extends string> extends HotMetric<L, CounterState> {
  readonly type = "counter";

  /** The series of these label values (in labelNames order); keep it to update it for free. */
  with(...values: string[]): CounterSeries {
    return this.lookup(values, () => new CounterState());
  }

  async get(): Promise<MetricData> {
    const values: Sample[] = [];
    for (const { labels, state } of this.series.values())
      values.push({ labels: { ...labels }, value: state.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export interface HistogramSeries {
  observe(value: number): void;
}

class HistogramState implements HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram<L extends string> extends HotMetric<L, HistogramState> {
  readonly type = "histogram";
  readonly #buckets: readonly number[];

  constructor(config: MetricConfig<L> & { buckets: readonly number[] }) {
    super(config);
    this.#buckets = [...config.buckets].sort((a, b) => a - b);
  }

  with(...values: string[]): HistogramSeries {
    return this.lookup(values, () => new HistogramState(this.#buckets));
  }

  async get(): Promise<MetricData> {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, state } of this.series.values()) {
      let cumulative = 0;
      this.#buckets.forEach((bound, i) => {
        cumulative += state.counts[i]!;
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: bucketName });
      });
      values.push({ labels: { le: "+Inf", ...labels }, value: state.count, metricName: bucketName });
      values.push({ labels: { ...labels }, value: state.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: state.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
