import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDir, probePath, REPO_ROOT } from '../helpers/wasi.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** Runs `wasio run ...` as a child process, as a person would from a shell. */
function wasioRun(args: readonly string[]) {
  const child = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 30_000, input: '' });
  if (child.error) throw child.error;
  return child;
}

test('wasio run exits with the status the module passed to proc_exit, with its output on the process\'s streams', () => {
  const child = wasioRun([probePath('exit')]);
  assert.equal(child.status, 3);
  assert.equal(child.stdout, 'before exit\n');
  assert.equal(child.stderr, 'exiting with 3\n');
});

test('wasio run exits non-zero with the trap reason on stderr when the module traps', () => {
  const child = wasioRun([probePath('trap'), 'unreachable']);
  assert.notEqual(child.status, 0);
  assert.equal(child.stdout, 'before trap unreachable\n');
  assert.match(child.stderr, /unreachable/);
});

test('wasio run passes arguments, --env and --stdin to the module', (context) => {
  const stdinFile = join(makeTempDir(context), 'stdin.txt');
  writeFileSync(stdinFile, 'from a file');
  const child = wasioRun(['--env', 'A=1', '--env', 'B=x=y', '--stdin', stdinFile, probePath('std_env'), 'first', '--not-an-option']);
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(child.stdout.split('\n'), [
    `arg 0 [${probePath('std_env')}]`, 'arg 1 [first]', 'arg 2 [--not-an-option]',
    'env A=[1]', 'env B=[x=y]',
    'stdin 11 bytes',
    'FROM A FILE',
  ]);
});

test('wasio run --dir HOST::GUEST:ro mounts read-only and --dir HOST::GUEST writable', (context) => {
  const root = makeTempDir(context);
  mkdirSync(join(root, 'ro', 'dir'), { recursive: true });
  mkdirSync(join(root, 'ro', 'empty'));
  mkdirSync(join(root, 'rw'));
  writeFileSync(join(root, 'ro', 'file.txt'), 'read-only');
  writeFileSync(join(root, 'ro', 'dir', 'inner.txt'), 'inner');
  symlinkSync('file.txt', join(root, 'ro', 'link'));
  const child = wasioRun(['--dir', `${join(root, 'ro')}::/ro:ro`, '--dir', `${join(root, 'rw')}::/rw`, probePath('readonly')]);
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stdout.split('\n');
  assert.ok(lines.includes('refused create rofs'), child.stdout);
  assert.ok(lines.includes('rw create ok'), child.stdout);
  assert.equal(readFileSync(join(root, 'ro', 'file.txt'), 'utf8'), 'read-only');
});
