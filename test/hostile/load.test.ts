/**
 * Hostile load, the short version (bench/hostile-load.ts is the long one): a small route's
 * latency while 20 clients keep a runaway route busy, and the server's memory and
 * descriptors after hundreds of hostile requests. The server is a child process
 * (`wasio serve`), so its figures are its own and the clients do not share its event loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeCounts, describeLatency, describeMix, HOSTILE_FILES, hostileRoutes, keepBusy, measureLatency, mebibytes,
  openDescriptorCount, residentBytes, sendHostileMix, settledValue, type LatencySummary,
} from '../helpers/hostile.js';
import { exampleInstrument, startChildServer, testInstrument, waitUntil, writeConfig } from '../helpers/server.js';

const LOOP_CLIENTS = 20;
const { configFile } = writeConfig({
  routes: {
    '/loop': { wasm_file: testInstrument('loop'), timeout_ms: 1_000 },
    '/tiny_hello': { wasm_file: exampleInstrument('tiny_hello') },
    ...hostileRoutes(),
  },
}, HOSTILE_FILES);
const server = await startChildServer(configFile);
const serverPid = server.child.pid ?? assert.fail('the server has no pid');
const tinyUrl = `${server.url}/tiny_hello?name=Load`;

async function workersBusy(): Promise<number> {
  const response = await server.request('/stats');
  return ((await response.json()) as { workers: { busy: number } }).workers.busy;
}

/** The tiny route's latency alone and under the loop load, measured once by the first test. */
let latency: { quiet: LatencySummary; loaded: LatencySummary } | undefined;

test(`while ${LOOP_CLIENTS} clients keep the loop route busy, the tiny route never fails and the loops answer only 503 or 504`, async (t) => {
  await measureLatency(tinyUrl, 300); // compiled, workers warm, connection open
  const quiet = await measureLatency(tinyUrl, 2_000);
  t.diagnostic(`tiny_hello alone: ${describeLatency(quiet)}`);

  // A loop either runs into its timeout (504) or waits for a worker as long (503).
  const load = keepBusy(`${server.url}/loop`, LOOP_CLIENTS, [503, 504]);
  let loaded: LatencySummary;
  try {
    await waitUntil(async () => (await workersBusy()) >= 2, 'the loops to take the workers', 2_000);
    loaded = await measureLatency(tinyUrl, 3_000);
  } finally {
    const loops = await load.stop();
    t.diagnostic(`loop route answers: ${describeCounts(loops.counts)}`);
    const unexpected = loops.unexpected.map(({ requestId, outcome }) =>
      `${requestId}: ${outcome}\n${server.logs.filter((line) => line['reqId'] === requestId).map((line) => JSON.stringify(line)).join('\n')}`);
    assert.deepEqual(unexpected, [], 'loop requests answered otherwise than 503 or 504');
  }
  t.diagnostic(`tiny_hello with ${LOOP_CLIENTS} loop clients: ${describeLatency(loaded)}`);
  latency = { quiet, loaded };
  assert.equal(quiet.failures, 0, describeLatency(quiet));
  assert.equal(loaded.failures, 0, describeLatency(loaded));
});

test(`the tiny route's p99 under that load stays within 3× of its p99 alone`, {
  todo: 'worker-pool.ts: an extra worker started for the tiny route takes a queued loop once free, so later tiny requests wait for yet another worker to start, or for a loop\'s timeout',
}, () => {
  assert.ok(latency, 'measured by the test above');
  const { quiet, loaded } = latency;
  assert.ok(loaded.p99Ms <= 3 * quiet.p99Ms,
    `p99 ${loaded.p99Ms.toFixed(2)} ms under load, ${quiet.p99Ms.toFixed(2)} ms without: more than 3×`);
});

test('after 500 mixed hostile requests the server\'s memory and descriptors return to within 10%', async (t) => {
  // Every kind five times first, as many at once as below, so the baseline is that of a
  // server that has run each module, started its extra workers and opened the clients'
  // connections, not that of a fresh process.
  const concurrency = 8;
  const warmUp = await sendHostileMix(server.url, 55, concurrency);
  assert.deepEqual(warmUp.unexpected, [], describeMix(warmUp));
  await waitUntil(async () => (await workersBusy()) === 0, 'the workers to be idle', 5_000);
  const rssBefore = residentBytes(serverPid);
  const fdsBefore = openDescriptorCount(serverPid);

  const started = performance.now();
  const mix = await sendHostileMix(server.url, 500, concurrency);
  t.diagnostic(`500 hostile requests in ${Math.round(performance.now() - started)} ms: ${describeMix(mix).replaceAll('\n', '; ')}`);
  assert.deepEqual(mix.unexpected, [], describeMix(mix));
  assert.equal((await server.text('/health')).response.status, 200);

  // Nothing announces that memory was given back or a terminated worker's descriptors closed.
  const rssAfter = await settledValue(() => residentBytes(serverPid), rssBefore * 1.1, 5_000);
  const fdsAfter = await settledValue(() => openDescriptorCount(serverPid), fdsBefore * 1.1, 2_000);
  t.diagnostic(`server RSS ${mebibytes(rssBefore)} → ${mebibytes(rssAfter)} MiB, descriptors ${fdsBefore} → ${fdsAfter}`);
  assert.ok(fdsAfter <= fdsBefore * 1.1, `descriptors went from ${fdsBefore} to ${fdsAfter}`);
  assert.ok(rssAfter <= rssBefore * 1.1, `RSS went from ${mebibytes(rssBefore)} to ${mebibytes(rssAfter)} MiB`);
});
