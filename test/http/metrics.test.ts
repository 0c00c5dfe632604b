/**
 * `/metrics`: Prometheus text from a registry of the server's own, counted from the
 * diagnostics channels. Requests by route, method and status; latency, queue and run
 * histograms; the response cache; compilations; worker restarts; every kind of limit
 * breach; gauges read when scraped; and numbers that agree with `/stats`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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

/** The sum of the samples called `name` whose labels include `labels`. */
function total(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function scrape(server: TestServer): Promise<Sample[]> {
  const { response, body } = await server.text('/metrics');
  assert.equal(response.status, 200);
  return parseMetrics(body);
}

async function get(server: TestServer, path: string, init?: RequestInit): Promise<number> {
  const response = await server.request(path, init);
  await response.arrayBuffer();
  return response.status;
}

describe('a server with instruments that succeed, fail and break limits', async () => {
  const server = await startServer({
    workers: 1,
    max_queue: 1,
    routes: {
      '/echo': { wasm_file: testInstrument('echo') },
      '/cached': { wasm_file: testInstrument('echo'), cache: true },
      '/exit3': { wasm_file: testInstrument('exit3') },
      '/loop': { wasm_file: testInstrument('loop'), timeout_ms: 300 },
      '/small-body': { wasm_file: testInstrument('echo'), max_body_bytes: 16 },
      '/flood': { wasm_file: testInstrument('flood'), max_output_bytes: 64 * 1024 },
      '/memory-bomb': { wasm_file: testInstrument('memory_bomb'), memory_limit_mb: 32 },
      '/sleeper': { wasm_file: testInstrument('sleeper') },
    },
  });

  test('/metrics is Prometheus text with the process metrics and every WASIO metric described', async () => {
    const { response, body } = await server.text('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'wasio_http_requests_total', 'wasio_http_request_duration_seconds', 'wasio_queue_wait_seconds', 'wasio_instance_run_seconds',
      'wasio_response_cache_hits_total', 'wasio_response_cache_misses_total', 'wasio_module_compiles_total',
      'wasio_module_compile_duration_seconds', 'wasio_worker_restarts_total', 'wasio_limit_breaches_total',
      'wasio_queue_depth', 'wasio_workers_busy', 'wasio_workers', 'process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(body, new RegExp(`^# HELP ${name} `, 'm'), `${name} is described`);
    }
    const samples = parseMetrics(body);
    assert.equal(total(samples, 'wasio_workers'), 1);
    assert.equal(total(samples, 'wasio_worker_restarts_total', { reason: 'timeout' }), 0, 'restart reasons start at zero');
  });

  test('requests are counted by route, method and status, with their latencies; built-in pages are not', async () => {
    const before = await scrape(server);
    assert.equal(await get(server, '/echo?a=1'), 200);
    assert.equal(await get(server, '/echo', { method: 'POST', body: 'x=1' }), 200);
    assert.equal(await get(server, '/exit3'), 500);
    assert.equal(await get(server, '/nowhere'), 404);
    for (const builtin of ['/health', '/', '/stats', '/monitoring', '/monitoring?format=json']) await get(server, builtin);
    const after = await scrape(server);
    const increase = (name: string, labels: Record<string, string>): number => total(after, name, labels) - total(before, name, labels);
    assert.equal(increase('wasio_http_requests_total', { route: '/echo', method: 'GET', status: '200' }), 1);
    assert.equal(increase('wasio_http_requests_total', { route: '/echo', method: 'POST', status: '200' }), 1);
    assert.equal(increase('wasio_http_requests_total', { route: '/exit3', status: '500' }), 1);
    assert.equal(increase('wasio_http_requests_total', { route: '(unmatched)', status: '404' }), 1);
    assert.equal(increase('wasio_http_requests_total', {}), 4, 'only the four instrument requests count');
    assert.equal(increase('wasio_http_request_duration_seconds_count', { route: '/echo' }), 2);
    assert.ok(increase('wasio_http_request_duration_seconds_sum', { route: '/echo' }) > 0);
    assert.equal(increase('wasio_instance_run_seconds_count', { route: '/echo' }), 2);
    assert.equal(increase('wasio_queue_wait_seconds_count', { route: '/exit3' }), 1);
    const routes = new Set(after.filter((sample) => sample.name === 'wasio_http_requests_total').map((sample) => sample.labels['route']));
    for (const builtin of ['/health', '/', '/stats', '/monitoring', '/metrics']) assert.ok(!routes.has(builtin), `${builtin} is not counted`);
  });

  test('response cache hits and misses are counted per route', async () => {
    const before = await scrape(server);
    for (let i = 0; i < 3; i++) assert.equal(await get(server, '/cached?n=1'), 200);
    const after = await scrape(server);
    assert.equal(total(after, 'wasio_response_cache_misses_total', { route: '/cached' }) - total(before, 'wasio_response_cache_misses_total', { route: '/cached' }), 1);
    assert.equal(total(after, 'wasio_response_cache_hits_total', { route: '/cached' }) - total(before, 'wasio_response_cache_hits_total', { route: '/cached' }), 2);
  });

  test('each limit breach is counted by kind and route; a timeout also restarts a worker', async () => {
    const before = await scrape(server);
    assert.equal(await get(server, '/loop'), 504);
    assert.equal(await get(server, '/small-body', { method: 'POST', body: 'x'.repeat(17) }), 413);
    assert.equal(await get(server, '/flood'), 500);
    assert.equal(await get(server, '/memory-bomb'), 500);
    const after = await scrape(server);
    const increase = (name: string, labels: Record<string, string>): number => total(after, name, labels) - total(before, name, labels);
    assert.equal(increase('wasio_limit_breaches_total', { kind: 'timeout', route: '/loop' }), 1);
    assert.equal(increase('wasio_limit_breaches_total', { kind: 'body', route: '/small-body' }), 1);
    assert.equal(increase('wasio_limit_breaches_total', { kind: 'output', route: '/flood' }), 1);
    assert.equal(increase('wasio_limit_breaches_total', { kind: 'memory', route: '/memory-bomb' }), 1);
    assert.equal(increase('wasio_worker_restarts_total', { reason: 'timeout' }), 1);
    assert.equal(increase('wasio_instance_run_seconds_count', { route: '/loop' }), 1, 'a stopped run is still measured');
  });

  test('a full queue is a queue breach; busy workers and queue depth are read when scraped', async () => {
    const before = await scrape(server);
    const running = get(server, '/sleeper?ms=1500');
    await waitUntil(async () => total(await scrape(server), 'wasio_workers_busy') === 1, 'the sleeper to take the only worker');
    const queued = get(server, '/sleeper?ms=1');
    await waitUntil(async () => total(await scrape(server), 'wasio_queue_depth') === 1, 'a request to wait in the queue');
    assert.equal(await get(server, '/sleeper?ms=1'), 503, 'past max_queue the request is refused');
    assert.deepEqual(await Promise.all([running, queued]), [200, 200]);
    const after = await scrape(server);
    assert.equal(total(after, 'wasio_limit_breaches_total', { kind: 'queue', route: '/sleeper' })
      - total(before, 'wasio_limit_breaches_total', { kind: 'queue', route: '/sleeper' }), 1);
    assert.equal(total(after, 'wasio_queue_depth'), 0);
    assert.equal(total(after, 'wasio_workers_busy'), 0);
  });

  test('compilations are counted and timed', async () => {
    const samples = await scrape(server);
    const compiles = server.runtime.stats().modules.compiles;
    assert.ok(compiles >= 1);
    assert.equal(total(samples, 'wasio_module_compiles_total'), compiles);
    assert.equal(total(samples, 'wasio_module_compile_duration_seconds_count'), compiles);
  });

  test('/stats and /metrics agree', async () => {
    const samples = await scrape(server);
    const stats = (await (await server.request('/stats')).json()) as {
      total_requests: number; errors: number; response_cache: { hits: number; misses: number }; workers: { replaced: number };
      routes: Record<string, { requests: number }>;
    };
    assert.equal(total(samples, 'wasio_http_requests_total'), stats.total_requests);
    const errors = samples.filter((sample) => sample.name === 'wasio_http_requests_total' && Number(sample.labels['status']) >= 400)
      .reduce((sum, sample) => sum + sample.value, 0);
    assert.equal(errors, stats.errors);
    assert.equal(total(samples, 'wasio_response_cache_hits_total'), stats.response_cache.hits);
    assert.equal(total(samples, 'wasio_response_cache_misses_total'), stats.response_cache.misses);
    assert.equal(total(samples, 'wasio_worker_restarts_total'), stats.workers.replaced);
    for (const [route, counts] of Object.entries(stats.routes)) {
      assert.equal(total(samples, 'wasio_http_requests_total', { route }), counts.requests, route);
    }
  });
});

describe('two servers in one process', async () => {
  const first = await startServer({ routes: { '/echo': { wasm_file: testInstrument('echo') } } });
  const second = await startServer({ routes: { '/echo': { wasm_file: testInstrument('echo') } } });

  test('count only their own requests, compilations and instances', async () => {
    assert.equal(await get(first, '/echo'), 200);
    const mine = await scrape(first);
    const theirs = await scrape(second);
    assert.equal(total(mine, 'wasio_http_requests_total', { route: '/echo' }), 1);
    assert.equal(total(theirs, 'wasio_http_requests_total'), 0);
    assert.equal(total(theirs, 'wasio_instance_run_seconds_count'), 0);
    assert.equal(total(theirs, 'wasio_module_compiles_total'), 0);
  });
});

describe('with monitoring off', async () => {
  const server = await startServer({ monitoring: false, routes: { '/echo': { wasm_file: testInstrument('echo') } } });

  test('/metrics and the dashboard assets are not served', async () => {
    for (const path of ['/metrics', '/assets/uplot.min.js', '/assets/monitoring.js']) assert.equal(await get(server, path), 404, path);
    assert.equal(await get(server, '/assets/index.js'), 200, 'the index page still has its script');
  });
});
