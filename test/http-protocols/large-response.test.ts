/**
 * A 10 MiB response: it arrives whole and exact, and costs the server at most about twice its
 * size in resident memory (the guest's output collected once, then handed to the socket
 * without further copies). The server runs as its own process (`wasio serve`), so its memory
 * is not mixed with the test's, and the peak is read from the kernel (VmHWM), which sees a
 * short-lived spike that sampling would miss.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startChildServer, writeConfig } from '../helpers/server.js';
import { checkStreamedBody, protocolInstrument, requestIdOf, residentMemory, resetPeakMemory } from './support.js';

const BODY_BYTES = 10 * 1024 * 1024;
/**
 * What a response of BODY_BYTES may add to the server's peak resident memory: the output held
 * once in the worker and once more while it is joined into one buffer (2x today), with room for
 * the noise of the heap, but not for a third copy.
 */
const GROWTH_LIMIT = 2.5 * BODY_BYTES;
/** byte i of big_output's output */
const pattern = (index: number): number => index % 251;

const { configFile } = writeConfig({
  workers: 1,
  routes: {
    '/big': { wasm_file: protocolInstrument('big_output'), args: [String(BODY_BYTES)] },
    '/tiny': { wasm_file: protocolInstrument('big_output'), args: ['1'] },
  },
});
const server = await startChildServer(configFile);
const pid = server.child.pid ?? assert.fail('the server has no pid');

test('a 10 MiB response arrives whole: status 200, exact length, every byte right', async () => {
  const response = await server.request('/big');
  assert.equal(response.status, 200);
  requestIdOf(response);
  assert.equal(response.headers.get('content-length'), String(BODY_BYTES));
  assert.equal(response.headers.get('content-type'), 'application/octet-stream', 'sniffed: binary');
  assert.equal(await checkStreamedBody(response, pattern), BODY_BYTES);
});

test('a 10 MiB response costs the server at most ~2x its size in resident memory', async (t) => {
  // Worker started, module instantiated once: what stays after the first run is not the response's.
  await (await server.request('/tiny')).arrayBuffer();
  const growths: number[] = [];
  for (let run = 0; run < 3; run++) {
    resetPeakMemory(pid);
    const before = residentMemory(pid).current;
    const response = await server.request('/big');
    assert.equal(response.status, 200);
    assert.equal(await checkStreamedBody(response, pattern), BODY_BYTES);
    growths.push(residentMemory(pid).peak - before);
  }
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  t.diagnostic(`peak resident memory growth per 10 MiB response: ${growths.map(mib).join(', ')} MiB`);
  const worst = Math.max(...growths);
  assert.ok(worst <= GROWTH_LIMIT, `a 10 MiB response grew the server by ${mib(worst)} MiB at its peak (limit ${mib(GROWTH_LIMIT)} MiB)`);
});
