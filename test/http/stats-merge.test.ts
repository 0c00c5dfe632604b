/**
 * The dashboard's numbers across processes: `ServerStats.snapshot()` as plain data, merged by
 * `mergeStatsSnapshots` and `mergeStatsSources`, and the document `statsDocument` computes
 * from the result. Real `ServerStats` objects count real `wasio:request:end` messages on a
 * clock of the test's own; a third one counts every message of both, and is what the merged
 * document must equal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestEndChannel, type RequestEndMessage } from '../../src/http/diagnostics.js';
import {
  mergeStatsSnapshots, mergeStatsSources, SAMPLES_PER_SLOT, ServerStats, SLOT_COUNT, SLOT_SECONDS, statsDocument,
  type StatsSnapshot, type StatsSources,
} from '../../src/http/stats.js';

/** A time on a slot boundary, so slot arithmetic in the tests is exact. */
const START_MS = 1_800_000_000_000;
const SLOT_MS = SLOT_SECONDS * 1000;
const SOURCES: StatsSources = {
  modules: { hits: 3, misses: 1, compiles: 1, cached: 1 }, pool: { workers: 2, busy: 0, queued: 0, replaced: 0 }, cacheEntries: 4,
};

/** A seeded generator of numbers from 0 to 1 (mulberry32), so every run publishes the same requests. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `ServerStats` for each of `names` and one (`all`) that counts the requests of every one, on one clock. */
function processes<Name extends string>(names: readonly Name[]): {
  clock: { now: number };
  stats: Record<Name | 'all', ServerStats>;
  publish: (name: Name, fields: Partial<RequestEndMessage>) => void;
  close: () => void;
} {
  const clock = { now: START_MS };
  const servers = new Map<Name | 'all', object>();
  const stats = {} as Record<Name | 'all', ServerStats>;
  for (const name of [...names, 'all' as const]) {
    const server = {};
    servers.set(name, server);
    stats[name] = new ServerStats(server, () => clock.now);
  }
  const publish = (name: Name, fields: Partial<RequestEndMessage>): void => {
    for (const target of [name, 'all' as const]) {
      requestEndChannel.publish({
        server: servers.get(target) as object, requestId: 'test', route: '/a', method: 'GET', status: 200, durationMs: 10, cache: undefined, ...fields,
      });
    }
  };
  return { clock, stats, publish, close: () => Object.values<ServerStats>(stats).forEach((s) => s.close()) };
}

/** A copy made the way `process.send` would carry it: through JSON, or through structured clone. */
function carried(snapshot: StatsSnapshot, how: 'json' | 'clone'): StatsSnapshot {
  return how === 'json' ? JSON.parse(JSON.stringify(snapshot)) as StatsSnapshot : structuredClone(snapshot);
}

describe('mergeStatsSnapshots', () => {
  test('two processes merged give the document of one process that counted every request', (t) => {
    const { clock, stats, publish, close } = processes(['a', 'b'] as const);
    t.after(close);
    const random = seeded(1);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    for (let step = 0; step < 800; step++) {
      // About 50 requests a slot between both processes: under the sample cap, so percentiles are exact.
      clock.now += 10 + Math.floor(random() * 60);
      // A pause longer than the ring, so the oldest slots are forgotten by all three alike.
      if (step === 200) clock.now += SLOT_COUNT * SLOT_MS;
      publish(pick(['a', 'b'] as const), {
        route: pick(['/a', '/a', '/b', '/c', undefined]),
        status: pick([200, 200, 200, 304, 404, 500, 503]),
        durationMs: 1 + Math.floor(random() * 250),
        cache: pick([undefined, undefined, 'HIT', 'MISS'] as const),
      });
    }
    clock.now += SLOT_MS;
    for (const how of ['json', 'clone'] as const) {
      const merged = mergeStatsSnapshots([carried(stats.a.snapshot(), how), carried(stats.b.snapshot(), how)]);
      for (const route of [undefined, '/a', '/b', '/c', '/never-called']) {
        assert.deepEqual(statsDocument(merged, SOURCES, clock.now, route), stats.all.document(SOURCES, route), `${how}, series of ${route ?? 'every request'}`);
      }
    }
    const document = stats.all.document(SOURCES) as { total_requests: number; recent: { p50_ms: number | null }; series: { p99_ms: (number | null)[] } };
    assert.equal(document.total_requests, 800);
    assert.notEqual(document.recent.p50_ms, null, 'the comparison covered recent percentiles');
    assert.ok(document.series.p99_ms.filter((value) => value !== null).length > 10, 'and the series');
  });

  test('startedAt is the earliest; lastStatus is from the latest request, the earlier snapshot on a tie', (t) => {
    const { clock, stats, publish, close } = processes(['a', 'b', 'c'] as const);
    t.after(close);
    const later = new ServerStats({}, () => clock.now + 5000);
    t.after(() => later.close());
    publish('a', { status: 201, durationMs: 7 });
    clock.now += 1;
    publish('b', { status: 202, durationMs: 3 });
    publish('c', { status: 203, durationMs: 9 });
    const merged = mergeStatsSnapshots([later.snapshot(), stats.b.snapshot(), stats.c.snapshot(), stats.a.snapshot()]);
    assert.equal(merged.startedAt, START_MS);
    assert.equal(merged.totals.lastStatus, 202);
    assert.equal(merged.totals.lastAt, START_MS + 1);
    assert.equal(merged.totals.minMs, 3);
    assert.equal(merged.totals.maxMs, 9);
    assert.equal(merged.totals.requests, 3);
    assert.equal(merged.routes.length, 1);
    assert.equal(mergeStatsSnapshots([stats.c.snapshot(), stats.b.snapshot()]).totals.lastStatus, 203);
  });

  test('past SAMPLES_PER_SLOT, a slot keeps a uniform sample weighted by what each process measured', (t) => {
    const { stats, publish, close } = processes(['a', 'b'] as const);
    t.after(close);
    for (let i = 0; i < 300; i++) publish('a', { durationMs: 1 });
    for (let i = 0; i < 100; i++) publish('b', { durationMs: 2 });
    const snapshots = [stats.a.snapshot(), stats.b.snapshot()];
    assert.equal(snapshots[0]?.slots[0]?.samples.length, SAMPLES_PER_SLOT, 'process a kept a full sample');
    const random = seeded(7);
    let fromB = 0;
    const merges = 400;
    for (let i = 0; i < merges; i++) {
      const [slot] = mergeStatsSnapshots(snapshots, random).slots;
      assert.equal(slot?.measured, 400);
      assert.equal(slot?.requests, 400);
      assert.equal(slot?.samples.length, SAMPLES_PER_SLOT);
      fromB += slot?.samples.filter((ms) => ms === 2).length ?? 0;
    }
    // b measured a quarter of the latencies: 32 of 128 on average (the standard error here is about 0.2).
    assert.ok(Math.abs(fromB / merges - 32) < 1.5, `${fromB / merges} samples from b on average`);
  });

  test('under SAMPLES_PER_SLOT, a slot keeps every sample; one snapshot merges into itself', (t) => {
    const { stats, publish, close } = processes(['a', 'b'] as const);
    t.after(close);
    for (let ms = 1; ms <= 100; ms++) publish('a', { durationMs: ms });
    for (let ms = 101; ms <= 128; ms++) publish('b', { durationMs: ms, route: '/b' });
    const merged = mergeStatsSnapshots([stats.a.snapshot(), stats.b.snapshot()]);
    assert.deepEqual([...(merged.slots[0]?.samples ?? [])].sort((x, y) => x - y), Array.from({ length: 128 }, (_, i) => i + 1));
    assert.deepEqual(merged.routes.map((route) => route.path), ['/a', '/b']);
    assert.deepEqual(mergeStatsSnapshots([stats.all.snapshot()]), stats.all.snapshot());
  });

  test('refuses an empty list', () => {
    assert.throws(() => mergeStatsSnapshots([]), RangeError);
  });
});

describe('ServerStats.snapshot', () => {
  test('is plain data that JSON and structured clone carry unchanged, before and after requests', (t) => {
    const { clock, stats, publish, close } = processes(['a'] as const);
    t.after(close);
    const empty = stats.a.snapshot();
    assert.equal(empty.totals.minMs, 0, 'not Infinity, which JSON cannot carry');
    assert.deepEqual(carried(empty, 'json'), empty);
    assert.deepEqual(carried(empty, 'clone'), empty);
    publish('a', { durationMs: 4, cache: 'HIT' });
    publish('a', { durationMs: 6, route: undefined, status: 404 });
    clock.now += SLOT_MS;
    publish('a', { durationMs: 5, route: '/b' });
    const snapshot = stats.a.snapshot();
    assert.deepEqual(carried(snapshot, 'json'), snapshot);
    assert.deepEqual(carried(snapshot, 'clone'), snapshot);
    assert.deepEqual(snapshot.slots.map((slot) => slot.index), [START_MS / SLOT_MS, START_MS / SLOT_MS + 1]);
    assert.deepEqual(snapshot.routes.map((route) => [route.path, route.totals.requests]), [['/a', 1], ['/b', 1]]);
    assert.equal(snapshot.totals.requests, 3);
  });

  test('is a copy: later requests do not change it', (t) => {
    const { stats, publish, close } = processes(['a'] as const);
    t.after(close);
    publish('a', { durationMs: 4 });
    const snapshot = stats.a.snapshot();
    const before = structuredClone(snapshot);
    publish('a', { durationMs: 8 });
    assert.deepEqual(snapshot, before);
  });

  test('leaves out slots older than the ring', (t) => {
    const { clock, stats, publish, close } = processes(['a'] as const);
    t.after(close);
    publish('a', {});
    clock.now += SLOT_COUNT * SLOT_MS;
    assert.deepEqual(stats.a.snapshot().slots, []);
    assert.equal(stats.a.snapshot().totals.requests, 1);
  });
});

describe('mergeStatsSources', () => {
  test('sums every process\'s modules, pool and cache entries', () => {
    const merged = mergeStatsSources([
      { modules: { hits: 5, misses: 2, compiles: 2, cached: 2 }, pool: { workers: 4, busy: 1, queued: 3, replaced: 1 }, cacheEntries: 10 },
      { modules: { hits: 7, misses: 1, compiles: 3, cached: 2 }, pool: { workers: 5, busy: 2, queued: 0, replaced: 0 }, cacheEntries: 6 },
    ]);
    assert.deepEqual(merged, {
      modules: { hits: 12, misses: 3, compiles: 5, cached: 4 }, pool: { workers: 9, busy: 3, queued: 3, replaced: 1 }, cacheEntries: 16,
    });
    assert.equal('cacheBackend' in merged, false, 'no backend status when no process gave one');
  });

  test('merges the cache backends: outages and bypasses summed, available only when every process can use it', () => {
    const base = { modules: SOURCES.modules, pool: SOURCES.pool, cacheEntries: 0 };
    const memory = mergeStatsSources([
      { ...base, cacheEntries: 3, cacheBackend: { backend: 'memory', available: true, outages: 0, bypassed: 0, entries: 3 } },
      { ...base, cacheEntries: 4, cacheBackend: { backend: 'memory', available: true, outages: 0, bypassed: 0, entries: 4 } },
    ]);
    assert.deepEqual(memory.cacheBackend, { backend: 'memory', available: true, outages: 0, bypassed: 0, entries: 7 });
    assert.equal(memory.cacheEntries, 7);
    const redis = mergeStatsSources([
      { ...base, cacheBackend: { backend: 'redis', available: true, outages: 1, bypassed: 4, entries: null } },
      { ...base, cacheBackend: { backend: 'redis', available: false, outages: 2, bypassed: 9, entries: null } },
    ]);
    assert.deepEqual(redis.cacheBackend, { backend: 'redis', available: false, outages: 3, bypassed: 13, entries: null });
  });

  test('refuses an empty list', () => {
    assert.throws(() => mergeStatsSources([]), RangeError);
  });
});
