import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runProbe } from '../helpers/wasi.js';

test('random_get fills buffers of any size with fresh, varied bytes', () => {
  assert.deepEqual(runProbe('random').lines, [
    'random empty ok',
    'random 32 ok varied',
    'random again ok differs',
    'random 65536 ok varied',
  ]);
});
