/**
 * Hostile load, the short version (bench/hostile-load.ts is the long one): a small route's
 * latency while 20 clients keep a runaway route busy, and the server's memory and
 * descriptors after hundreds of hostile requests. The server is a child process
 * (`wasio serve`), so its figures are its own and the clients do not share its event loop.
 *
 * `.alone`: `npm test` runs this file by itself, after the others. It compares latencies
 * under a load of its own making, which another test file running at the same time on this
 * machine's cores would add to, unmeasured.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXTRA_WORKER_IDLE_MS } from '../../src/runtime/worker-pool.js';
import {
  describeCounts, descriptorKinds, describeLatency, describeMix, HOSTILE_FILES, hostileRoutes, keepBusy, measureLatency, mebibytes,
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

test(`the tiny route's p99 under that load stays within 3× of its p99 alone`, () => {
  assert.ok(latency, 'measured by the test above');
  const { quiet, loaded } = latency;
  assert.ok(loaded.p99Ms <= 3 * quiet.p99Ms,
    `p99 ${loaded.p99Ms.toFixed(2)} ms under load, ${quiet.p99Ms.toFixed(2)} ms without: more than 3×`);
});

/** The server's descriptors before and after the hostile mix, measured by the test below. */
let descriptors: { before: number; after: number; kindsBefore: string; kindsAfter: string } | undefined;

test('after 500 mixed hostile requests the server answers and its memory returns to within 10%', async (t) => {
  // Every kind ten times first, as many at once as below, so the baseline is that of a
  // server that has run each module, grown its heaps, started its extra workers and opened
  // the clients' connections, not that of a fresh process.
  const concurrency = 8;
  const warmUp = await sendHostileMix(server.url, 110, concurrency);
  assert.deepEqual(warmUp.unexpected, [], describeMix(warmUp));
  await waitUntil(async () => (await workersBusy()) === 0, 'the workers to be idle', 5_000);
  const rssBefore = residentBytes(serverPid);
  const fdsBefore = openDescriptorCount(serverPid);
  const kindsBefore = descriptorKinds(serverPid);

  const started = performance.now();
  const mix = await sendHostileMix(server.url, 500, concurrency);
  t.diagnostic(`500 hostile requests in ${Math.round(performance.now() - started)} ms: ${describeMix(mix).replaceAll('\n', '; ')}`);
  assert.deepEqual(mix.unexpected, [], describeMix(mix));
  assert.equal((await server.text('/health')).response.status, 200);

  // Nothing announces that memory was given back or a terminated worker's descriptors
  // closed. Idle workers keep their last instance's memory (a memory bomb's 32 MiB) until
  // they run again or, for extra workers, retire: so the poll lasts until the extras have.
  const settleStarted = performance.now();
  const withinBounds = (): boolean =>
    residentBytes(serverPid) <= rssBefore * 1.1 && openDescriptorCount(serverPid) <= fdsBefore * 1.1;
  await settledValue(() => (withinBounds() ? 0 : 1), 0, EXTRA_WORKER_IDLE_MS + 3_000, 250);
  const rssAfter = residentBytes(serverPid);
  descriptors = { before: fdsBefore, after: openDescriptorCount(serverPid), kindsBefore, kindsAfter: descriptorKinds(serverPid) };
  t.diagnostic(`server RSS ${mebibytes(rssBefore)} → ${mebibytes(rssAfter)} MiB, descriptors ${fdsBefore} → ${descriptors.after}, ` +
    `${Math.round(performance.now() - settleStarted)} ms after the mix`);
  assert.ok(rssAfter <= rssBefore * 1.1, `RSS went from ${mebibytes(rssBefore)} to ${mebibytes(rssAfter)} MiB`);
});

test('after the same 500 hostile requests the server\'s open descriptors return to within 10%', () => {
  assert.ok(descriptors, 'measured by the test above');
  const { before, after, kindsBefore, kindsAfter } = descriptors;
  assert.ok(after <= before * 1.1, `descriptors went from ${before} to ${after}:\nbefore ${kindsBefore}\nafter  ${kindsAfter}`);
});
