/**
 * How failures look from outside: the status, a short body that never carries guest stderr,
 * a log line that says what happened (with route and request id), and a server that keeps
 * answering other requests meanwhile. Also the limits of SPEC section 4 and request ids.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { startServer, testInstrument, waitUntil, type LogLine } from '../helpers/server.js';

const server = await startServer({
  routes: {
    '/echo': { wasm_file: testInstrument('echo') },
    '/exit3': { wasm_file: testInstrument('exit3') },
    '/trap': { wasm_file: testInstrument('trap') },
    '/recurse': { wasm_file: testInstrument('recurse') },
    '/missing': { wasm_file: 'modules/not-there.wasm' },
    '/loop': { wasm_file: testInstrument('loop'), timeout_ms: 300 },
    '/long-loop': { wasm_file: testInstrument('loop'), timeout_ms: 30_000 },
    '/small-body': { wasm_file: testInstrument('echo'), max_body_bytes: 16 },
    '/stderr-lines': { wasm_file: testInstrument('stderr_lines') },
    '/flood': { wasm_file: testInstrument('flood'), max_output_bytes: 256 * 1024 },
    '/memory-bomb': { wasm_file: testInstrument('memory_bomb'), memory_limit_mb: 32 },
    '/fd-hog': { wasm_file: testInstrument('fd_hog'), mounts: [{ guest: '/data', host: 'data', readonly: true }] },
  },
}, { files: { 'data/f': 'a file to open many times\n' } });

/** Requests `path`, expects `status`, and returns the request id and the body. */
async function expectStatus(path: string, status: number, init?: RequestInit): Promise<{ requestId: string; body: string }> {
  const { response, body } = await server.text(path, init);
  assert.equal(response.status, status, `${path} answered ${response.status}: ${body}`);
  const requestId = response.headers.get('x-request-id') ?? assert.fail('no X-Request-Id');
  return { requestId, body };
}

interface WorkerStats {
  busy: number;
  replaced: number;
}

/** The worker counters of /stats. */
async function workerStats(): Promise<WorkerStats> {
  return ((await (await server.request('/stats')).json()) as { workers: WorkerStats }).workers;
}

/** Worker threads running an instance now. */
async function workersBusy(): Promise<number> {
  return (await workerStats()).busy;
}

/** Log lines of one request. */
function linesOf(requestId: string): LogLine[] {
  return server.logs.filter((line) => line['reqId'] === requestId);
}

/** The access log line of one request (written when the response has been sent). */
function accessLineOf(requestId: string): Promise<LogLine> {
  return server.logs.waitFor(`for request ${requestId}`, (line) => line['reqId'] === requestId && line.msg === 'request');
}

test('a non-zero exit is 500; its stderr goes to the log with route and request id, never to the client', async () => {
  const { requestId, body } = await expectStatus('/exit3', 500);
  assert.doesNotMatch(body, /something broke/);
  assert.ok(body.length < 100, `short body: ${body}`);
  await accessLineOf(requestId);
  const stderrLine = linesOf(requestId).find((line) => line.msg === 'something broke');
  assert.ok(stderrLine, `no stderr line for ${requestId} in:\n${server.logs.dump()}`);
  assert.equal(stderrLine['route'], '/exit3');
  const failure = linesOf(requestId).find((line) => line.level >= 50);
  assert.ok(failure, 'an error-level line says the instrument failed');
  assert.equal(failure['route'], '/exit3');
  assert.equal(failure['exitCode'], 3);
});

test('a trap is 500 with the reason in the log, and output written before it is not sent', async () => {
  const { requestId, body } = await expectStatus('/trap', 500);
  assert.doesNotMatch(body, /partial output/);
  await accessLineOf(requestId);
  const failure = linesOf(requestId).find((line) => line.level >= 50);
  assert.ok(failure, `no error line for ${requestId}`);
  assert.equal(failure['route'], '/trap');
  assert.equal(failure['reason'], 'unreachable');
});

test('unbounded recursion is a 500 (stack overflow), and the server lives on', async () => {
  const { requestId } = await expectStatus('/recurse', 500);
  await accessLineOf(requestId);
  const failure = linesOf(requestId).find((line) => line.level >= 50);
  assert.equal(failure?.['reason'], 'stack overflow');
  await expectStatus('/echo', 200);
});

test('a route whose module file is missing is 500 while other routes keep answering', async () => {
  const { requestId, body } = await expectStatus('/missing', 500);
  assert.doesNotMatch(body, /not-there|\//, 'no host path in the body');
  await accessLineOf(requestId);
  const failure = linesOf(requestId).find((line) => line.level >= 50);
  assert.equal(failure?.['code'], 'WASIO_ERR_MODULE_LOAD');
  assert.match(String(failure?.msg), /not-there\.wasm/, 'the log names the file');
  await expectStatus('/echo', 200);
});

test('a module that never ends is stopped at timeout_ms with 504, while /health and other routes answer', async () => {
  const started = performance.now();
  let loopDone = false;
  const looping = server.text('/loop').then((result) => {
    loopDone = true;
    return result;
  });
  // Ask the others only once the loop really occupies a worker.
  await waitUntil(async () => (await workersBusy()) >= 1, 'the loop to start on a worker', 1_000);
  const [health, echo] = await Promise.all([server.text('/health'), server.text('/echo')]);
  assert.equal(health.response.status, 200);
  assert.equal(echo.response.status, 200);
  assert.equal(loopDone, false, 'the other requests were answered while the loop still ran');

  const loop = await looping;
  const elapsed = performance.now() - started;
  assert.equal(loop.response.status, 504);
  assert.ok(elapsed >= 290 && elapsed < 1_000, `504 after ${Math.round(elapsed)} ms, expected about 300`);
  const requestId = loop.response.headers.get('x-request-id') ?? '';
  await accessLineOf(requestId);
  assert.ok(linesOf(requestId).some((line) => line['code'] === 'WASIO_ERR_TIMEOUT'));
  await expectStatus('/loop', 504);
});

test('a client that goes away stops its instance instead of leaving it to the timeout', async () => {
  const before = await workerStats();
  const client = new AbortController();
  const abandoned = server.request('/long-loop', { signal: client.signal }).catch((error: Error) => error);
  await waitUntil(async () => (await workersBusy()) > before.busy, 'the loop to start on a worker', 2_000);
  client.abort();
  assert.ok((await abandoned) instanceof Error);
  // Its 30 s timeout is far off: only the client going away can free the worker this soon.
  await waitUntil(async () => (await workerStats()).busy === before.busy, 'the worker to be freed', 2_000);
  assert.ok((await workerStats()).replaced > before.replaced, 'the looping worker was replaced');
  await expectStatus('/echo', 200);
});

test('a body over max_body_bytes is 413 before the module runs; one at the limit is served', async () => {
  await expectStatus('/small-body', 200, { method: 'POST', body: 'x'.repeat(16) });
  const { body } = await expectStatus('/small-body', 413, { method: 'POST', body: 'x'.repeat(17) });
  assert.ok(body.length < 100);

  // Without Content-Length (chunked), the limit holds while the body streams in.
  const chunks = [new Uint8Array(10), new Uint8Array(10)];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
  await expectStatus('/small-body', 413, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.equal(server.logs.filter((line) => line['route'] === '/small-body' && line['instanceMs'] !== undefined).length, 1,
    'only the request at the limit ran an instance');
});

test('a request refused with 413 still gets its access log line and is counted', async () => {
  const { requestId } = await expectStatus('/small-body', 413, { method: 'POST', body: 'x'.repeat(17) });
  const accessLine = await server.logs.waitFor(`for request ${requestId}`, (line) => line['reqId'] === requestId && line.msg === 'request',
    { timeoutMs: 1_000 });
  assert.equal(accessLine['status'], 413);
  assert.equal(accessLine['route'], '/small-body');
  const stats = (await (await server.request('/stats')).json()) as { routes: Record<string, { errors: number }> };
  assert.ok((stats.routes['/small-body']?.errors ?? 0) >= 1, 'the refusal counts as an error of the route');
});

test('X-Request-Id is echoed when given, made when not, and is in the access log line', async () => {
  const given = await server.request('/echo', { headers: { 'x-request-id': 'client-id-42' } });
  assert.equal(given.headers.get('x-request-id'), 'client-id-42');
  await given.arrayBuffer();
  const givenLine = await accessLineOf('client-id-42');
  assert.equal(givenLine['route'], '/echo');
  assert.equal(givenLine['status'], 200);
  assert.equal(givenLine['method'], 'GET');
  assert.equal(givenLine['path'], '/echo');
  assert.equal(typeof givenLine['durationMs'], 'number');
  assert.equal(typeof givenLine['instanceMs'], 'number');
  assert.ok((givenLine['bytes'] as number) > 0, 'the access log counts the bytes sent');

  const made = await server.request('/echo');
  const madeId = made.headers.get('x-request-id') ?? '';
  assert.match(madeId, /^[\w.:@/+=-]{8,}$/);
  await made.arrayBuffer();
  await accessLineOf(madeId);

  const unusable = await server.request('/echo', { headers: { 'x-request-id': 'has spaces and\ttabs' } });
  assert.notEqual(unusable.headers.get('x-request-id'), 'has spaces and\ttabs', 'an id that cannot be logged safely is replaced');
  await unusable.arrayBuffer();

  const notFound = await server.request('/nowhere', { headers: { 'x-request-id': 'lost-request' } });
  assert.equal(notFound.headers.get('x-request-id'), 'lost-request', 'error responses carry the id too');
  await notFound.arrayBuffer();
});

test('each stderr line of a successful run is logged with route and request id; stdout is the body', async () => {
  const { requestId, body } = await expectStatus('/stderr-lines', 200);
  assert.equal(body, 'ok');
  await accessLineOf(requestId);
  const stderrLines = linesOf(requestId).filter((line) => line['stream'] === 'stderr');
  assert.deepEqual(stderrLines.map((line) => line.msg), ['first stderr line', 'second stderr line']);
  assert.ok(stderrLines.every((line) => line['route'] === '/stderr-lines'));
});

test('output past max_output_bytes stops the instance with 500', async () => {
  const started = performance.now();
  const { requestId, body } = await expectStatus('/flood', 500);
  assert.ok(body.length < 100, 'none of the flood reaches the client');
  assert.ok(performance.now() - started < 5_000);
  await accessLineOf(requestId);
  assert.ok(linesOf(requestId).some((line) => line['code'] === 'WASIO_ERR_OUTPUT_LIMIT'), server.logs.dump());
  await expectStatus('/echo', 200);
});

test('a module cannot grow its memory past memory_limit_mb; the failure is a 500', async () => {
  const { requestId } = await expectStatus('/memory-bomb', 500);
  await accessLineOf(requestId);
  const report = linesOf(requestId).find((line) => /^out of memory after \d+ MiB$/.test(String(line.msg)));
  assert.ok(report, `the module saw malloc fail:\n${server.logs.dump()}`);
  const reached = Number(/(\d+) MiB/.exec(String(report.msg))?.[1]);
  assert.ok(reached < 32, `allocated ${reached} MiB under a limit of 32`);
});

test('descriptors an instance opens are capped, and closed when it ends', async () => {
  const openBefore = readdirSync('/proc/self/fd').length;
  const first = Number((await expectStatus('/fd-hog', 200)).body);
  const second = Number((await expectStatus('/fd-hog', 200)).body);
  assert.ok(first > 0 && first < 1024, `opened ${first} before the cap`);
  assert.equal(second, first, 'the second instance could open as many: nothing was left open');
  const openAfter = readdirSync('/proc/self/fd').length;
  assert.ok(openAfter - openBefore < 20, `the server process holds ${openAfter - openBefore} more descriptors than before`);
});
