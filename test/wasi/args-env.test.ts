import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runProbe } from '../helpers/wasi.js';

test('arguments reach the guest exactly, including empty, spaced and non-ASCII ones', () => {
  const run = runProbe('args_env', { args: ['args_env', '', ' spaced out ', 'é✓ 日本'] });
  assert.equal(run.exitCode, 0);
  assert.deepEqual(run.lines.filter((line) => line.startsWith('arg ')), [
    'arg count 4',
    'arg 0 [args_env]',
    'arg 1 []',
    'arg 2 [ spaced out ]',
    'arg 3 [é✓ 日本]',
    'arg bytes match',
  ]);
});

test('only the configured environment reaches the guest, never the host process\'s', () => {
  const run = runProbe('args_env', { env: { GREETING: 'hello world', EQUALS: 'a=b=c', EMPTY: '' } });
  assert.deepEqual(run.lines.filter((line) => line.startsWith('env ')), [
    'env count 3',
    'env 0 [GREETING=hello world]',
    'env 1 [EQUALS=a=b=c]',
    'env 2 [EMPTY=]',
    'env bytes match',
  ]);
});

test('a guest given no arguments and no environment sees two empty vectors', () => {
  const run = runProbe('args_env', { args: [] });
  assert.deepEqual(run.lines, ['arg count 0', 'arg bytes match', 'env count 0', 'env bytes match']);
});

test('a Rust program reads its arguments, environment and stdin through std', () => {
  const run = runProbe('std_env', {
    args: ['std_env', 'first', ''],
    env: { B: '2', A: 'one' },
    stdin: Buffer.from('shout this\n'),
  });
  assert.equal(run.exitCode, 0);
  assert.deepEqual(run.lines, [
    'arg 0 [std_env]', 'arg 1 [first]', 'arg 2 []',
    'env A=[one]', 'env B=[2]',
    'stdin 11 bytes',
    'SHOUT THIS',
  ]);
  assert.equal(run.stderr, 'to stderr\n');
});
