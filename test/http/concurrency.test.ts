/**
 * Many requests at once (SPEC section 4): instances sharing a mount append whole lines,
 * `max_concurrency` makes a route's requests take turns, and past `max_queue` the server
 * answers 503 with Retry-After instead of queueing without end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer, testInstrument } from '../helpers/server.js';

const dataMount = [{ guest: '/data', host: 'data' }];
const server = await startServer({
  max_queue: 1,
  routes: {
    '/append': { wasm_file: testInstrument('writer'), mounts: dataMount },
    '/one-at-a-time': { wasm_file: testInstrument('writer'), mounts: [{ guest: '/data', host: 'serial' }], max_concurrency: 1 },
    '/sleep': { wasm_file: testInstrument('sleeper'), max_concurrency: 1 },
  },
}, { files: { 'data/.keep': '', 'serial/.keep': '' } });

test('instances running at once append whole lines to a shared mount', async () => {
  // Two workers run these; max_queue 1 holds only one waiting, so send them in pairs. The
  // first goes alone: workers take jobs once started, and until one has, a pair would be two
  // waiting (on a loaded machine, the server can answer before its workers have started).
  const ids = Array.from({ length: 13 }, (_, i) => `line-${i}`);
  for (let i = 0; i < ids.length; i += i === 0 ? 1 : 2) {
    const sent = ids.slice(i, i === 0 ? 1 : i + 2);
    const answers = await Promise.all(sent.map((id) => server.text(`/append?id=${id}`)));
    for (const { response, body } of answers) assert.equal(response.status, 200, body);
  }
  const lines = readFileSync(join(server.dir, 'data', 'log.txt'), 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  assert.deepEqual([...lines].sort(), [...ids].sort());
});

test('max_concurrency 1 runs one instance at a time; the next waits its turn', async () => {
  const started = performance.now();
  const results = await Promise.all(['a', 'b'].map((id) => server.text(`/one-at-a-time?id=${id}&sleep=200`)));
  const elapsed = performance.now() - started;
  for (const { response } of results) assert.equal(response.status, 200);
  assert.ok(elapsed >= 390, `two 200 ms runs took ${Math.round(elapsed)} ms, so they overlapped`);
  const ids = results.map(({ response }) => response.headers.get('x-request-id'));
  const queued = server.logs.filter((line) => line.msg === 'request' && ids.includes(line['reqId'] as string))
    .map((line) => line['queueMs'] as number);
  assert.equal(queued.length, 2);
  assert.ok(Math.max(...queued) >= 150, `one request waited for the other (queue times ${queued.join(', ')} ms)`);
});

test('past max_queue the server answers 503 with Retry-After', async () => {
  const results = await Promise.all([1, 2, 3].map(() => server.text('/sleep?ms=300')));
  const statuses = results.map(({ response }) => response.status).sort();
  assert.deepEqual(statuses, [200, 200, 503], 'one runs, one waits, one is turned away');
  const refused = results.find(({ response }) => response.status === 503);
  assert.match(refused?.response.headers.get('retry-after') ?? '', /^\d+$/);
  assert.ok((refused?.body.length ?? 0) < 100);
});
