import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { runProbe } from '../helpers/wasi.js';

/** FNV-1a over all bytes, as the probe computes it. */
function fnv1a(data: Uint8Array): number {
  let hash = 2166136261;
  for (const byte of data) hash = Math.imul(hash ^ byte, 16777619) >>> 0;
  return hash;
}

test('stdin is read to its end byte for byte, then stays at end of file', () => {
  const input = randomBytes(200_000);
  const run = runProbe('stdio', { stdin: input });
  assert.ok(run.lines.includes(`stdin bytes 200000 fnv1a ${fnv1a(input)} eof`), run.stdout);
  assert.ok(run.lines.includes('stdin after-eof eof'), run.stdout);
});

test('a guest given no stdin reads end of file at once', () => {
  const run = runProbe('stdio');
  assert.ok(run.lines.includes(`stdin bytes 0 fnv1a ${fnv1a(new Uint8Array(0))} eof`), run.stdout);
});

test('a gathering write comes out whole and in order on stdout, and stderr is kept apart', () => {
  const run = runProbe('stdio');
  assert.ok(run.lines.includes('gathered'), run.stdout);
  assert.ok(run.lines.includes('stdout gather-write ok 9'), run.stdout);
  assert.equal(run.stderr, 'stderr line\n');
});

test('fd_fdstat_get on 0, 1 and 2 reports character devices that read and write as they should', () => {
  const fdstats = runProbe('stdio').lines.filter((line) => line.startsWith('fdstat '));
  assert.equal(fdstats.length, 3, fdstats.join('\n'));
  assert.match(fdstats[0] ?? '', /^fdstat 0 character_device can-read /);
  assert.match(fdstats[1] ?? '', /^fdstat 1 character_device .* can-write$/);
  assert.match(fdstats[2] ?? '', /^fdstat 2 character_device .* can-write$/);
});

test('reading or writing a descriptor that was never opened fails with badf', () => {
  const run = runProbe('stdio');
  assert.ok(run.lines.includes('read fd-99 badf'), run.stdout);
  assert.ok(run.lines.includes('write fd-99 badf'), run.stdout);
});
