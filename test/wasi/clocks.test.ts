import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { before, describe, test } from 'node:test';
import { DeadlineError } from '../../src/wasi/index.js';
import { runProbe, runProbeToError, type ProbeRun } from '../helpers/wasi.js';

describe('clocks and poll_oneoff', () => {
  let run: ProbeRun;
  let hostElapsedMs: number;

  before(() => {
    const started = performance.now();
    run = runProbe('clocks', { stdin: Buffer.from('ready to read') });
    hostElapsedMs = performance.now() - started;
  });

  test('every clock id gives a positive resolution and time; an unknown id is inval', () => {
    const expected = ['realtime', 'monotonic', 'process_cputime', 'thread_cputime'].flatMap((clock) => [
      `clock ${clock} res ok positive`,
      `clock ${clock} time ok positive`,
    ]);
    assert.deepEqual(run.lines.filter((line) => line.startsWith('clock ')), [...expected, 'clock invalid-id res inval']);
  });

  test('the realtime clock tells the current date and the monotonic clock moves forward', () => {
    assert.ok(run.lines.includes('realtime plausible'), run.stdout);
    assert.ok(run.lines.includes('monotonic increases'), run.stdout);
  });

  test('a 50 ms clock subscription waits at least 50 ms and reports its own event', () => {
    assert.ok(run.lines.includes('poll sleep-50ms ok type-clock userdata-kept waited'), run.stdout);
    // The guest also sleeps 20 ms on an absolute deadline: the run cannot be shorter than both.
    assert.ok(hostElapsedMs >= 50, `the whole run took ${hostElapsedMs} ms`);
  });

  test('a subscription on an absolute monotonic deadline waits until it', () => {
    assert.ok(run.lines.includes('poll abstime-20ms ok type-clock userdata-kept waited'), run.stdout);
  });

  test('an fd_read subscription on stdin with data pending reports it ready', () => {
    assert.deepEqual(run.lines.filter((line) => line.startsWith('poll stdin')), ['poll stdin ok ready']);
  });

  test('poll_oneoff with no subscriptions is refused with inval, and sched_yield succeeds', () => {
    assert.ok(run.lines.includes('poll no-subscriptions inval'), run.stdout);
    assert.ok(run.lines.includes('sched_yield ok'), run.stdout);
  });
});

describe('a run with a deadline', () => {
  test('that asks to sleep past its deadline is stopped at once with WASIO_ERR_DEADLINE', () => {
    // The same probe runs to its end without a deadline (above), and its first sleep is 50 ms.
    const started = performance.now();
    const { error } = runProbeToError('clocks', { stdin: Buffer.from('ready to read'), deadline: started + 30 });
    assert.ok(error instanceof DeadlineError);
    assert.equal(error.code, 'WASIO_ERR_DEADLINE');
    assert.ok(performance.now() - started < 50, 'it did not sleep its 50 ms first');
  });

  test('that has passed is stopped at the next WASI call', () => {
    const { error } = runProbeToError('clocks', { stdin: Buffer.from('ready to read'), deadline: performance.now() - 1 });
    assert.equal(error.code, 'WASIO_ERR_DEADLINE');
  });

  test('far enough ahead changes nothing', () => {
    const run = runProbe('clocks', { stdin: Buffer.from('ready to read'), deadline: performance.now() + 60_000 });
    assert.ok(run.lines.includes('poll sleep-50ms ok type-clock userdata-kept waited'), run.stdout);
  });
});
