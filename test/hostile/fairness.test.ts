/**
 * Fairness without any limit configured (no max_concurrency, the default queue): a flood of
 * runaway requests to one route must not hold back another route. The pool gives a route
 * with nothing running a thread of its own when every worker is taken.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exampleInstrument, startServer, testInstrument, waitUntil } from '../helpers/server.js';

const LOOP_TIMEOUT_MS = 2_000;

const server = await startServer({
  routes: {
    '/loop': { wasm_file: testInstrument('loop'), timeout_ms: LOOP_TIMEOUT_MS },
    '/tiny': { wasm_file: exampleInstrument('tiny_hello') },
    '/echo': { wasm_file: testInstrument('echo') },
  },
});

async function workersBusy(): Promise<number> {
  const response = await server.request('/stats');
  return ((await response.json()) as { workers: { busy: number } }).workers.busy;
}

/** GETs `path` and returns its status, body and time to the whole answer. */
async function timed(path: string): Promise<{ status: number; body: string; elapsedMs: number }> {
  const started = performance.now();
  const { response, body } = await server.text(path);
  return { status: response.status, body, elapsedMs: performance.now() - started };
}

interface Flood {
  /** Loop requests answered so far. */
  answered(): number;
  /** Waits for every loop's answer and checks each was stopped (504) or never got a worker (503). */
  settle(): Promise<void>;
}

/** Six requests to the loop route at once, resolved when they hold every regular worker. */
async function floodWithLoops(): Promise<Flood> {
  let answered = 0;
  const started = performance.now();
  const loops = Array.from({ length: 6 }, () => timed('/loop').finally(() => {
    answered += 1;
  }));
  await waitUntil(async () => (await workersBusy()) >= 2, 'the loops to take every worker', 1_000);
  return {
    answered: () => answered,
    async settle() {
      const answers = await Promise.all(loops);
      const elapsedMs = performance.now() - started;
      // The running ones hit their timeout (504); waiting ones wait at most as long (503).
      for (const answer of answers) assert.ok([503, 504].includes(answer.status), `a loop answered ${answer.status}: ${answer.body}`);
      assert.ok(answers.some((answer) => answer.status === 504), 'the running loops were stopped by their timeout');
      assert.ok(elapsedMs < 3 * LOOP_TIMEOUT_MS + 1_000, `the loops were all answered after ${Math.round(elapsedMs)} ms`);
    },
  };
}

/** `paths` in turn, each answered 200 within a second. */
async function assertQuickAnswers(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const answer = await timed(path);
    assert.equal(answer.status, 200, `${path}: ${answer.body}`);
    assert.ok(answer.elapsedMs < 1_000, `${path} took ${Math.round(answer.elapsedMs)} ms with the loops running`);
  }
}

test('six runaway requests to one route do not keep another route waiting', async () => {
  // Compiled and served once, so what is timed below is the wait for a thread.
  await assertQuickAnswers(['/tiny', '/echo']);
  const flood = await floodWithLoops();
  await assertQuickAnswers(['/tiny?name=Fair', '/echo']);
  assert.equal(flood.answered(), 0, 'the other routes were answered while every loop was still running or waiting');
  await flood.settle();
  assert.equal((await server.text('/health')).response.status, 200);
});

test('other routes keep answering quickly, request after request, while the runaway requests last', async () => {
  const flood = await floodWithLoops();
  await assertQuickAnswers(['/tiny?name=One', '/echo', '/tiny?name=Two', '/echo', '/tiny?name=Three']);
  assert.equal(flood.answered(), 0, 'the other routes were answered while every loop was still running or waiting');
  await flood.settle();
  assert.equal((await server.text('/health')).response.status, 200);
});
