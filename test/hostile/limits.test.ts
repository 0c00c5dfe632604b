/**
 * The limits of SPEC section 4 against instruments that push on them: the timeout, the body
 * limit, the concurrency cap and the queue, the per-instance descriptor cap, a client that
 * goes away, and a slow instrument that stays within its limits. The server runs in this
 * process, so its descriptors are this process's descriptors.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_MAX_OPEN_FILES } from '../../src/wasi/index.js';
import { openDescriptorCount, settledValue } from '../helpers/hostile.js';
import { LogLevel, startServer, testInstrument, waitUntil, type LogLine, type TestServer } from '../helpers/server.js';

const server = await startServer({
  routes: {
    '/echo': { wasm_file: testInstrument('echo') },
    '/loop': { wasm_file: testInstrument('loop'), timeout_ms: 300 },
    '/loop-5s': { wasm_file: testInstrument('loop'), timeout_ms: 5_000 },
    '/sleeper': { wasm_file: testInstrument('sleeper'), timeout_ms: 5_000 },
    // The writer appends a line to written/log.txt whenever it runs: proof of whether it did.
    '/writer-1k': { wasm_file: testInstrument('writer'), max_body_bytes: 1024, mounts: [{ guest: '/data', host: 'written' }] },
    '/fd-hog': { wasm_file: testInstrument('fd_hog'), mounts: [{ guest: '/data', host: 'data', readonly: true }] },
    '/fd-hog-loop': { wasm_file: testInstrument('fd_hog_loop'), timeout_ms: 300, mounts: [{ guest: '/data', host: 'data', readonly: true }] },
  },
}, { files: { 'data/f': 'a file to open until the cap\n', 'written/.keep': '' } });

interface PoolFigures {
  readonly total: number;
  readonly busy: number;
  readonly queued: number;
  readonly replaced: number;
}

async function poolFigures(target: TestServer = server): Promise<PoolFigures> {
  const response = await target.request('/stats');
  return ((await response.json()) as { workers: PoolFigures }).workers;
}

/** Log lines of one request, once its access line (or, for a refused body, any line) is there. */
function linesOf(target: TestServer, requestId: string): LogLine[] {
  return target.logs.filter((line) => line['reqId'] === requestId);
}

async function accessLineOf(target: TestServer, requestId: string): Promise<LogLine> {
  return target.logs.waitFor(`access line of ${requestId}`, (line) => line['reqId'] === requestId && line.msg === 'request');
}

async function assertHealthy(target: TestServer = server): Promise<void> {
  const { response } = await target.text('/health');
  assert.equal(response.status, 200, 'GET /health');
}

test('an endless loop is stopped at timeout_ms 300 with 504 while another route answers; its worker is replaced', async () => {
  const before = await poolFigures();
  const started = performance.now();
  let loopAnswered = false;
  const looping = server.text('/loop').then((result) => {
    loopAnswered = true;
    return { ...result, elapsedMs: performance.now() - started };
  });
  await waitUntil(async () => (await poolFigures()).busy >= 1, 'the loop to occupy a worker', 1_000);
  const echo = await server.text('/echo');
  assert.equal(echo.response.status, 200);
  assert.equal(loopAnswered, false, '/echo was answered while the loop still ran');

  const loop = await looping;
  assert.equal(loop.response.status, 504);
  assert.ok(loop.elapsedMs >= 290 && loop.elapsedMs < 3_000, `504 after ${Math.round(loop.elapsedMs)} ms, expected about 300`);
  const requestId = loop.response.headers.get('x-request-id') ?? '';
  await accessLineOf(server, requestId);
  const failure = linesOf(server, requestId).find((line) => line.level >= LogLevel.error);
  assert.equal(failure?.['code'], 'WASIO_ERR_TIMEOUT');
  assert.equal(failure['route'], '/loop');

  await waitUntil(async () => {
    const figures = await poolFigures();
    return figures.busy === 0 && figures.total >= before.total;
  }, 'every worker to be back and idle', 2_000);
  assert.ok((await poolFigures()).replaced > before.replaced, 'the looping worker was replaced');
  const after = await server.text('/echo');
  assert.equal(after.response.status, 200, 'a following request is served');
  await assertHealthy();
});

/** A body of `size` bytes sent in chunks, so fetch sends it without Content-Length (chunked). */
function chunkedBody(size: number, chunkSize: number): RequestInit {
  let left = size;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left === 0) {
        controller.close();
        return;
      }
      const chunk = new Uint8Array(Math.min(chunkSize, left)).fill(0x61);
      left -= chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { method: 'POST', body: stream, duplex: 'half' } as RequestInit;
}

test('a 2 KiB body on a route with max_body_bytes 1024 is 413, with and without Content-Length, and the module never runs', async () => {
  const written = join(server.dir, 'written', 'log.txt');
  const refusals = [
    { how: 'Content-Length', init: { method: 'POST', body: 'a'.repeat(2048) } as RequestInit },
    { how: 'chunked', init: chunkedBody(2048, 512) },
  ];
  for (const { how, init } of refusals) {
    const { response, body } = await server.text('/writer-1k?id=refused', init);
    assert.equal(response.status, 413, `${how}: ${body}`);
    assert.ok(body.length < 100, `${how}: short body`);
    const requestId = response.headers.get('x-request-id') ?? assert.fail('no X-Request-Id');
    const instanceLines = linesOf(server, requestId).filter((line) => line['instanceMs'] !== undefined);
    assert.deepEqual(instanceLines, [], `${how}: no log line reports an instance`);
  }
  assert.equal(existsSync(written), false, 'the writer never ran for a refused body');
  assert.equal((await poolFigures()).busy, 0);

  // The same route with a body under the limit does run, so the absence above means something.
  const { response, body } = await server.text('/writer-1k?id=accepted', { method: 'POST', body: 'a'.repeat(512) });
  assert.equal(response.status, 200, body);
  assert.equal(readFileSync(written, 'utf8'), 'accepted\n');
  await assertHealthy();
});

test('max_concurrency 1 with max_queue 2: of 5 concurrent requests, 3 are served and 2 get 503 with Retry-After', async () => {
  const queued = await startServer({
    max_queue: 2,
    routes: { '/sleeper': { wasm_file: testInstrument('sleeper'), max_concurrency: 1, timeout_ms: 5_000 } },
  });
  const warm = await queued.text('/sleeper?ms=1');
  assert.equal(warm.response.status, 200, 'compiled and served once before the burst');

  const started = performance.now();
  // One runs, two wait (the queue is full), two are refused at once.
  const answers = await Promise.all(Array.from({ length: 5 }, () => queued.text('/sleeper?ms=400')));
  const elapsedMs = performance.now() - started;
  const statuses = answers.map(({ response }) => response.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 503, 503], `statuses: ${statuses.join(', ')}`);
  for (const { response, body } of answers) {
    if (response.status === 200) assert.equal(body, 'slept');
    if (response.status !== 503) continue;
    assert.match(response.headers.get('retry-after') ?? '', /^\d+$/, 'a 503 says when to retry');
    const requestId = response.headers.get('x-request-id') ?? '';
    await accessLineOf(queued, requestId);
    assert.ok(linesOf(queued, requestId).some((line) => line['code'] === 'WASIO_ERR_QUEUE_FULL'), queued.logs.dump());
  }
  // Three runs of 400 ms one after another, and nothing waiting for a timeout.
  assert.ok(elapsedMs < 3_000, `the burst took ${Math.round(elapsedMs)} ms`);
  assert.equal((await poolFigures(queued)).queued, 0);
  await assertHealthy(queued);
});

test('an instance opens descriptors only up to the cap, and the server\'s descriptors go back to their level', async () => {
  // Compiled, a worker warmed and the client's connection open before counting.
  assert.equal((await server.text('/fd-hog')).response.status, 200);
  const before = openDescriptorCount();

  const { response, body } = await server.text('/fd-hog');
  assert.equal(response.status, 200);
  const accessLine = await accessLineOf(server, response.headers.get('x-request-id') ?? '');
  assert.equal(accessLine['route'], '/fd-hog');
  assert.equal(accessLine['status'], 200);
  // The cap counts every entry of the guest's table: stdin, stdout, stderr and the /data preopen.
  assert.equal(Number(body), DEFAULT_MAX_OPEN_FILES - 4, `the guest opened ${body} files`);
  const afterRun = await settledValue(() => openDescriptorCount(), before, 2_000);
  assert.ok(afterRun <= before, `the server holds ${afterRun} descriptors, ${before} before the run`);

  // The same hog that never ends: its descriptors are still open when the timeout stops it.
  const hog = await server.text('/fd-hog-loop');
  assert.equal(hog.response.status, 504);
  const hogId = hog.response.headers.get('x-request-id') ?? '';
  assert.equal((await accessLineOf(server, hogId))['error'], 'WASIO_ERR_TIMEOUT');
  const afterTimeout = await settledValue(() => openDescriptorCount(), before, 3_000);
  assert.ok(afterTimeout <= before, `the server holds ${afterTimeout} descriptors, ${before} before the timed-out run`);
  await assertHealthy();
});

test('a client that goes away frees its worker within a second, long before the timeout of 5 s', async () => {
  const before = await poolFigures();
  const client = new AbortController();
  const pending = server.request('/loop-5s', { signal: client.signal }).then(
    () => assert.fail('the aborted request was answered'),
    (error: unknown) => error,
  );
  await waitUntil(async () => (await poolFigures()).busy >= 1, 'the loop to occupy a worker', 1_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const logIndex = server.logs.lines.length;
  client.abort();
  const abortedAt = performance.now();
  assert.equal((await pending as Error).name, 'AbortError');

  await waitUntil(async () => (await poolFigures()).busy === 0, 'the worker to be freed', 2_000);
  const freedAfterMs = performance.now() - abortedAt;
  assert.ok(freedAfterMs < 1_000, `the worker was freed ${Math.round(freedAfterMs)} ms after the client left`);
  const line = await server.logs.waitFor('saying the client went away', (candidate) => String(candidate.msg).includes('the client went away'),
    { since: logIndex, timeoutMs: 1_000 });
  assert.equal(line['route'], '/loop-5s');
  assert.equal(line['code'], 'WASIO_ERR_ABORTED');
  await waitUntil(async () => (await poolFigures()).total >= before.total, 'the pool to be back to its size', 2_000);
  assert.equal((await server.text('/echo')).response.status, 200);
  await assertHealthy();
});

test('a slow but legitimate instrument (1.5 s of sleep under a 5 s timeout) is not cut short', async () => {
  const started = performance.now();
  const { response, body } = await server.text('/sleeper?ms=1500');
  const elapsedMs = performance.now() - started;
  assert.equal(response.status, 200);
  assert.equal(body, 'slept');
  assert.ok(elapsedMs >= 1_450 && elapsedMs < 5_000, `answered after ${Math.round(elapsedMs)} ms`);
  const accessLine = await accessLineOf(server, response.headers.get('x-request-id') ?? '');
  assert.equal(accessLine['status'], 200);
  assert.ok((accessLine['instanceMs'] as number) >= 1_450, `the instance ran ${String(accessLine['instanceMs'])} ms`);
  await assertHealthy();
});
