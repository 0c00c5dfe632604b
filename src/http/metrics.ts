/**
 * The Prometheus metrics of one server (`/metrics`), in a registry of its own so several
 * servers in one process (tests) never mix their numbers.
 *
 * Nothing on the request path calls this module: it subscribes to the diagnostics channels
 * (`wasio:request:end` from the HTTP server; `wasio:instance:end`, `wasio:module:compiled`,
 * `wasio:worker:replaced` and `wasio:limit:exceeded` from the runtime), keeps to the messages
 * of its own server and runtime, and reads the pool's gauges when scraped.
 *
 * A server of several processes (one `ServerMetrics` each) serves one text for all of them:
 * each process gives a `snapshot()` and `renderMergedMetrics` merges them with prom-client's
 * cluster aggregation, by each metric's `aggregator`: counters and histograms are summed, and
 * gauges too unless their metric says otherwise (see `renderMergedMetrics`).
 */
import {
  AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry,
  type Aggregator, type MetricObjectWithValues, type MetricValue,
} from 'prom-client';
import {
  instanceEndChannel, limitExceededChannel, moduleCompiledChannel, subscribe, WORKER_REPLACED_REASONS, workerReplacedChannel,
  type PoolStats, type Runtime,
} from '../runtime/index.js';
import { requestEndChannel } from './diagnostics.js';
import { SeriesCounter, SeriesHistogram, type CounterSeries, type HistogramSeries } from './metric-series.js';

/** The `route` label of requests that matched no route (404). */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Seconds; from a cached answer (well under a millisecond) to a route's longest timeouts. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; a small C module compiles in milliseconds, a large Go one in a second or more. */
const COMPILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One process's metrics as plain data (prom-client's `getMetricsAsJSON()`): objects, arrays,
 * strings and numbers, which structured clone carries whole. JSON carries them too, except
 * that a gauge that is NaN (prom-client's event-loop lag before its first sample) becomes null.
 */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * How merging combines the metrics whose own `aggregator` does not fit a server of several
 * processes. prom-client omits `process_start_time_seconds` from merged metrics; the server
 * started when its first process did, so the earliest is kept and the metric is there in
 * both modes. The rest keep prom-client's choices: counters, histograms and memory, CPU and
 * descriptor gauges summed (`process_max_fds` too, so its ratio to the summed
 * `process_open_fds` stays meaningful), `nodejs_version_info` the first, event-loop lag the
 * average (its min and max the least and the greatest).
 */
const MERGE_AGGREGATORS: ReadonlyMap<string, Aggregator> = new Map([['process_start_time_seconds', 'min']]);

/** One server's metrics, counted from the moment it is made until `close()`. */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly unsubscribers: (() => void)[] = [];

  /** `server` is the publisher of this server's `wasio:request:end` and body-limit messages. */
  constructor(server: object, runtime: Runtime) {
    const registers = [this.registry];
    // The metrics counted for every request and instance keep their numbers in plain objects
    // found once per label set (`metric-series.ts`); the rarer ones are prom-client's own.
    const requests = new SeriesCounter({
      name: 'wasio_http_requests_total', help: 'Instrument requests answered, by route, method and status.',
      labelNames: ['route', 'method', 'status'] as const, registers,
    });
    const requestDuration = new SeriesHistogram({
      name: 'wasio_http_request_duration_seconds', help: 'Time from a request\'s arrival to the end of its response.',
      labelNames: ['route'] as const, buckets: LATENCY_BUCKETS, registers,
    });
    const cacheHits = new SeriesCounter({
      name: 'wasio_response_cache_hits_total', help: 'Requests answered from the response cache (304 included).',
      labelNames: ['route'] as const, registers,
    });
    const cacheMisses = new SeriesCounter({
      name: 'wasio_response_cache_misses_total', help: 'Cacheable requests the response cache could not answer.',
      labelNames: ['route'] as const, registers,
    });
    const queueWait = new SeriesHistogram({
      name: 'wasio_queue_wait_seconds', help: 'Time an instance waited for a worker before it started.',
      labelNames: ['route'] as const, buckets: LATENCY_BUCKETS, registers,
    });
    const instanceRun = new SeriesHistogram({
      name: 'wasio_instance_run_seconds', help: 'Time an instance ran on its worker (instantiate and _start), until it ended or was stopped.',
      labelNames: ['route'] as const, buckets: LATENCY_BUCKETS, registers,
    });
    const inlineRuns = new SeriesCounter({
      name: 'wasio_inline_runs_total',
      help: 'Instances run on the HTTP thread, not on a worker: short runs of small modules, with several HTTP processes.',
      labelNames: ['route'] as const, registers,
    });
    const compiles = new Counter({ name: 'wasio_module_compiles_total', help: 'Module files compiled.', registers });
    const compileTime = new Histogram({
      name: 'wasio_module_compile_duration_seconds', help: 'Time to compile and check one module file.', buckets: COMPILE_BUCKETS, registers,
    });
    const workerRestarts = new Counter({
      name: 'wasio_worker_restarts_total', help: 'Worker threads replaced: a run past its timeout, a client gone mid-run, or a crash.',
      labelNames: ['reason'] as const, registers,
    });
    // Every reason is exported from the start, so a first restart shows as an increase.
    for (const reason of WORKER_REPLACED_REASONS) workerRestarts.inc({ reason }, 0);
    const limitBreaches = new Counter({
      name: 'wasio_limit_breaches_total',
      help: 'Requests stopped by a limit: timeout (504), memory or output (500), body (413), queue (503).',
      labelNames: ['kind', 'route'] as const, registers,
    });
    const poolGauges: readonly (readonly [name: string, help: string, read: (pool: PoolStats) => number])[] = [
      ['wasio_queue_depth', 'Requests waiting for a worker.', (pool) => pool.queued],
      ['wasio_workers_busy', 'Worker threads running an instance.', (pool) => pool.busy],
      ['wasio_workers', 'Worker threads, extra ones included.', (pool) => pool.workers],
    ];
    for (const [name, help, read] of poolGauges) {
      // Registered by its constructor; read when scraped, so it is never stale. Each process
      // has its own pool, so a server of several processes shows their sum.
      new Gauge({
        name, help, registers, aggregator: 'sum',
        collect() {
          this.set(read(runtime.stats().pool));
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });

    // The series of each label set, found once: building its labels on every request costs
    // more than the count.
    const seriesOf = <Key, Series>(found: Map<Key, Series>, key: Key, find: () => NoInfer<Series>): Series => {
      let series = found.get(key);
      if (series === undefined) {
        series = find();
        found.set(key, series);
      }
      return series;
    };
    /** By route, then method, then status: no key is built per request. */
    const requestSeries = new Map<string, Map<string, Map<number, CounterSeries>>>();
    const routeSeries = new Map<string, { duration: HistogramSeries; hits?: CounterSeries; misses?: CounterSeries }>();
    const instanceSeries = new Map<string, { queueWait: HistogramSeries; run: HistogramSeries; inline?: CounterSeries }>();
    this.unsubscribers.push(
      subscribe(requestEndChannel, (message) => {
        if (message.server !== server) return;
        const route = message.route ?? UNMATCHED_ROUTE;
        const ofRoute = seriesOf(requestSeries, route, () => new Map<string, Map<number, CounterSeries>>());
        const ofMethod = seriesOf(ofRoute, message.method, () => new Map<number, CounterSeries>());
        seriesOf(ofMethod, message.status, () => requests.series({ route, method: message.method, status: message.status })).inc();
        const series = seriesOf(routeSeries, route, () => ({ duration: requestDuration.series({ route }) }));
        series.duration.observe(message.durationMs / 1000);
        // A route's cache series are found at its first hit or miss, so a route that is not
        // cached shows none.
        if (message.cache === 'HIT') (series.hits ??= cacheHits.series({ route })).inc();
        if (message.cache === 'MISS') (series.misses ??= cacheMisses.series({ route })).inc();
      }),
      subscribe(instanceEndChannel, (message) => {
        if (!runtime.published(message.pool)) return;
        const series = seriesOf(instanceSeries, message.group,
          () => ({ queueWait: queueWait.series({ route: message.group }), run: instanceRun.series({ route: message.group }) }));
        series.queueWait.observe(message.queueMs / 1000);
        series.run.observe(message.runMs / 1000);
        // Found at a route's first run on the HTTP thread, so a server that makes none shows none.
        if (message.inline) (series.inline ??= inlineRuns.series({ route: message.group })).inc();
      }),
      subscribe(moduleCompiledChannel, (message) => {
        if (!runtime.published(message.store)) return;
        compiles.inc();
        compileTime.observe(message.compileMs / 1000);
      }),
      subscribe(workerReplacedChannel, (message) => {
        if (runtime.published(message.pool)) workerRestarts.inc({ reason: message.reason });
      }),
      subscribe(limitExceededChannel, (message) => {
        if (message.source === server || runtime.published(message.source)) limitBreaches.inc({ kind: message.kind, route: message.route });
      }),
    );
  }

  /** The Content-Type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format, gauges read now. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Every metric as plain data, gauges read now, for `renderMergedMetrics`. */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  /** Stops counting. */
  close(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }
}

/**
 * The Prometheus text of several processes of one server, from their `ServerMetrics.snapshot()`
 * (carried by structured clone or JSON): samples with the same name and labels merged by their
 * metric's `aggregator` (summed unless it says otherwise; see `MERGE_AGGREGATORS`), metrics in
 * the order they first appear. Resolves with the text and its Content-Type (the same as
 * `ServerMetrics.contentType`). Rejects when a snapshot names an aggregator prom-client does
 * not know.
 */
export async function renderMergedMetrics(snapshots: readonly MetricsSnapshot[]): Promise<{ contentType: string; text: string }> {
  const registry = AggregatorRegistry.aggregate(snapshots.map((metrics) => metrics.map((metric) => {
    const aggregator = MERGE_AGGREGATORS.get(metric.name);
    return aggregator === undefined ? metric : { ...metric, aggregator };
  })));
  return { contentType: registry.contentType, text: await registry.metrics() };
}
