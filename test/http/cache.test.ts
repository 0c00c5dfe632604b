/**
 * The response cache, seen from a client: X-Cache, Age, ETag, conditional requests, TTL,
 * which requests it may answer, and its key. The routes run `echo`, whose output carries a
 * fresh seed on every run, so two equal bodies mean the second one came from the cache.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { echoedPayload, echoedSeed, startServer, testInstrument } from '../helpers/server.js';

const server = await startServer({
  routes: {
    '/cached': { wasm_file: testInstrument('echo'), cache: true, ttl: 300 },
    '/short-lived': { wasm_file: testInstrument('echo'), cache: true, ttl: 1 },
    '/cached-failure': { wasm_file: testInstrument('exit3'), cache: true },
    '/uncached': { wasm_file: testInstrument('echo') },
    // Shadowed by the built-in page: a built-in always answers first, cached or not.
    '/health': { wasm_file: testInstrument('echo'), cache: true },
  },
});

test('a cached route answers MISS, then HIT with the same body, an Age and the same ETag', async () => {
  const first = await server.text('/cached?case=hit');
  assert.equal(first.response.status, 200);
  assert.equal(first.response.headers.get('x-cache'), 'MISS');
  const etag = first.response.headers.get('etag');
  assert.match(etag ?? '', /^"[^"]+"$/, 'a strong, quoted ETag');

  const second = await server.text('/cached?case=hit');
  assert.equal(second.response.status, 200);
  assert.equal(second.response.headers.get('x-cache'), 'HIT');
  assert.equal(second.response.headers.get('etag'), etag);
  assert.match(second.response.headers.get('age') ?? '', /^\d+$/);
  assert.equal(second.body, first.body, 'the module did not run again (its seed would differ)');
  assert.equal(second.response.headers.get('content-type'), first.response.headers.get('content-type'));
});

test('If-None-Match with the ETag gets 304 without a body; another tag gets the body', async () => {
  const first = await server.text('/cached?case=conditional');
  const etag = first.response.headers.get('etag') ?? assert.fail('no ETag');

  const notModified = await server.text('/cached?case=conditional', { headers: { 'if-none-match': etag } });
  assert.equal(notModified.response.status, 304);
  assert.equal(notModified.body, '');
  assert.equal(notModified.response.headers.get('etag'), etag);

  const listed = await server.request('/cached?case=conditional', { headers: { 'if-none-match': `"other", W/${etag}` } });
  assert.equal(listed.status, 304, 'a list naming the tag (weak comparison) matches too');
  await listed.arrayBuffer();

  const other = await server.text('/cached?case=conditional', { headers: { 'if-none-match': '"something-else"' } });
  assert.equal(other.response.status, 200);
  assert.equal(other.body, first.body);
});

test('a HEAD after a GET is answered from the cache, without a body', async () => {
  const get = await server.text('/cached?case=head');
  const head = await server.text('/cached?case=head', { method: 'HEAD' });
  assert.equal(head.response.status, 200);
  assert.equal(head.response.headers.get('x-cache'), 'HIT');
  assert.equal(head.response.headers.get('etag'), get.response.headers.get('etag'));
  assert.equal(head.body, '');
});

test('the order of query parameters does not change the cache key', async () => {
  const first = await server.text('/cached?a=1&b=2');
  assert.equal(first.response.headers.get('x-cache'), 'MISS');
  const reordered = await server.text('/cached?b=2&a=1');
  assert.equal(reordered.response.headers.get('x-cache'), 'HIT');
  assert.equal(reordered.body, first.body);

  const differentValue = await server.text('/cached?b=2&a=3');
  assert.equal(differentValue.response.headers.get('x-cache'), 'MISS', 'a different value is a different key');
});

test('a POST to a cached route runs the module and is never answered with the cached GET body', async () => {
  const get = await server.text('/cached?case=post');
  const post = await server.text('/cached?case=post', { method: 'POST', body: 'hello' });
  assert.equal(post.response.status, 200);
  assert.notEqual(post.response.headers.get('x-cache'), 'HIT');
  assert.equal(echoedPayload(post.body).method, 'POST');
  assert.notEqual(echoedSeed(post.body), echoedSeed(get.body));

  const getAgain = await server.text('/cached?case=post');
  assert.equal(getAgain.response.headers.get('x-cache'), 'HIT');
  assert.equal(getAgain.body, get.body, 'the POST did not replace the cached GET response');
});

test('only successful responses are cached', async () => {
  const first = await server.request('/cached-failure');
  const second = await server.request('/cached-failure');
  assert.equal(first.status, 500);
  assert.equal(second.status, 500);
  assert.notEqual(second.headers.get('x-cache'), 'HIT');
  await Promise.all([first.arrayBuffer(), second.arrayBuffer()]);
  const runs = server.logs.filter((line) => line['route'] === '/cached-failure' && line.msg === 'something broke');
  assert.equal(runs.length, 2, 'the failing module ran for each request');
});

test('an uncached route runs every time and sends no cache headers', async () => {
  const first = await server.text('/uncached?x=1');
  const second = await server.text('/uncached?x=1');
  assert.equal(first.response.headers.get('x-cache'), null);
  assert.equal(first.response.headers.get('etag'), null);
  assert.notEqual(echoedSeed(first.body), echoedSeed(second.body));
});

test('a cached response expires after its route TTL, and its Age counts up meanwhile', async () => {
  const short = await server.text('/short-lived?case=ttl');
  assert.equal(short.response.headers.get('x-cache'), 'MISS');
  const long = await server.text('/cached?case=age');
  assert.equal((await server.request('/short-lived?case=ttl').then((r) => r.headers.get('x-cache'))), 'HIT');

  // Expiry is a matter of time passing; there is no event to await. Just over the TTL of 1 s.
  await delay(1_100);

  const expired = await server.text('/short-lived?case=ttl');
  assert.equal(expired.response.headers.get('x-cache'), 'MISS');
  assert.notEqual(echoedSeed(expired.body), echoedSeed(short.body), 'the module ran again');

  const aged = await server.text('/cached?case=age');
  assert.equal(aged.response.headers.get('x-cache'), 'HIT');
  assert.equal(aged.body, long.body);
  assert.ok(Number(aged.response.headers.get('age')) >= 1, `Age ${aged.response.headers.get('age')} after more than a second`);
});

test('a cache hit carries its request id, is logged once and is counted like any request', async () => {
  await server.text('/cached?case=bookkeeping');
  const before = JSON.parse((await server.text('/stats')).body) as { total_requests: number; response_cache: { hits: number } };
  const hit = await server.text('/cached?case=bookkeeping', { headers: { 'x-request-id': 'hit-bookkeeping-1' } });
  assert.equal(hit.response.headers.get('x-cache'), 'HIT');
  assert.equal(hit.response.headers.get('x-request-id'), 'hit-bookkeeping-1');
  const line = await server.logs.waitFor('the access line of the hit', (entry) => entry['reqId'] === 'hit-bookkeeping-1' && entry.msg === 'request');
  assert.equal(line['cache'], 'HIT');
  assert.equal(line['status'], 200);
  assert.equal(line['route'], '/cached');
  assert.equal(line['bytes'], Buffer.byteLength(hit.body));
  assert.equal(server.logs.lines.filter((entry) => entry['reqId'] === 'hit-bookkeeping-1').length, 1);
  const after = JSON.parse((await server.text('/stats')).body) as typeof before;
  assert.equal(after.total_requests, before.total_requests + 1);
  assert.equal(after.response_cache.hits, before.response_cache.hits + 1);
});

test('a built-in page answers its path even where a cached route has the same one', async () => {
  for (let i = 0; i < 2; i++) {
    const health = await server.text('/health');
    assert.equal(health.body, 'OK');
    assert.equal(health.response.headers.get('x-cache'), null);
  }
});
