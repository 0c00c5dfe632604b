/**
 * Workers replaced one after another: a timeout terminates the worker, the next request runs
 * on a new one that may still be starting. One worker only, so every request after a
 * timeout lands on a fresh worker. The server runs in this process, so its descriptors are
 * this process's descriptors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { settledValue } from '../helpers/hostile.js';
import { startServer, testInstrument } from '../helpers/server.js';

/** Shorter than a worker takes to start: a timeout this short would stop workers still starting. */
const SHORT_TIMEOUT_MS = 60;
/**
 * Within a worker's start-up on a busy machine (50-300 ms), yet ample for an instance on a
 * started worker to write its first record even when other test files load the cores.
 */
const APPEND_TIMEOUT_MS = 150;

const server = await startServer({
  routes: {
    '/loop': { wasm_file: testInstrument('loop'), timeout_ms: SHORT_TIMEOUT_MS },
    '/echo': { wasm_file: testInstrument('echo') },
  },
}, { workers: 1 });

/** Descriptors this process holds on JavaScript files (module sources being read). */
function descriptorsOnScripts(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/\.[cm]?js$/.test(readlinkSync(`/proc/self/fd/${fd}`))) count += 1;
    } catch {
      // closed while listing
    }
  }
  return count;
}

test('workers stopped by timeouts one after another leave no descriptor open', async () => {
  assert.equal((await server.text('/echo')).response.status, 200);
  const before = descriptorsOnScripts();
  for (let i = 0; i < 30; i++) assert.equal((await server.text('/loop')).response.status, 504);
  const after = await settledValue(descriptorsOnScripts, before, 2_000);
  assert.equal(after, before, `descriptors on .js files: ${before} before 30 timeouts, ${after} after`);
  assert.equal((await server.text('/health')).response.status, 200);
});

test('an instance on a replacement worker gets its whole timeout: each one starts before it is stopped', async () => {
  // A server of its own: with no other route active, the pool never lowers this long job's
  // priority, so what is measured is the worker's start-up, not the CPU share of a busy machine.
  const appender = await startServer({
    routes: {
      // Appends a record as soon as it starts, then more until the timeout stops it.
      '/append': { wasm_file: testInstrument('append_spin'), timeout_ms: APPEND_TIMEOUT_MS, mounts: [{ guest: '/data', host: 'records' }] },
    },
  }, { workers: 1, files: { 'records/.keep': '' } });
  const ids = Array.from({ length: 10 }, (_, index) => `replaced${index}`);
  for (const id of ids) assert.equal((await appender.text(`/append?id=${id}&spin=300000`)).response.status, 504);
  const written = new Set(readFileSync(join(appender.dir, 'records', 'records.txt'), 'utf8').split('\n').map((line) => line.split(' ')[0]));
  const neverStarted = ids.filter((id) => !written.has(id));
  assert.deepEqual(neverStarted, [], `instances stopped at ${APPEND_TIMEOUT_MS} ms before they wrote anything`);
});
