import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ModuleStore, RunFailure, type CompiledModule, type RunSpec } from '../../src/runtime/index.js';
import { MIN_QUEUE_WAIT_MS, WorkerPool } from '../../src/runtime/worker-pool.js';
import { repoPath } from '../helpers/repo.js';

const INSTRUMENTS = repoPath('test/instruments');
const store = new ModuleStore({ maxModules: 8 });
const pools: WorkerPool[] = [];
after(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

function pool(size: number, maxQueue = 100): WorkerPool {
  const created = new WorkerPool({ size, maxQueue, maxModulesPerWorker: 8 });
  pools.push(created);
  return created;
}

function module(name: string): Promise<CompiledModule> {
  return store.get(join(INSTRUMENTS, `${name}.wasm`), 64);
}

function spec(params: Record<string, string> = {}): RunSpec {
  return {
    args: ['test'], env: {}, mounts: [], maxOutputBytes: 1 << 20,
    stdin: Buffer.from(JSON.stringify({ params, seed: 1 })),
  };
}

async function failureOf(promise: Promise<unknown>): Promise<RunFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RunFailure, String(error));
    return error;
  }
  assert.fail('expected the run to fail');
}

test('a run past its timeout is stopped and its worker replaced, and the pool keeps serving', async () => {
  const workers = pool(1);
  const started = performance.now();
  const failure = await failureOf(workers.run(await module('loop'), spec(), { group: 'loop', timeoutMs: 200 }));
  assert.equal(failure.code, 'WASIO_ERR_TIMEOUT');
  assert.ok(performance.now() - started < 2000);
  const outcome = await workers.run(await module('sleeper'), spec({ ms: '1' }), { group: 'sleeper', timeoutMs: 5000 });
  assert.equal(Buffer.from(outcome.stdout).toString(), 'slept');
  assert.equal(workers.stats().replaced, 1);
});

test('a route flooded with runaway jobs leaves a worker for another route at once', async () => {
  const workers = pool(2);
  const loop = await module('loop');
  const flood = Array.from({ length: 6 }, () => workers.run(loop, spec(), { group: 'flood', timeoutMs: 1500 }).catch((error: unknown) => error));
  const started = performance.now();
  const outcome = await workers.run(await module('sleeper'), spec({ ms: '1' }), { group: 'other', timeoutMs: 5000 });
  assert.equal(Buffer.from(outcome.stdout).toString(), 'slept');
  assert.ok(performance.now() - started < 1000, `the other route waited ${performance.now() - started} ms`);
  const results = await Promise.all(flood);
  assert.ok(results.every((result) => result instanceof RunFailure));
});

test('maxConcurrency keeps a route to that many running jobs', async () => {
  const workers = pool(2);
  const sleeper = await module('sleeper');
  const started = performance.now();
  await Promise.all([1, 2, 3].map(() => workers.run(sleeper, spec({ ms: '150' }), { group: 'one', maxConcurrency: 1, timeoutMs: 5000 })));
  // Three 150 ms sleeps one at a time take at least 450 ms; two at a time would take 300.
  assert.ok(performance.now() - started >= 440, `took ${performance.now() - started} ms`);
});

test('jobs past maxQueue are refused, and a job waits its timeout, at least MIN_QUEUE_WAIT_MS, for a worker', async () => {
  const workers = pool(1, 1);
  const sleeper = await module('sleeper');
  await workers.run(sleeper, spec({ ms: '1' }), { group: 'a', timeoutMs: 5000 });
  const running = workers.run(sleeper, spec({ ms: '1500' }), { group: 'a', timeoutMs: 5000 });
  const waiting = workers.run(sleeper, spec({ ms: '1' }), { group: 'a', timeoutMs: 100 });
  const refused = await failureOf(workers.run(sleeper, spec({ ms: '1' }), { group: 'a', timeoutMs: 5000 }));
  assert.equal(refused.code, 'WASIO_ERR_QUEUE_FULL');
  const expired = await failureOf(waiting);
  assert.equal(expired.code, 'WASIO_ERR_QUEUE_FULL');
  assert.match(expired.message, new RegExp(`no worker free within ${MIN_QUEUE_WAIT_MS} ms`));
  await running;
});

test('aborting a running job stops its guest; aborting a waiting one removes it', async () => {
  const workers = pool(1);
  const loop = await module('loop');
  const running = new AbortController();
  const waiting = new AbortController();
  const first = workers.run(loop, spec(), { group: 'a', timeoutMs: 10_000, signal: running.signal });
  const second = workers.run(loop, spec(), { group: 'a', timeoutMs: 10_000, signal: waiting.signal });
  waiting.abort();
  assert.equal((await failureOf(second)).code, 'WASIO_ERR_ABORTED');
  const started = performance.now();
  running.abort();
  assert.equal((await failureOf(first)).code, 'WASIO_ERR_ABORTED');
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual({ busy: workers.stats().busy, queued: workers.stats().queued }, { busy: 0, queued: 0 });
});

test('a job sent ahead to a busy worker is aborted without stopping the job that worker runs', async () => {
  const workers = pool(1);
  const sleeper = await module('sleeper');
  await workers.run(sleeper, spec({ ms: '1' }), { group: 'a', timeoutMs: 5000 });
  const running = workers.run(sleeper, spec({ ms: '300' }), { group: 'a', timeoutMs: 5000 });
  const aborted = new AbortController();
  const ahead = workers.run(sleeper, spec({ ms: '1' }), { group: 'a', timeoutMs: 5000, signal: aborted.signal });
  assert.equal(workers.stats().queued, 1, 'the second job waits, queued or sent ahead');
  aborted.abort();
  assert.equal((await failureOf(ahead)).code, 'WASIO_ERR_ABORTED');
  assert.equal(Buffer.from((await running).stdout).toString(), 'slept');
  assert.equal(workers.stats().replaced, 0);
  const after = await workers.run(sleeper, spec({ ms: '1' }), { group: 'a', timeoutMs: 5000 });
  assert.equal(Buffer.from(after.stdout).toString(), 'slept');
});

test('jobs sent ahead to a worker whose job turns out long are taken back and run elsewhere', async () => {
  const workers = pool(1);
  const sleeper = await module('sleeper');
  await workers.run(sleeper, spec({ ms: '1' }), { group: 'slow', timeoutMs: 5000 });
  const slow = workers.run(sleeper, spec({ ms: '3000' }), { group: 'slow', timeoutMs: 5000 });
  const started = performance.now();
  // Sent ahead while the slow job is young; once it has run LONG_RUN_MS they are taken back,
  // and an extra worker starts for their group, which has nothing running.
  const quick = await Promise.all([1, 2].map(() => workers.run(sleeper, spec({ ms: '1' }), { group: 'quick', timeoutMs: 5000 })));
  assert.ok(performance.now() - started < 2500, `the quick jobs waited ${performance.now() - started} ms behind the slow one`);
  assert.deepEqual(quick.map((outcome) => Buffer.from(outcome.stdout).toString()), ['slept', 'slept']);
  await slow;
});

test('under a mix of short, slow and runaway jobs, aborts and timeouts, every job settles as it should and the pool ends idle', async () => {
  const workers = pool(2, 10_000);
  const [echo, sleeper, loop] = await Promise.all(['echo', 'sleeper', 'loop'].map(module)) as [CompiledModule, CompiledModule, CompiledModule];
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  // What each kind may end with: short jobs never time out or wait their 10 s for a worker.
  const expected = {
    echo: ['ok', 'WASIO_ERR_ABORTED'],
    sleep: ['ok', 'WASIO_ERR_ABORTED', 'WASIO_ERR_QUEUE_FULL'],
    loop: ['WASIO_ERR_TIMEOUT', 'WASIO_ERR_ABORTED', 'WASIO_ERR_QUEUE_FULL'],
  };
  const settled: Promise<string>[] = [];
  for (let i = 0; i < 800; i++) {
    const roll = random();
    const kind = roll < 0.8 ? 'echo' : roll < 0.95 ? 'sleep' : 'loop';
    const aborter = new AbortController();
    const signal = aborter.signal;
    const job = kind === 'echo' ? workers.run(echo, spec(), { group: 'echo', timeoutMs: 10_000, signal })
      : kind === 'sleep' ? workers.run(sleeper, spec({ ms: String(Math.floor(random() * 80)) }), { group: 'sleep', timeoutMs: 10_000, signal, maxConcurrency: 1 })
        : workers.run(loop, spec(), { group: 'loop', timeoutMs: 100, signal });
    if (random() < 0.05) setTimeout(() => aborter.abort(), random() * 30);
    settled.push(job.then(() => 'ok', (error: unknown) => (error as RunFailure).code)
      .then((outcome) => expected[kind].includes(outcome) ? 'expected' : `${kind} job ${i}: ${outcome}`));
    if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, random() * 20));
  }
  const outcomes = await Promise.all(settled);
  assert.deepEqual(outcomes.filter((outcome) => outcome !== 'expected'), []);
  assert.deepEqual({ busy: workers.stats().busy, queued: workers.stats().queued }, { busy: 0, queued: 0 });
});

test('stdin reaches the guest exactly, small or large, pooled or not, and stays the caller\'s', async () => {
  const workers = pool(1);
  const echo = await module('echo');
  const large = Buffer.alloc(200_000, 'large stdin ');
  for (const stdin of [Buffer.from('{"a pooled":"buffer"}'), new TextEncoder().encode('exact'), large, new Uint8Array(0)]) {
    const before = Buffer.from(stdin);
    const outcome = await workers.run(echo, { ...spec(), stdin }, { group: 'echo', timeoutMs: 5000 });
    assert.ok(Buffer.from(outcome.stdout).equals(before), `${stdin.byteLength} bytes came back changed`);
    assert.ok(Buffer.from(stdin).equals(before), 'the caller\'s stdin was taken');
  }
});

test('jobs taken back and sent again, over and over, each run once and in the order the pool expects', async () => {
  // Jobs of about LONG_RUN_MS: sent ahead while the job before is young, taken back when it
  // turns long, sent again, often to the same worker.
  const workers = pool(2, 1000);
  const sleeper = await module('sleeper');
  let seed = 7;
  const outcomes = await Promise.all(Array.from({ length: 100 }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const ms = 30 + (seed % 40);
    return workers.run(sleeper, spec({ ms: String(ms) }), { group: 'about-long', timeoutMs: 20_000 })
      .then((outcome) => Buffer.from(outcome.stdout).toString(), (error: unknown) => (error as RunFailure).code);
  }));
  assert.deepEqual(outcomes.filter((outcome) => outcome !== 'slept'), []);
  assert.equal(workers.stats().replaced, 0);
});
