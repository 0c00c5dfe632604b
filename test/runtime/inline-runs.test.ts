import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { instanceEndChannel, ModuleStore, subscribe, type CompiledModule, type InstanceEndMessage, type RunSpec } from '../../src/runtime/index.js';
import { InlineRuns, SHORT_RUN_MS, TRUSTED_AFTER_RUNS } from '../../src/runtime/inline-runs.js';
import { WorkerPool } from '../../src/runtime/worker-pool.js';
import { repoPath } from '../helpers/repo.js';

const store = new ModuleStore({ maxModules: 8, meter: true });
const pools: WorkerPool[] = [];
after(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  store.close();
});

function instrument(name: string): Promise<CompiledModule> {
  return store.get(join(repoPath('test/instruments'), `${name}.wasm`), 64);
}

function example(name: string): Promise<CompiledModule> {
  return store.get(join(repoPath('examples/instruments'), `${name}.wasm`), 64);
}

function spec(params: Record<string, string> = {}, mounts: RunSpec['mounts'] = []): RunSpec {
  return { args: ['test'], env: {}, mounts, maxOutputBytes: 1 << 20, stdin: Buffer.from(JSON.stringify({ params, seed: 1 })) };
}

function trusted(runs: InlineRuns, module: CompiledModule): InlineRuns {
  for (let i = 0; i < TRUSTED_AFTER_RUNS; i++) runs.noteWorkerRun(module, SHORT_RUN_MS / 10);
  return runs;
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

test('a small module gets a metered twin; a large one does not, nor any from a store that does not meter', async () => {
  assert.ok((await example('tiny_hello')).metered !== undefined);
  assert.equal((await example('hello_world')).metered, undefined);
  const plain = new ModuleStore({ maxModules: 1 });
  assert.equal((await plain.get(join(repoPath('examples/instruments'), 'tiny_hello.wasm'), 64)).metered, undefined);
  plain.close();
});

test('a module runs on this thread only after enough short runs on workers, and gives the same answer', async () => {
  const tiny = await example('tiny_hello');
  const runs = new InlineRuns();
  for (let i = 0; i < TRUSTED_AFTER_RUNS; i++) {
    assert.equal(runs.tryRun(tiny, spec({ name: 'Ada' }), 10_000), undefined, `after ${i} short runs`);
    runs.noteWorkerRun(tiny, SHORT_RUN_MS / 10);
  }
  // The first runs here instantiate the twin and compile its code as they go: on a loaded
  // machine one can pass the budget and be handed back to a worker (undefined), which rightly
  // costs the module its trust; the trust is then given again, a few times at most.
  let result: ReturnType<InlineRuns['tryRun']>;
  for (let attempt = 0; attempt < 3 && result === undefined; attempt++) result = trusted(runs, tiny).tryRun(tiny, spec({ name: 'Ada' }), 10_000);
  assert.ok(result?.ok === true);
  assert.equal(result.exitCode, 0);
  assert.equal(text(result.stdout), 'Hello, Ada!\n');
  // Its memory is reused: a second run sees a fresh one all the same (trusted again, as above).
  const again = trusted(runs, tiny).tryRun(tiny, spec({ name: 'Bo' }), 10_000);
  assert.ok(again?.ok === true);
  assert.equal(text(again.stdout), 'Hello, Bo!\n');
});

test('one long or failed worker run takes the trust away', async () => {
  const tiny = await example('tiny_hello');
  const runs = trusted(new InlineRuns(), tiny);
  runs.noteWorkerRun(tiny, SHORT_RUN_MS * 2);
  assert.equal(runs.tryRun(tiny, spec(), 10_000), undefined);
  trusted(runs, tiny).noteWorkerRun(tiny, undefined);
  assert.equal(runs.tryRun(tiny, spec(), 10_000), undefined);
});

test('a run with files mounted, or on a route with a timeout too short to leave to fuel, goes to a worker', async () => {
  const tiny = await example('tiny_hello');
  const runs = trusted(new InlineRuns(), tiny);
  assert.equal(runs.tryRun(tiny, spec({}, [{ host: repoPath('examples'), guest: '/data', readonly: true }]), 10_000), undefined);
  assert.equal(runs.tryRun(tiny, spec(), 50), undefined);
  assert.ok(runs.tryRun(tiny, spec(), 10_000) !== undefined);
});

test('a runaway loop runs out of fuel at once, is handed back for a worker, and loses the trust', async () => {
  const loop = await instrument('loop');
  const runs = trusted(new InlineRuns(), loop);
  assert.equal(runs.tryRun(loop, spec(), 10_000), undefined);
  runs.noteWorkerRun(loop, SHORT_RUN_MS / 10);
  assert.equal(runs.tryRun(loop, spec(), 10_000), undefined, 'one short run does not give the trust back');
});

test('a guest that sleeps is handed back for a worker rather than blocking this thread', async () => {
  const sleeper = await instrument('sleeper');
  const runs = trusted(new InlineRuns(), sleeper);
  assert.equal(runs.tryRun(sleeper, spec({ ms: '30' }), 10_000), undefined);
});

test('a guest whose recursion overflows this thread\'s stack is handed back for a worker', async () => {
  const recurse = await instrument('recurse');
  const runs = trusted(new InlineRuns(), recurse);
  assert.equal(runs.tryRun(recurse, spec(), 10_000), undefined);
});

/** A pool of one worker, and the runs it announces, until `unsubscribe`. */
function watchedPool(inlineRuns: boolean, size = 1): { pool: WorkerPool; ends: InstanceEndMessage[]; unsubscribe: () => void } {
  const pool = new WorkerPool({ size, maxQueue: 10, maxModulesPerWorker: 8, inlineRuns });
  pools.push(pool);
  const ends: InstanceEndMessage[] = [];
  const unsubscribe = subscribe(instanceEndChannel, (message) => {
    if (message.pool === pool) ends.push(message);
  });
  return { pool, ends, unsubscribe };
}

test('a pool without inline runs sends every run to a worker', async () => {
  const tiny = await example('tiny_hello');
  const { pool, ends, unsubscribe } = watchedPool(false);
  try {
    for (let i = 0; i < 3 * TRUSTED_AFTER_RUNS; i++) await pool.run(tiny, spec({ name: `n${i}` }), { group: 'tiny', timeoutMs: 10_000 });
  } finally {
    unsubscribe();
  }
  assert.equal(ends.length, 3 * TRUSTED_AFTER_RUNS);
  assert.ok(ends.every((end) => !end.inline));
});

test('through the pool: a trusted module\'s runs skip the queue and are announced like any other', async () => {
  const tiny = await example('tiny_hello');
  const { pool, ends, unsubscribe } = watchedPool(true);
  try {
    // A worker's first runs may be slow (a cold thread), and a slow run starts the count again.
    for (let i = 0; i < 100 && !ends.some((end) => end.inline); i++) {
      const outcome = await pool.run(tiny, spec({ name: `n${i}` }), { group: 'tiny', timeoutMs: 10_000 });
      assert.equal(text(outcome.stdout), `Hello, n${i}!\n`);
    }
    const firstInline = ends.findIndex((end) => end.inline);
    assert.ok(firstInline >= TRUSTED_AFTER_RUNS, `first run on this thread: #${firstInline}`);
    assert.ok(ends.slice(firstInline - TRUSTED_AFTER_RUNS, firstInline).every((end) => !end.inline && end.runMs < SHORT_RUN_MS));
    const outcome = await pool.run(tiny, spec({ name: 'last' }), { group: 'tiny', timeoutMs: 10_000 });
    assert.equal(text(outcome.stdout), 'Hello, last!\n');
    assert.deepEqual({ ...ends.at(-1), pool: undefined }, { pool: undefined, group: 'tiny', queueMs: 0, runMs: outcome.runMs, exitCode: 0, failure: undefined, inline: true });
    const loop = await instrument('loop');
    const failure = await pool.run(loop, spec(), { group: 'loop', timeoutMs: 300 }).catch((error: unknown) => error);
    assert.equal((failure as { code?: string }).code, 'WASIO_ERR_TIMEOUT', 'an untrusted runaway still meets its timeout on a worker');
  } finally {
    unsubscribe();
  }
});

test('a route at its max_concurrency waits its turn: its runs are not made on this thread meanwhile', async () => {
  const tiny = await example('tiny_hello');
  const sleeper = await instrument('sleeper');
  const { pool, ends, unsubscribe } = watchedPool(true, 2);
  try {
    for (let i = 0; i < 100 && !ends.some((end) => end.inline); i++) await pool.run(tiny, spec({ name: 'warm' }), { group: 'route', timeoutMs: 10_000 });
    assert.ok(ends.some((end) => end.inline), 'tiny_hello earned its runs on this thread');
    const asleep = pool.run(sleeper, spec({ ms: '300' }), { group: 'route', maxConcurrency: 1, timeoutMs: 10_000 });
    const waited = pool.run(tiny, spec({ name: 'after' }), { group: 'route', maxConcurrency: 1, timeoutMs: 10_000 });
    const order: string[] = [];
    await Promise.all([asleep.then(() => order.push('sleeper')), waited.then(() => order.push('tiny'))]);
    assert.deepEqual(order, ['sleeper', 'tiny'], 'the second run of the route waited for the first');
    assert.equal(ends.at(-1)?.inline, false, 'and then ran on a worker');
    const free = await pool.run(tiny, spec({ name: 'free' }), { group: 'route', maxConcurrency: 1, timeoutMs: 10_000 });
    assert.equal(text(free.stdout), 'Hello, free!\n');
    assert.equal(ends.at(-1)?.inline, true, 'with room under max_concurrency, the run is made here again');
  } finally {
    unsubscribe();
  }
});
