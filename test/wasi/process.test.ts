import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCommand } from '../../src/wasi/index.js';
import { runProbe, runProbeToError } from '../helpers/wasi.js';

test('proc_exit ends the run with its code, after the guest\'s output, and nothing runs after it', () => {
  const run = runProbe('exit');
  assert.equal(run.exitCode, 3);
  assert.deepEqual(run.lines, ['before exit']);
  assert.equal(run.stderr, 'exiting with 3\n');
});

test('proc_exit(0) is a normal end with exit code 0', () => {
  assert.equal(runProbe('exit', { args: ['exit', '0'] }).exitCode, 0);
});

for (const [kind, reason] of [
  ['unreachable', 'unreachable'],
  ['stack-overflow', 'stack overflow'],
  ['out-of-bounds', 'out of bounds memory access'],
] as const) {
  test(`a guest that traps on ${reason} fails with WASIO_ERR_TRAP, keeping what it printed before`, () => {
    const { error, lines } = runProbeToError('trap', { args: ['trap', kind] });
    assert.equal(error.code, 'WASIO_ERR_TRAP');
    assert.equal((error as { reason?: unknown }).reason, reason);
    assert.deepEqual(lines, [`before trap ${kind}`]);
  });
}

test('a Rust panic prints its message on stderr and then traps on unreachable', () => {
  const { error, lines, stderr } = runProbeToError('panic');
  assert.equal(error.code, 'WASIO_ERR_TRAP');
  assert.equal((error as { reason?: unknown }).reason, 'unreachable');
  assert.deepEqual(lines, ['before panic']);
  assert.match(stderr, /panicked at 'probe panic'/);
});

test('proc_raise fails the run with WASIO_ERR_PROC_RAISE and the signal, and never signals the host', () => {
  const { error, lines } = runProbeToError('raise');
  assert.equal(error.code, 'WASIO_ERR_PROC_RAISE');
  assert.equal((error as { signal?: unknown }).signal, 15);
  assert.deepEqual(lines, ['before raise']);
});

for (const stream of ['stdout', 'stderr', 'both'] as const) {
  test(`a guest that writes forever to ${stream} is stopped at maxOutputBytes with WASIO_ERR_OUTPUT_LIMIT`, () => {
    const limit = 64 * 1024;
    const { error, stdout, stderr } = runProbeToError('flood', { args: ['flood', stream], maxOutputBytes: limit });
    assert.equal(error.code, 'WASIO_ERR_OUTPUT_LIMIT');
    const total = Buffer.byteLength(stdout) + Buffer.byteLength(stderr);
    assert.ok(total <= limit, `${total} bytes captured past a limit of ${limit}`);
    // Everything up to the last whole block before the limit still arrives.
    assert.ok(total > limit - 2 * 4096, `only ${total} bytes captured`);
  });
}

test('a module that imports something the host does not provide fails with WASIO_ERR_LINK', () => {
  // (module (import "env" "missing" (func))), written out by hand.
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
    0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x07, 0x6d, 0x69, 0x73, 0x73, 0x69, 0x6e, 0x67, 0x00, 0x00,
  ]);
  assert.throws(() => runCommand(new WebAssembly.Module(bytes)), (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, 'WASIO_ERR_LINK');
    assert.match((error as Error).message, /env\.missing/);
    return true;
  });
});
