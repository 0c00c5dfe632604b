import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { linesStartingWith, makeEscapeLayout, makeTempDir, runProbe, snapshotTree, SUB_FILE_TEXT, type ProbeRun } from '../helpers/wasi.js';

describe('a Rust program using std::fs on a mount', () => {
  const root = makeTempDir({ after });
  const { outside, mount } = makeEscapeLayout(root);
  const outsideBefore = snapshotTree(outside);
  let run: ProbeRun;

  before(() => {
    run = runProbe('std_fs', { mounts: [{ guest: '/data', host: mount }] });
  });

  test('writes, appends, seeks, lists, renames, links, copies and removes files as on any OS', () => {
    assert.equal(run.exitCode, 0);
    const ordinary = run.lines.slice(0, run.lines.findIndex((line) => line.startsWith('escape ')));
    assert.deepEqual(ordinary, [
      'write ok',
      'read hello from rust',
      'append ok',
      'read hello from rust again',
      'seek-read-set_len 3456 len 5',
      'metadata is_file true',
      'create_dir_all ok',
      'write deep ok',
      'rename ok',
      'exists old-name false',
      'hard_link ok',
      'copy 21',
      'read_link planted sub',
      `read through planted inner link ${SUB_FILE_TEXT}`,
      'list /data a,abs,chain,copy.txt,etc,inner,inside.txt,linked.txt,renamed.txt,rw.bin,sub,up,up-file',
      'remove_file ok',
      'remove_dir_all ok',
      'remove_dir missing err noent',
    ]);
    assert.equal(readFileSync(join(mount, 'renamed.txt'), 'utf8'), 'hello from rust again');
    assert.deepEqual(readdirSync(mount).sort(),
      ['abs', 'chain', 'etc', 'inner', 'inside.txt', 'linked.txt', 'renamed.txt', 'rw.bin', 'sub', 'up', 'up-file']);
  });

  test('every way out through std::fs fails with notcapable (errno 76) and changes nothing outside', () => {
    const escapes = linesStartingWith(run.lines, 'escape');
    assert.equal(escapes.length, 15, run.stdout);
    assert.deepEqual(escapes.filter((line) => !line.endsWith(' err notcapable')), []);
    assert.equal(run.lines.at(-1), 'done');
    assert.deepEqual(snapshotTree(outside), outsideBefore);
  });
});
