/**
 * The dashboard's numbers (`ServerStats`): totals, the ring of recent two-second slots, the
 * windowed rates and percentiles computed from it, and the series the charts draw. Driven
 * through `wasio:request:end` with a clock of the test's own, so no test waits for time to
 * pass; one test reads them through a real server's `/monitoring?format=json`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestEndChannel, type RequestEndMessage } from '../../src/http/diagnostics.js';
import { quantile, RECENT_SLOTS, ServerStats, SLOT_COUNT, SLOT_SECONDS, type Series, type WindowSummary } from '../../src/http/stats.js';
import { startServer, testInstrument } from '../helpers/server.js';

interface Document {
  total_requests: number;
  errors: number;
  response_cache: { hits: number; misses: number };
  routes: Record<string, { requests: number; errors: number; recent: WindowSummary }>;
  recent: WindowSummary & { window_seconds: number };
  series: Series & { route: string | null; slot_seconds: number };
}

const SOURCES = { modules: { hits: 0, misses: 0, compiles: 0, cached: 0 }, pool: { workers: 1, busy: 0, queued: 0, replaced: 0 }, cacheEntries: 0 };
/** A time on a slot boundary, so slot arithmetic in the tests is exact. */
const START_MS = 1_800_000_000_000;

/** A `ServerStats` on a clock the test moves, and a way to publish its server's requests. */
function statsWithClock(): { stats: ServerStats; clock: { now: number }; publish: (fields: Partial<RequestEndMessage>) => void; read: (route?: string) => Document } {
  const server = {};
  const clock = { now: START_MS };
  const stats = new ServerStats(server, () => clock.now);
  const publish = (fields: Partial<RequestEndMessage>): void => requestEndChannel.publish({
    server, requestId: 'test', route: '/a', method: 'GET', status: 200, durationMs: 10, cache: undefined, ...fields,
  });
  return { stats, clock, publish, read: (route) => stats.document(SOURCES, route) as unknown as Document };
}

test('quantile is the nearest rank of sorted values, null when there are none', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(values, 0.5), 50);
  assert.equal(quantile(values, 0.95), 95);
  assert.equal(quantile(values, 0.99), 99);
  assert.equal(quantile([7], 0.99), 7);
  assert.equal(quantile([], 0.5), null);
});

describe('ServerStats', () => {
  test('counts totals per route and overall, errors from status 400 on, cache hits and misses', (t) => {
    const { stats, publish, read } = statsWithClock();
    t.after(() => stats.close());
    publish({ route: '/a', status: 200 });
    publish({ route: '/a', status: 500 });
    publish({ route: '/b', status: 200, cache: 'HIT' });
    publish({ route: '/b', status: 304, cache: 'HIT' });
    publish({ route: '/b', status: 200, cache: 'MISS' });
    publish({ route: undefined, status: 404 });
    const document = read();
    assert.equal(document.total_requests, 6);
    assert.equal(document.errors, 2);
    assert.deepEqual(document.response_cache, { hits: 2, misses: 1, entries: 0 });
    assert.equal(document.routes['/a']?.requests, 2);
    assert.equal(document.routes['/a']?.errors, 1);
    assert.equal(document.routes['/b']?.requests, 3);
    assert.equal(Object.keys(document.routes).length, 2, 'a request no route matched counts only in the totals');
  });

  test('ignores other servers and stops counting when closed', () => {
    const { stats, publish, read } = statsWithClock();
    requestEndChannel.publish({ server: {}, requestId: 'x', route: '/a', method: 'GET', status: 200, durationMs: 1, cache: undefined });
    assert.equal(read().total_requests, 0);
    stats.close();
    publish({});
    assert.equal(read().total_requests, 0);
  });

  test('recent rates and percentiles cover the last finished slots only', (t) => {
    const { stats, clock, publish, read } = statsWithClock();
    t.after(() => stats.close());
    // 100 requests of 1..100 ms in one slot, two of them errors and 3 of 4 cache lookups hits.
    for (let ms = 1; ms <= 100; ms++) publish({ durationMs: ms, status: ms <= 2 ? 500 : 200 });
    publish({ cache: 'HIT' });
    publish({ cache: 'HIT' });
    publish({ cache: 'HIT' });
    publish({ cache: 'MISS' });
    assert.equal(read().recent.requests_per_second, 0, 'the slot in progress is not shown yet');
    clock.now += SLOT_SECONDS * 1000;
    const { recent } = read();
    const windowSeconds = RECENT_SLOTS * SLOT_SECONDS;
    assert.equal(recent.window_seconds, windowSeconds);
    assert.equal(recent.requests_per_second, 104 / windowSeconds);
    assert.equal(recent.errors_per_second, 2 / windowSeconds);
    assert.equal(recent.cache_hit_rate, 0.75);
    assert.equal(recent.p50_ms, 48, 'the 52nd of 104: 1..100 ms and four more of 10 ms');
    assert.equal(recent.p99_ms, 99);
    const { window_seconds: _window, ...overallSummary } = recent;
    assert.deepEqual(read().routes['/a']?.recent, overallSummary, 'every request went to /a');
    clock.now += RECENT_SLOTS * SLOT_SECONDS * 1000;
    const later = read().recent;
    assert.equal(later.requests_per_second, 0, 'slots older than the window drop out');
    assert.equal(later.p50_ms, null);
    assert.equal(later.cache_hit_rate, null);
  });

  test('the series has one point per finished slot, oldest first, for every request or one route', (t) => {
    const { stats, clock, publish, read } = statsWithClock();
    t.after(() => stats.close());
    publish({ route: '/a', durationMs: 4 });
    clock.now += SLOT_SECONDS * 1000;
    publish({ route: '/b', durationMs: 8 });
    publish({ route: '/b', durationMs: 8, status: 503 });
    clock.now += SLOT_SECONDS * 1000;
    const overall = read().series;
    assert.equal(overall.route, null);
    assert.equal(overall.slot_seconds, SLOT_SECONDS);
    assert.equal(overall.time.length, SLOT_COUNT - 1);
    for (const column of [overall.requests_per_second, overall.p50_ms, overall.p95_ms, overall.p99_ms, overall.cache_hit_rate]) {
      assert.equal(column.length, SLOT_COUNT - 1);
    }
    assert.equal(overall.time.at(-1), clock.now / 1000, 'the last point ends where the slot in progress begins');
    assert.equal(overall.time.at(-1)! - overall.time.at(-2)!, SLOT_SECONDS);
    assert.deepEqual(overall.requests_per_second.slice(-2), [1 / SLOT_SECONDS, 2 / SLOT_SECONDS]);
    assert.deepEqual(overall.errors_per_second.slice(-2), [0, 1 / SLOT_SECONDS]);
    assert.deepEqual(overall.p50_ms.slice(-3), [null, 4, 8]);
    const routeB = read('/b').series;
    assert.equal(routeB.route, '/b');
    assert.deepEqual(routeB.requests_per_second.slice(-2), [0, 2 / SLOT_SECONDS]);
    assert.ok(read('/never-called').series.requests_per_second.every((rate) => rate === 0));
  });

  test('history older than the ring is forgotten, even when a slot position is reused', (t) => {
    const { stats, clock, publish, read } = statsWithClock();
    t.after(() => stats.close());
    publish({ durationMs: 5 });
    clock.now += SLOT_COUNT * SLOT_SECONDS * 1000;
    publish({ durationMs: 7 });
    clock.now += SLOT_SECONDS * 1000;
    const { series } = read();
    assert.equal(series.requests_per_second.reduce((sum, rate) => sum + rate, 0), 1 / SLOT_SECONDS);
    assert.equal(series.p50_ms.at(-1), 7);
    assert.equal(read().total_requests, 2, 'totals since start keep everything');
  });
});

test('/monitoring?format=json carries the recent numbers and the series of the route asked for', async () => {
  const server = await startServer({ routes: { '/echo': { wasm_file: testInstrument('echo') } } });
  const response = await server.request('/echo');
  await response.arrayBuffer();
  const overall = (await (await server.request('/monitoring?format=json')).json()) as Document;
  assert.equal(overall.total_requests, 1);
  assert.equal(overall.series.route, null);
  assert.equal(overall.series.time.length, SLOT_COUNT - 1);
  assert.equal(typeof overall.recent.requests_per_second, 'number');
  assert.ok('recent' in (overall.routes['/echo'] ?? {}));
  const echo = (await (await server.request('/monitoring?format=json&route=%2Fecho')).json()) as Document;
  assert.equal(echo.series.route, '/echo');
});
