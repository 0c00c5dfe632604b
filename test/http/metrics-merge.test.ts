/**
 * `/metrics` across processes: `ServerMetrics.snapshot()` of two real servers, each counting
 * its own requests, merged by `renderMergedMetrics` into one Prometheus text whose counters,
 * histograms and pool gauges are the sums of the two.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMergedMetrics, UNMATCHED_ROUTE, type MetricsSnapshot } from '../../src/http/metrics.js';
import { startServer, testInstrument, waitUntil, type TestServer } from '../helpers/server.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[name as string] = value as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample called `name` with exactly `labels`. */
function sample(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length
    && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
  assert.equal(found.length, 1, `one sample ${name} ${JSON.stringify(labels)}`);
  return (found[0] as Sample).value;
}

/** A sample's name and labels as one string, label values as the text writes them. */
function sampleKey(name: string, labels: Readonly<Record<string, string | number | undefined>>): string {
  return `${name}${JSON.stringify(Object.entries(labels).map(([key, value]) => [key, String(value)]).sort())}`;
}

/** The values of metric `name` in `snapshot`, by `sampleKey`. */
function values(snapshot: MetricsSnapshot, name: string): Map<string, number> {
  const metric = snapshot.find((m) => m.name === name);
  assert.ok(metric !== undefined, `${name} is in the snapshot`);
  return new Map(metric.values.map((v) => [sampleKey((v as { metricName?: string }).metricName ?? name, v.labels), v.value]));
}

async function get(server: TestServer, path: string): Promise<number> {
  const response = await server.request(path);
  await response.arrayBuffer();
  return response.status;
}

const routes = { '/echo': { wasm_file: testInstrument('echo') } };

test('two processes\' snapshots merge into one text: counters, histograms and pool gauges summed', async () => {
  const [a, b] = await Promise.all([startServer({ workers: 1, routes }), startServer({ workers: 2, routes })]);
  for (let i = 0; i < 3; i++) assert.equal(await get(a, '/echo'), 200);
  for (let i = 0; i < 2; i++) assert.equal(await get(b, '/echo'), 200);
  assert.equal(await get(b, '/missing'), 404);
  // Stats and metrics count the same message; once the stats have it, so do the metrics.
  await waitUntil(() => a.server.stats.totals.requests === 3 && b.server.stats.totals.requests === 3, 'both servers to count their requests');
  const snapshots = await Promise.all([a.server.metrics.snapshot(), b.server.metrics.snapshot()]);

  const texts: string[] = [];
  for (const carried of [snapshots, structuredClone(snapshots), JSON.parse(JSON.stringify(snapshots)) as MetricsSnapshot[]]) {
    const merged = await renderMergedMetrics(carried);
    assert.equal(merged.contentType, a.server.metrics.contentType);
    const samples = parseMetrics(merged.text);
    assert.equal(sample(samples, 'wasio_http_requests_total', { route: '/echo', method: 'GET', status: '200' }), 5);
    assert.equal(sample(samples, 'wasio_http_requests_total', { route: UNMATCHED_ROUTE, method: 'GET', status: '404' }), 1);
    assert.equal(sample(samples, 'wasio_http_request_duration_seconds_count', { route: '/echo' }), 5);
    assert.equal(sample(samples, 'wasio_http_request_duration_seconds_bucket', { route: '/echo', le: '+Inf' }), 5);
    assert.equal(sample(samples, 'wasio_instance_run_seconds_count', { route: '/echo' }), 5);
    assert.equal(sample(samples, 'wasio_module_compiles_total'), 2, 'each process compiles its own modules');
    assert.equal(sample(samples, 'wasio_worker_restarts_total', { reason: 'timeout' }), 0);
    assert.equal(sample(samples, 'wasio_workers'), 3);
    assert.equal(sample(samples, 'wasio_queue_depth'), 0);
    assert.equal(sample(samples, 'process_start_time_seconds'), sample(parseMetrics(await a.server.metrics.render()), 'process_start_time_seconds'));
    const versions = samples.filter((s) => s.name === 'nodejs_version_info');
    assert.deepEqual(versions.map((s) => [s.labels['version'], s.value]), [[process.version, 1]], 'the version once, not summed');
    texts.push(merged.text.split('\n').filter((line) => line.includes('wasio_')).join('\n'));
  }
  assert.equal(texts[1], texts[0], 'structured clone carries the snapshots whole');
  assert.equal(texts[2], texts[0], 'and JSON too');

  // Every bucket, sum and count of the latency histogram is the sum of the two processes'.
  const merged = new Map(parseMetrics((await renderMergedMetrics(snapshots)).text)
    .filter((s) => s.name.startsWith('wasio_http_request_duration_seconds_')).map((s) => [sampleKey(s.name, s.labels), s.value]));
  const [fromA, fromB] = snapshots.map((snapshot) => values(snapshot, 'wasio_http_request_duration_seconds'));
  assert.ok(fromA !== undefined && fromB !== undefined);
  assert.equal(fromA.size, 16 + 1 + 2, 'a: one route, so 16 buckets, +Inf, sum and count');
  assert.equal(fromB.size, 2 * (16 + 1 + 2), 'b: the route and the unmatched requests');
  assert.deepEqual([...merged.keys()].sort(), [...new Set([...fromA.keys(), ...fromB.keys()])].sort());
  for (const [key, sum] of merged) {
    const expected = (fromA.get(key) ?? 0) + (fromB.get(key) ?? 0);
    assert.ok(Math.abs(sum - expected) < 1e-9, `${key}: ${sum}, expected ${expected}`);
  }
});

test('one process merged alone describes the same metrics and gives the same WASIO samples as its own text', async () => {
  const server = await startServer({ workers: 1, routes });
  assert.equal(await get(server, '/echo'), 200);
  assert.equal(await get(server, '/missing'), 404);
  await waitUntil(() => server.server.stats.totals.requests === 2, 'the server to count its requests');
  const own = await server.server.metrics.render();
  const merged = (await renderMergedMetrics([await server.server.metrics.snapshot()])).text;
  const described = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('# '));
  assert.deepEqual(described(merged), described(own));
  const wasio = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('wasio_'));
  assert.ok(wasio(own).length > 40);
  assert.deepEqual(wasio(merged), wasio(own));
});

test('no snapshots merge into an empty text', async () => {
  const merged = await renderMergedMetrics([]);
  assert.match(merged.contentType, /^text\/plain; version=0\.0\.4/);
  assert.equal(parseMetrics(merged.text).length, 0);
});
