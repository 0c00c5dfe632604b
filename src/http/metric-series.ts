/**
 * Prometheus counters and histograms for counting on the request path. prom-client's own
 * `inc()` and `observe()`, and those of its `labels()` children, check and hash the label set
 * on every call, which costs a server more CPU per request than the rest of the counting. Here
 * each label set's numbers live in a plain object, its series, found once by `series(labels)`
 * and then counted with plain arithmetic; prom-client reads them only when the registry is
 * scraped, and writes them exactly as it writes its own Counter and Histogram: the same text,
 * the same `getMetricsAsJSON()` values, so `AggregatorRegistry` merges them as before.
 *
 * A series is shown from the moment it is found, counting zero, as prom-client shows a label
 * set from its first `inc(labels, 0)`. Series are never removed, and `Registry.resetMetrics()`
 * does not reset them.
 */
import {
  Counter, Histogram,
  type Aggregator, type CounterConfiguration, type HistogramConfiguration, type LabelValues,
} from 'prom-client';

/** One label set of a `SeriesCounter`. */
export interface CounterSeries {
  /** Adds one. */
  inc(): void;
}

/** One label set of a `SeriesHistogram`. */
export interface HistogramSeries {
  /** Counts `value` in its bucket, the sum and the count. Throws a TypeError if it is not finite, as prom-client does. */
  observe(value: number): void;
}

/** A `SeriesCounter`'s name, help, label names, registries and aggregator, as prom-client's Counter takes them. */
export type SeriesCounterConfiguration<T extends string> = Omit<CounterConfiguration<T>, 'collect' | 'enableExemplars'>;

/** A `SeriesHistogram`'s name, help, label names, registries, aggregator and bucket upper bounds, as prom-client's Histogram takes them. */
export type SeriesHistogramConfiguration<T extends string> = Omit<HistogramConfiguration<T>, 'buckets' | 'collect' | 'enableExemplars'> & {
  readonly buckets: readonly number[];
};

/**
 * A counter whose label sets are found once (`series`) and counted with plain arithmetic.
 * The prom-client Counter it registers is given the totals when the registry is scraped.
 */
export class SeriesCounter<T extends string> {
  private readonly labelNames: readonly T[];
  private readonly found = new Map<string, CounterTotal<T>>();

  /** Registers the counter in `configuration.registers`; throws what prom-client's Counter constructor throws. */
  constructor(private readonly configuration: SeriesCounterConfiguration<T>) {
    this.labelNames = configuration.labelNames ?? [];
    const totals = this.found;
    new Counter<T>({
      ...configuration,
      // A scrape calls `collect()` before reading a counter's values (prom-client's documented
      // hook for values kept elsewhere): they are set from the totals then, in the order the
      // series were found, which is the order prom-client would have shown them in.
      collect() {
        this.reset();
        for (const { labels, value } of totals.values()) this.inc(labels, value);
      },
    });
  }

  /**
   * The series of `labels`, made (counting zero) the first time they are asked for. Throws when
   * `labels` names a label the counter does not have.
   */
  series(labels: LabelValues<T>): CounterSeries {
    return findSeries(this.found, this.configuration.name, this.labelNames, labels, () => new CounterTotal(labels));
  }
}

/**
 * A histogram whose label sets are found once (`series`) and counted with plain arithmetic.
 * What it registers is a prom-client Histogram that exports these series.
 */
export class SeriesHistogram<T extends string> {
  private readonly labelNames: readonly T[];
  private readonly upperBounds: readonly number[];
  private readonly found = new Map<string, HistogramCounts<T>>();

  /** Registers the histogram in `configuration.registers`; throws what prom-client's Histogram constructor throws. */
  constructor(private readonly configuration: SeriesHistogramConfiguration<T>) {
    this.labelNames = configuration.labelNames ?? [];
    this.upperBounds = [...configuration.buckets];
    new HistogramExport(configuration, this.upperBounds, this.found);
    // prom-client shows a histogram without labels, all zero, before its first observation.
    if (this.labelNames.length === 0) this.series({});
  }

  /**
   * The series of `labels`, made (all zero) the first time they are asked for. Throws when
   * `labels` names a label the histogram does not have.
   */
  series(labels: LabelValues<T>): HistogramSeries {
    return findSeries(this.found, this.configuration.name, this.labelNames, labels, () => new HistogramCounts(labels, this.upperBounds));
  }
}

class CounterTotal<T extends string> implements CounterSeries {
  value = 0;

  constructor(readonly labels: LabelValues<T>) {}

  inc(): void {
    this.value += 1;
  }
}

class HistogramCounts<T extends string> implements HistogramSeries {
  /** Per upper bound, the observations it is the least upper bound of (not cumulative). */
  readonly bucketCounts: number[];
  sum = 0;
  count = 0;

  constructor(readonly labels: LabelValues<T>, private readonly upperBounds: readonly number[]) {
    this.bucketCounts = upperBounds.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.upperBounds;
    for (let bucket = 0; bucket < bounds.length; bucket++) {
      if (value <= bounds[bucket]!) {
        this.bucketCounts[bucket]! += 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

/**
 * One sample as prom-client's Histogram hands it to a registry: the series' labels apart from
 * the sample's own `le`. Its `get()` merges the two, `le` first; the text lists them in that
 * order too.
 */
interface ExportedSample<T extends string> {
  labels: { le?: number | '+Inf' };
  sharedLabels: LabelValues<T>;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

/**
 * A prom-client Histogram whose samples come from the series of a `SeriesHistogram`, not from
 * its own observations (it has none). prom-client offers no public way to set a histogram's
 * counts, so this overrides `getForPromString()`, the method through which both its `get()`
 * (which `getMetricsAsJSON()` calls) and a registry's text read a histogram's samples, and
 * returns what prom-client's returns for the same observations: per series, the cumulative
 * count of each bucket, `+Inf` (the count), `_sum` and `_count`, with the same keys, so the
 * JSON snapshot is the same too. A test compares both with prom-client's own Histogram.
 */
class HistogramExport<T extends string> extends Histogram<T> {
  // Named apart from prom-client's own fields (`upperBounds`, `hashMap`, ...), which it sets on the same object.
  private readonly metric: { readonly name: string; readonly help: string; readonly aggregator: Aggregator };

  constructor(
    configuration: SeriesHistogramConfiguration<T>,
    private readonly exportedBounds: readonly number[],
    private readonly exportedSeries: ReadonlyMap<string, HistogramCounts<T>>,
  ) {
    super({ ...configuration, buckets: [...exportedBounds] });
    // prom-client's metrics are summed across processes unless their configuration says otherwise.
    this.metric = { name: configuration.name, help: configuration.help, aggregator: configuration.aggregator ?? 'sum' };
  }

  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: ExportedSample<T>[]; aggregator: Aggregator }> {
    const { name, help, aggregator } = this.metric;
    const bucketName = `${name}_bucket`;
    const values: ExportedSample<T>[] = [];
    for (const series of this.exportedSeries.values()) {
      const sharedLabels = series.labels;
      let cumulative = 0;
      this.exportedBounds.forEach((le, bucket) => {
        cumulative += series.bucketCounts[bucket]!;
        values.push({ labels: { le }, sharedLabels, value: cumulative, metricName: bucketName, exemplar: null });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels, value: series.count, metricName: bucketName, exemplar: null },
        { labels: {}, sharedLabels, value: series.sum, metricName: `${name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels, value: series.count, metricName: `${name}_count`, exemplar: undefined },
      );
    }
    return { name, help, type: 'histogram', values, aggregator };
  }
}

/** The series of `labels` in `found`, made by `make` the first time; throws when a label is not one of `labelNames`. */
function findSeries<Series>(
  found: Map<string, Series>, metricName: string, labelNames: readonly string[],
  labels: Readonly<Record<string, string | number | undefined>>, make: () => Series,
): Series {
  for (const name of Object.keys(labels)) {
    if (!labelNames.includes(name)) throw new Error(`${metricName} has no label "${name}"; its labels are: ${labelNames.join(', ')}`);
  }
  // The same values make the same key whatever the order of their object's keys, and a value
  // given as a number (a status) makes the key of the same value as a string.
  const key = JSON.stringify(labelNames.map((name) => (labels[name] === undefined ? null : String(labels[name]))));
  let series = found.get(key);
  if (series === undefined) {
    series = make();
    found.set(key, series);
  }
  return series;
}
