import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { linesStartingWith, makeTempDir, outcome, runProbe, snapshotTree, type ProbeRun } from '../helpers/wasi.js';

describe('a read-only mount', () => {
  const root = makeTempDir({ after });
  const readonlyDir = join(root, 'ro');
  const writableDir = join(root, 'rw');
  mkdirSync(join(readonlyDir, 'dir'), { recursive: true });
  mkdirSync(join(readonlyDir, 'empty'));
  mkdirSync(writableDir);
  writeFileSync(join(readonlyDir, 'file.txt'), 'read-only');
  writeFileSync(join(readonlyDir, 'dir', 'inner.txt'), 'inner');
  symlinkSync('file.txt', join(readonlyDir, 'link'));
  const readonlyBefore = snapshotTree(readonlyDir);
  let run: ProbeRun;

  before(() => {
    run = runProbe('readonly', {
      mounts: [{ guest: '/ro', host: readonlyDir, readonly: true }, { guest: '/rw', host: writableDir }],
    });
  });

  test('the probe runs to its end', () => {
    assert.equal(run.exitCode, 0);
    assert.equal(run.lines.at(-1), 'done');
    assert.deepEqual(run.lines.filter((line) => line.startsWith('unexpected')), []);
  });

  test('reads work: open, read, stat, readlink and readdir', () => {
    assert.deepEqual(linesStartingWith(run.lines, 'read'), [
      'read open-read file.txt ok read-only',
      'read open-read link ok',
      'read stat dir/inner.txt ok',
      'read readlink link ok',
      'read readdir dir ok',
    ]);
  });

  test('every change by path is refused with rofs: create, open for write, O_TRUNC, mkdir, rmdir, unlink, rename, link, symlink, set times', () => {
    const refused = linesStartingWith(run.lines, 'refused');
    assert.equal(refused.length, 17, run.stdout);
    assert.deepEqual(refused.filter((line) => outcome(line) !== 'rofs'), []);
  });

  test('an fd that could only be opened for reading refuses write, pwrite, set size, allocate and set times', () => {
    const refused = linesStartingWith(run.lines, 'refused-fd');
    assert.equal(refused.length, 5, run.stdout);
    // Refused either by the mount (rofs) or because the fd never got the right (notcapable, badf).
    assert.deepEqual(refused.filter((line) => !['rofs', 'notcapable', 'badf'].includes(outcome(line))), []);
  });

  test('a rename or hard link between the read-only and a writable mount is refused with rofs', () => {
    assert.deepEqual(linesStartingWith(run.lines, 'refused-cross'), [
      'refused-cross rename-out-of-ro rofs',
      'refused-cross rename-into-ro rofs',
      'refused-cross link-into-ro rofs',
    ]);
  });

  test('nothing in the read-only tree changes, while the writable mount next to it takes writes', () => {
    assert.deepEqual(snapshotTree(readonlyDir), readonlyBefore);
    assert.deepEqual(linesStartingWith(run.lines, 'rw'), ['rw create ok']);
    assert.equal(readFileSync(join(writableDir, 'ok.txt'), 'utf8'), 'writable');
  });
});
