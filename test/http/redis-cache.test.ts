/**
 * The shared response cache against a real `redis-server` started by this test: entries are
 * shared by servers, stored with their TTL and expire with it; a Redis that stops, restarts,
 * freezes or was never there degrades to serving without a cache (200s with X-Cache: MISS),
 * with one warning per outage and a counter, and the cache is used again once it is back.
 * The routes run `echo`, whose output carries a fresh seed on every run, so two equal bodies
 * mean the second came from the cache.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { decodeCacheEntry, encodeCacheEntry } from '../../src/http/redis-cache.js';
import { ResponseCache } from '../../src/http/response-cache.js';
import { echoedSeed, LogLevel, startServer, testInstrument, waitUntil, type TestServer } from '../helpers/server.js';
import { freePort, TestRedis } from '../helpers/services.js';

const UNAVAILABLE = 'WASIO_ERR_CACHE_UNAVAILABLE';
const TIMEOUT_MS = 100;

function routes(): Record<string, { wasm_file: string; cache: boolean; ttl: number }> {
  return {
    '/cached': { wasm_file: testInstrument('echo'), cache: true, ttl: 300 },
    '/short-lived': { wasm_file: testInstrument('echo'), cache: true, ttl: 1 },
  };
}

function startRedisBackedServer(url: string): Promise<TestServer> {
  return startServer({ cache: { backend: 'redis', url, timeout_ms: TIMEOUT_MS }, routes: routes() });
}

async function whenCacheAvailable(server: TestServer): Promise<void> {
  await waitUntil(() => server.server.cacheStatus().available, 'the response cache to be connected', 5_000);
}

/** GETs `path` and reads the body; the X-Cache header, the body and how long it took. */
async function get(server: TestServer, path: string): Promise<{ status: number; cache: string | null; body: string; etag: string | null; ms: number }> {
  const started = performance.now();
  const { response, body } = await server.text(path);
  return { status: response.status, cache: response.headers.get('x-cache'), body, etag: response.headers.get('etag'), ms: performance.now() - started };
}

function unavailableWarnings(server: TestServer): number {
  return server.logs.filter((line) => line.level === LogLevel.warn && line['code'] === UNAVAILABLE).length;
}

interface StatsWithBackend {
  response_cache: { backend: { backend: string; available: boolean; outages: number; bypassed: number } };
}

test('entries round-trip through the stored format, and anything else is refused with a code', () => {
  const body = Uint8Array.from([0, 10, 255, 10, 13]);
  const entry = { body, contentType: 'application/octet-stream', etag: '"abc"', storedAt: 1_700_000_000_000 };
  const decoded = decodeCacheEntry(encodeCacheEntry(entry));
  assert.deepEqual({ ...decoded, body: [...decoded.body] }, { ...entry, body: [...body] }, 'newlines in the body survive');
  for (const stored of ['no header line', '{"v":2}\nbody', 'not json\nbody', '{"v":1,"etag":"x"}\nbody']) {
    assert.throws(() => decodeCacheEntry(Buffer.from(stored)), { code: 'WASIO_ERR_CACHE_ENTRY' });
  }
});

test('the memory backend answers synchronously: no promise on the default path', () => {
  const cache = new ResponseCache(4);
  const stored = cache.set('/a', Buffer.from('body'), 'text/plain', 60);
  assert.ok(!(stored instanceof Promise));
  const found = cache.get('/a');
  assert.ok(!(found instanceof Promise));
  assert.equal(found?.etag, stored.etag);
  assert.equal(cache.get('/b'), undefined);
  assert.deepEqual([cache.hits, cache.misses], [1, 1]);
});

describe('with a Redis that comes and goes', async () => {
  const redis = await TestRedis.start();
  const first = await startRedisBackedServer(redis.url);
  const second = await startRedisBackedServer(redis.url);
  await Promise.all([whenCacheAvailable(first), whenCacheAvailable(second)]);
  const inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  after(() => inspector.disconnect());

  test('a miss, then a hit from the same server and from another one', async () => {
    const miss = await get(first, '/cached?case=shared');
    assert.equal(miss.status, 200);
    assert.equal(miss.cache, 'MISS');
    const hit = await get(first, '/cached?case=shared');
    assert.equal(hit.cache, 'HIT');
    assert.equal(hit.body, miss.body, 'the module did not run again');
    const elsewhere = await get(second, '/cached?case=shared');
    assert.equal(elsewhere.cache, 'HIT', 'the other server finds what the first stored');
    assert.equal(elsewhere.body, miss.body);
    assert.equal(elsewhere.etag, miss.etag);

    const conditional = await second.request('/cached?case=shared', { headers: { 'if-none-match': miss.etag ?? '' } });
    assert.equal(conditional.status, 304);
    await conditional.arrayBuffer();
  });

  test('entries are stored under the key prefix with their route\'s TTL', async () => {
    await get(first, '/short-lived?case=pttl');
    await get(first, '/cached?b=2&a=1');
    await inspector.connect();
    const shortTtl = await inspector.pttl('wasio:/short-lived?case=pttl');
    assert.ok(shortTtl > 0 && shortTtl <= 1_000, `PTTL ${shortTtl} within the route's 1 s`);
    const longTtl = await inspector.pttl('wasio:/cached?a=1&b=2');
    assert.ok(longTtl > 299_000 && longTtl <= 300_000, `PTTL ${longTtl} within the route's 300 s, under the canonical key`);
    const stored = await inspector.getBuffer('wasio:/cached?a=1&b=2');
    assert.ok(stored !== null);
    const entry = decodeCacheEntry(stored);
    assert.match(entry.contentType, /^application\/json|^text\/plain/);
  });

  test('an entry expires with its TTL', async () => {
    const miss = await get(first, '/short-lived?case=ttl');
    assert.equal(miss.cache, 'MISS');
    assert.equal((await get(second, '/short-lived?case=ttl')).cache, 'HIT');
    // Expiry is time passing in Redis; there is no event to await. Just over the TTL of 1 s.
    await delay(1_100);
    const expired = await get(second, '/short-lived?case=ttl');
    assert.equal(expired.cache, 'MISS');
    assert.notEqual(echoedSeed(expired.body), echoedSeed(miss.body), 'the module ran again');
  });

  test('Redis stopped: every request is still a 200 MISS, one warning for the outage, counted', async () => {
    assert.equal((await get(first, '/cached?case=outage')).cache, 'MISS');
    assert.equal((await get(first, '/cached?case=outage')).cache, 'HIT');
    const warningsBefore = unavailableWarnings(first);
    await redis.stop();
    await waitUntil(() => !first.server.cacheStatus().available, 'the server to notice the outage', 2_000);

    for (let request = 0; request < 6; request += 1) {
      const answer = await get(first, '/cached?case=outage');
      assert.equal(answer.status, 200);
      assert.equal(answer.cache, 'MISS', 'served without the cache');
      assert.ok(answer.ms < 2_000, `answered in ${Math.round(answer.ms)} ms`);
    }
    // ioredis keeps trying to reconnect meanwhile (each attempt an error event); still one warning.
    await delay(300);
    assert.equal(unavailableWarnings(first) - warningsBefore, 1, `one warning for the outage:\n${first.logs.dump()}`);
    const stats = (await (await first.request('/stats')).json()) as StatsWithBackend;
    assert.equal(stats.response_cache.backend.backend, 'redis');
    assert.equal(stats.response_cache.backend.available, false);
    assert.ok(stats.response_cache.backend.outages >= 1);
    assert.ok(stats.response_cache.backend.bypassed >= 6, `bypassed ${stats.response_cache.backend.bypassed}`);
  });

  test('Redis restarted: the cache is used again (empty, so a miss first, then hits)', async () => {
    const since = first.logs.lines.length;
    await redis.resume();
    await first.logs.waitFor('saying the cache is back', (line) => line.msg === 'response cache available again', { since, timeoutMs: 5_000 });
    await whenCacheAvailable(second);
    const miss = await get(first, '/cached?case=outage');
    assert.equal(miss.cache, 'MISS');
    const hit = await get(second, '/cached?case=outage');
    assert.equal(hit.cache, 'HIT');
    assert.equal(hit.body, miss.body);
  });

  test('Redis frozen: requests wait at most the timeout, then skip it; it is used again once it answers', async () => {
    const cached = await get(first, '/cached?case=frozen');
    assert.equal((await get(first, '/cached?case=frozen')).cache, 'HIT');
    const warningsBefore = unavailableWarnings(first);
    redis.pause();
    try {
      const slow = await get(first, '/cached?case=frozen');
      assert.equal(slow.status, 200);
      assert.equal(slow.cache, 'MISS');
      assert.ok(slow.ms >= TIMEOUT_MS * 0.9, `waited for the lookup's timeout (${Math.round(slow.ms)} ms)`);
      const skipped = await get(first, '/cached?case=frozen');
      assert.equal(skipped.cache, 'MISS');
      assert.ok(skipped.ms < slow.ms + 1_000, 'the next request does not wait for Redis again');
      assert.equal(unavailableWarnings(first) - warningsBefore, 1, 'one warning for the outage');
      const warning = first.logs.filter((line) => line['code'] === UNAVAILABLE).at(-1);
      assert.match(String(warning?.['reason']), /no answer within 100 ms/);
    } finally {
      redis.unpause();
    }
    // After a pause of a second, a request tries Redis again and finds it answering.
    await delay(1_100);
    const since = first.logs.lines.length;
    const back = await get(first, '/cached?case=frozen');
    assert.equal(back.cache, 'HIT');
    assert.equal(back.body, cached.body);
    await first.logs.waitFor('saying the cache is back', (line) => line.msg === 'response cache available again', { since, timeoutMs: 1_000 });
    assert.equal(first.server.cacheStatus().available, true);
  });
});

test('a Redis that is not there at start: the server serves without a cache and says so once', async () => {
  const nothingListens = `redis://127.0.0.1:${await freePort()}`;
  const server = await startRedisBackedServer(nothingListens);
  await server.logs.waitFor('warning that the cache is unavailable', (line) => line['code'] === UNAVAILABLE, { timeoutMs: 5_000 });
  for (let request = 0; request < 3; request += 1) {
    const answer = await get(server, '/cached?case=absent');
    assert.equal(answer.status, 200);
    assert.equal(answer.cache, 'MISS');
  }
  assert.equal(unavailableWarnings(server), 1);
  const health = await server.request('/health');
  assert.equal(health.status, 200);
  await health.arrayBuffer();
});
