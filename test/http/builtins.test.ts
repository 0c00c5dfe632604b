/**
 * The built-in pages (SPEC section 5): /health, the index at /, /monitoring, /stats and
 * /metrics, and the config switches that turn the optional ones off.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServer, testInstrument } from '../helpers/server.js';

interface StatsDocument {
  total_requests: number;
  successes: number;
  errors: number;
  response_cache: { hits: number; misses: number };
  routes: Record<string, { requests: number; successes: number; errors: number; cache_hits: number; cache_misses: number }>;
}

describe('with the default switches', async () => {
  const server = await startServer({
    routes: {
      '/echo': {
        wasm_file: testInstrument('echo'), description: 'Says back <what> it was sent', category: 'Debugging', example: '?x=1&y=2',
      },
      '/cached': { wasm_file: testInstrument('echo'), cache: true, description: 'Remembers', category: 'Debugging' },
      '/users/:id': { wasm_file: testInstrument('echo'), description: 'One user', category: 'People' },
      '/failing': { wasm_file: testInstrument('exit3'), description: 'Always fails' },
      '/health': { wasm_file: testInstrument('echo'), description: 'Shadowed by the built-in' },
    },
  });

  async function stats(path = '/stats'): Promise<StatsDocument> {
    const response = await server.request(path);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    return (await response.json()) as StatsDocument;
  }

  test('/health answers 200 OK as text, before any route of the same path', async () => {
    const { response, body } = await server.text('/health');
    assert.equal(response.status, 200);
    assert.equal(body, 'OK');
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  });

  test('/ lists every route with its description and an example link', async () => {
    const { response, body } = await server.text('/');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    for (const path of ['/echo', '/cached', '/users/:id', '/failing']) assert.ok(body.includes(path), `the index names ${path}`);
    assert.ok(body.includes('Says back &#60;what&#62; it was sent') || body.includes('Says back &lt;what&gt; it was sent'),
      'descriptions are shown, HTML-escaped');
    assert.ok(body.includes('Remembers') && body.includes('One user') && body.includes('Always fails'));
    assert.ok(body.includes('Debugging') && body.includes('People'), 'categories are shown');
    assert.match(body, /href="\/echo\?x=1&(amp;|#38;)y=2"/, 'the example is a link');
  });

  test('/monitoring is an HTML dashboard', async () => {
    const { response, body } = await server.text('/monitoring');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(body, /<html/i);
    assert.match(body, /Monitoring/);
  });

  test('/stats and /monitoring?format=json count requests, per route and in total', async () => {
    const before = await stats();
    for (const path of ['/echo', '/echo?x=2', '/cached', '/cached', '/failing']) {
      const response = await server.request(path);
      await response.arrayBuffer();
    }
    const after = await stats('/monitoring?format=json');
    assert.equal(after.total_requests - before.total_requests, 5);
    assert.equal(after.successes - before.successes, 4);
    assert.equal(after.errors - before.errors, 1);
    assert.equal((after.routes['/echo']?.requests ?? 0) - (before.routes['/echo']?.requests ?? 0), 2);
    assert.equal(after.routes['/cached']?.cache_misses, 1);
    assert.equal(after.routes['/cached']?.cache_hits, 1);
    assert.equal(after.routes['/failing']?.errors, 1);
    assert.equal(after.response_cache.hits - before.response_cache.hits, 1);
    assert.equal(after.response_cache.misses - before.response_cache.misses, 1);
  });

  test('every request gets one access log line, built-in pages included', async () => {
    for (const [index, path] of ['/health', '/', '/stats', '/monitoring'].entries()) {
      const requestId = `builtin-page-${index}`;
      const response = await server.request(path, { headers: { 'x-request-id': requestId } });
      await response.arrayBuffer();
      const line = await server.logs.waitFor(`for ${path}`, (entry) => entry.msg === 'request' && entry['reqId'] === requestId,
        { timeoutMs: 1_000 });
      assert.equal(line['path'], path);
      assert.equal(line['status'], 200);
    }
  });

  test('/metrics serves Prometheus text', async () => {
    const { response, body } = await server.text('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(body, /^# (HELP|TYPE) /m);
  });
});

describe('with index_page and monitoring off', async () => {
  const server = await startServer({
    index_page: false,
    monitoring: false,
    routes: {
      '/': { wasm_file: testInstrument('echo') },
      '/echo': { wasm_file: testInstrument('echo') },
    },
  });

  test('/ goes to the route configured there instead of the index', async () => {
    const { response, body } = await server.text('/');
    assert.equal(response.status, 200);
    assert.match(body, /"route":"\/"/);
  });

  test('/monitoring and /stats are not served', async () => {
    for (const path of ['/monitoring', '/monitoring?format=json', '/stats']) {
      const response = await server.request(path);
      assert.equal(response.status, 404, path);
      await response.arrayBuffer();
    }
  });

  test('/health is still served', async () => {
    assert.equal((await server.text('/health')).body, 'OK');
  });
});

describe('with index_page off and no route at /', async () => {
  const server = await startServer({ index_page: false, routes: { '/echo': { wasm_file: testInstrument('echo') } } });

  test('/ is 404', async () => {
    const response = await server.request('/');
    assert.equal(response.status, 404);
    await response.arrayBuffer();
  });
});
