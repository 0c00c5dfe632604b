/**
 * `SeriesCounter` and `SeriesHistogram` against prom-client's own Counter and Histogram: the
 * same observations, fed to one in a registry and to the other in another, give the same
 * Prometheus text, the same `getMetricsAsJSON()` values and the same merged text, whatever the
 * label sets (several, in either key order, partial, needing escapes, numbers), the values (on
 * bucket bounds, zero, negative, past the last bound, huge) and the moment of the scrape.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry, type LabelValues } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../../src/http/metric-series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];

/** Values on each bound, just past each, zero, negative, past the last bound, large, and ones not exact in binary (so sums are compared to the last bit). */
const VALUES = [
  ...BUCKETS, ...BUCKETS.map((bound) => bound * 1.000001), 0, -0, -3, 0.0001, 0.3, 0.1 + 0.2, 11, 1e6, 12345.678, 0.5, 7,
];

/** Label sets: several routes, keys in either order, one label missing, values that the text escapes. */
const LABEL_SETS: readonly LabelValues<'route' | 'method'>[] = [
  { route: '/a', method: 'GET' },
  { route: '/a', method: 'POST' },
  { method: 'GET', route: '/b' },
  { route: '/quote"back\\slash\nnewline', method: 'GET' },
  { route: '/no-method' },
];

/** A prom-client Histogram and a `SeriesHistogram` of the same configuration, each in a registry of its own. */
function twinHistograms<T extends string>(config: { name: string; help: string; labelNames?: readonly T[]; buckets: readonly number[] }) {
  const reference = new Registry();
  const ours = new Registry();
  const histogram = new Histogram<T>({ ...config, labelNames: config.labelNames ?? [], buckets: [...config.buckets], registers: [reference] });
  const seriesHistogram = new SeriesHistogram<T>({ ...config, registers: [ours] });
  return { reference, ours, histogram, seriesHistogram };
}

/** A prom-client Counter and a `SeriesCounter` of the same configuration, each in a registry of its own. */
function twinCounters<T extends string>(config: { name: string; help: string; labelNames?: readonly T[] }) {
  const reference = new Registry();
  const ours = new Registry();
  const counter = new Counter<T>({ ...config, labelNames: config.labelNames ?? [], registers: [reference] });
  const seriesCounter = new SeriesCounter<T>({ ...config, registers: [ours] });
  return { reference, ours, counter, seriesCounter };
}

/** Throws unless both registries give the same text, the same JSON values, and the same text once merged with themselves. */
async function assertSameExport(reference: Registry, ours: Registry, context: string): Promise<void> {
  const text = await reference.metrics();
  assert.equal(await ours.metrics(), text, `${context}: text`);
  const json = await reference.getMetricsAsJSON();
  assert.deepStrictEqual(await ours.getMetricsAsJSON(), json, `${context}: getMetricsAsJSON()`);
  const merged = await AggregatorRegistry.aggregate([json, json]).metrics();
  assert.equal(await AggregatorRegistry.aggregate([await ours.getMetricsAsJSON(), await ours.getMetricsAsJSON()]).metrics(), merged, `${context}: merged`);
}

describe('SeriesHistogram', () => {
  test('exports what prom-client\'s Histogram exports for the same observations', async () => {
    const { reference, ours, histogram, seriesHistogram } = twinHistograms({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route', 'method'] as const, buckets: BUCKETS });
    await assertSameExport(reference, ours, 'before any observation');

    for (const [index, value] of VALUES.entries()) {
      // Label sets join at different moments, so the order series are shown in is tested too.
      for (const labels of LABEL_SETS.slice(0, 1 + (index % LABEL_SETS.length))) {
        histogram.observe(labels, value);
        seriesHistogram.series(labels).observe(value);
      }
    }
    await assertSameExport(reference, ours, 'after the observations');
    const text = await reference.metrics();
    assert.match(text, /^latency_seconds_bucket\{le="0\.01",route="\/a",method="GET"\} 7$/m, 'cumulative counts, le first');
    assert.match(text, /^latency_seconds_bucket\{le="\+Inf",route="\/a",method="GET"\} 21$/m);
    assert.match(text, /^latency_seconds_count\{method="GET",route="\/b"\} \d+$/m, 'labels in the order of the first set given');

    // A series found without an observation is shown all zero, as after prom-client's zero().
    histogram.zero({ route: '/zero', method: 'GET' });
    seriesHistogram.series({ route: '/zero', method: 'GET' });
    for (const labels of LABEL_SETS) {
      histogram.observe(labels, 0.05);
      seriesHistogram.series(labels).observe(0.05);
    }
    await assertSameExport(reference, ours, 'after a second round');
  });

  test('a series is found by its values, whatever their key order or type', async () => {
    const { reference, ours, histogram, seriesHistogram } = twinHistograms({ name: 'size', help: 'Size.', labelNames: ['route', 'status'] as const, buckets: BUCKETS });
    for (const labels of [{ route: '/a', status: 200 }, { status: 200, route: '/a' }, { route: '/a', status: '200' }]) {
      histogram.observe(labels, 1);
      seriesHistogram.series(labels).observe(1);
    }
    await assertSameExport(reference, ours, 'one series');
    assert.match(await ours.metrics(), /^size_count\{route="\/a",status="200"\} 3$/m);
  });

  test('without labels, its one series is shown from the start', async () => {
    const { reference, ours, histogram, seriesHistogram } = twinHistograms({ name: 'compile_seconds', help: 'Compile time.', buckets: BUCKETS });
    await assertSameExport(reference, ours, 'before any observation');
    assert.match(await ours.metrics(), /^compile_seconds_count 0$/m);
    for (const value of VALUES) {
      histogram.observe(value);
      seriesHistogram.series({}).observe(value);
    }
    await assertSameExport(reference, ours, 'after the observations');
  });

  test('refuses a value that is not a number, and a label it does not have, as prom-client does', async () => {
    const { reference, ours, histogram, seriesHistogram } = twinHistograms({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'] as const, buckets: BUCKETS });
    histogram.observe({ route: '/a' }, 1);
    const series = seriesHistogram.series({ route: '/a' });
    series.observe(1);
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.throws(() => histogram.observe({ route: '/a' }, value), TypeError);
      assert.throws(() => series.observe(value), TypeError);
    }
    await assertSameExport(reference, ours, 'refused values count nowhere');
    const unknown: Record<string, string> = { path: '/a' };
    assert.throws(() => histogram.observe(unknown, 1), /"path"/);
    assert.throws(() => seriesHistogram.series(unknown), /latency_seconds has no label "path"/);
  });

  test('registers under its name in each registry given, and fails as prom-client does on a name taken', () => {
    const registry = new Registry();
    new SeriesHistogram({ name: 'taken', help: 'Taken.', buckets: BUCKETS, registers: [registry] });
    assert.ok(registry.getSingleMetric('taken') instanceof Histogram);
    assert.throws(() => new SeriesHistogram({ name: 'taken', help: 'Again.', buckets: BUCKETS, registers: [registry] }), /already been registered/);
    assert.throws(() => new SeriesHistogram({ name: 'reserved', help: 'Reserved.', labelNames: ['le'], buckets: BUCKETS, registers: [registry] }), /le is a reserved/);
  });
});

describe('SeriesCounter', () => {
  test('exports what prom-client\'s Counter exports for the same counts, scrape after scrape', async () => {
    const { reference, ours, counter, seriesCounter } = twinCounters({ name: 'requests_total', help: 'Requests.', labelNames: ['route', 'method', 'status'] as const });
    await assertSameExport(reference, ours, 'before any count');

    // Found before any count, as prom-client's inc(labels, 0) shows a label set from the start.
    counter.inc({ route: '/never', method: 'GET', status: 200 }, 0);
    seriesCounter.series({ route: '/never', method: 'GET', status: 200 });
    const labelSets = [
      { route: '/a', method: 'GET', status: 200 }, { route: '/a', method: 'GET', status: 500 }, { status: '404', method: 'HEAD', route: '/b' },
      { route: '/quote"back\\slash\nnewline', method: 'GET', status: 200 }, { route: '/no-status', method: 'GET' },
    ];
    for (let round = 1; round <= 3; round++) {
      for (const [index, labels] of labelSets.entries()) {
        for (let count = 0; count < round * (index + 1); count++) {
          counter.inc(labels);
          seriesCounter.series(labels).inc();
        }
      }
      await assertSameExport(reference, ours, `after round ${round}`);
    }
    const text = await ours.metrics();
    assert.match(text, /^requests_total\{route="\/never",method="GET",status="200"\} 0$/m);
    assert.match(text, /^requests_total\{route="\/a",method="GET",status="500"\} 12$/m, 'counts kept across scrapes, not added twice');
  });

  test('without labels, it shows zero from the start', async () => {
    const { reference, ours, counter, seriesCounter } = twinCounters({ name: 'compiles_total', help: 'Compiles.' });
    await assertSameExport(reference, ours, 'before any count');
    counter.inc();
    counter.inc();
    seriesCounter.series({}).inc();
    seriesCounter.series({}).inc();
    await assertSameExport(reference, ours, 'after two');
  });

  test('refuses a label it does not have', () => {
    const seriesCounter = new SeriesCounter({ name: 'hits_total', help: 'Hits.', labelNames: ['route'], registers: [new Registry()] });
    const unknown: Record<string, string> = { path: '/a' };
    assert.throws(() => seriesCounter.series(unknown), /hits_total has no label "path"; its labels are: route/);
  });
});
