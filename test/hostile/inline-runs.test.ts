/**
 * Runs on the HTTP thread, over HTTP: with two HTTP processes, short runs of small modules are
 * made by the process that parsed the request, and a trusted module whose run turns out long
 * (a loop past its fuel, a sleep past the 10 ms budget) is run again on a worker, where its
 * route's timeout holds, while the server keeps answering.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { test } from 'node:test';
import { exampleInstrument, startChildServer, testInstrument, writeConfig, type ChildServer } from '../helpers/server.js';

/** GET on a connection of its own, so requests are spread over both processes. */
function getOnNewConnection(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** The value of a metric series of `/metrics` (summed over both processes), 0 when it is absent. */
async function metric(server: ChildServer, series: string): Promise<number> {
  const text = (await server.text('/metrics')).body;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Sends `count` requests to `path` on new connections, each answered 200 with `expected`. */
async function earnTrust(server: ChildServer, path: string, expected: string, count = 40): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { status, body } = await getOnNewConnection(`${server.url}${path}`);
    assert.equal(status, 200, `${path}: ${body}`);
    assert.equal(body, expected);
  }
}

const TIMEOUT_MS = 400;
const { configFile } = writeConfig({
  workers: 2,
  routes: {
    '/tiny': { wasm_file: exampleInstrument('tiny_hello') },
    '/spin': { wasm_file: testInstrument('spin'), timeout_ms: TIMEOUT_MS },
    '/sleep': { wasm_file: testInstrument('sleeper'), timeout_ms: 5_000 },
  },
});
const server = await startChildServer(configFile, 20_000, ['--processes', '2']);

test('short runs of a small module move to the HTTP thread and answer just as workers did', async () => {
  for (let i = 0; i < 60; i++) {
    const { status, body } = await getOnNewConnection(`${server.url}/tiny?name=n${i}`);
    assert.equal(status, 200);
    assert.equal(body, `Hello, n${i}!\n`);
  }
  const inline = await metric(server, 'wasio_inline_runs_total{route="/tiny"}');
  assert.ok(inline > 0 && inline <= 60 - 2 * 8, `${inline} of 60 runs on the HTTP thread, after 8 on a worker in each process`);
});

test('a trusted module whose run spins past its fuel is run again on a worker and meets its timeout', async () => {
  await earnTrust(server, '/spin?n=0', 'spun 0');
  assert.ok(await metric(server, 'wasio_inline_runs_total{route="/spin"}') > 0, 'the short spins ran on the HTTP thread');
  const started = performance.now();
  const [runaway, tiny] = await Promise.all([
    getOnNewConnection(`${server.url}/spin?n=100000000000`),
    getOnNewConnection(`${server.url}/tiny?name=meanwhile`),
  ]);
  assert.equal(runaway.status, 504, runaway.body);
  assert.ok(performance.now() - started >= TIMEOUT_MS, 'stopped by the route\'s timeout, on a worker');
  assert.deepEqual(tiny, { status: 200, body: 'Hello, meanwhile!\n' });
  assert.equal(await metric(server, 'wasio_limit_breaches_total{kind="timeout",route="/spin"}'), 1);
  // A spin that fuel would stop on the HTTP thread but a worker finishes well within the timeout.
  assert.deepEqual(await getOnNewConnection(`${server.url}/spin?n=5000000`), { status: 200, body: 'spun 5000000' });
});

test('a trusted module that asks to sleep past the budget is run again on a worker, and sleeps', async () => {
  await earnTrust(server, '/sleep?ms=0', 'slept');
  assert.ok(await metric(server, 'wasio_inline_runs_total{route="/sleep"}') > 0, 'the short sleeps ran on the HTTP thread');
  const started = performance.now();
  assert.deepEqual(await getOnNewConnection(`${server.url}/sleep?ms=200`), { status: 200, body: 'slept' });
  assert.ok(performance.now() - started >= 200);
});
