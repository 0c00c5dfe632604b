import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, runProbe, type ProbeRun } from '../helpers/wasi.js';

describe('file descriptors on a writable mount', () => {
  const mount = makeTempDir({ after });
  let run: ProbeRun;

  before(() => {
    run = runProbe('files', { mounts: [{ guest: '/data', host: mount }] });
  });

  /** The transcript lines from the one starting with `first` up to the one before `next`. */
  function section(first: string, next: string): string[] {
    const start = run.lines.findIndex((line) => line.startsWith(first));
    const end = run.lines.findIndex((line) => line.startsWith(next));
    assert.ok(start >= 0 && end > start, `no section ${first}..${next} in:\n${run.stdout}`);
    return run.lines.slice(start, end);
  }

  test('the probe runs to its end with every setup step succeeding', () => {
    assert.equal(run.exitCode, 0);
    assert.equal(run.lines.at(-1), 'done');
    assert.deepEqual(run.lines.filter((line) => line.startsWith('unexpected')), []);
  });

  test('prestat names the mount, and fds that are not preopens are badf', () => {
    assert.deepEqual(section('prestat data', 'open create'), [
      'prestat data ok dir /data',
      'prestat stdin badf',
      'prestat past-preopens badf',
    ]);
  });

  test('create, write, read, pwrite, pread, seek and tell behave like POSIX', () => {
    assert.deepEqual(section('open create', 'filestat'), [
      'open create ok',
      'open create-excl-existing exist',
      'write ok',
      'tell ok 11',
      'seek set-0 ok 0',
      'read ok hello world',
      'pwrite at-0 ok 5',
      'pread at-6 ok world',
      // pread and pwrite leave the offset where it was.
      'tell after-pread-pwrite 11',
      'seek end-minus-5 ok 6',
      'seek cur-plus-2 ok 8',
      'seek before-start inval',
      'content ok HELLO world',
    ]);
  });

  test('filestat_set_size truncates and zero-extends; allocate grows a file and never shrinks it', () => {
    assert.deepEqual(section('filestat', 'sync'), [
      'filestat ok regular_file size 11 nlink 1',
      'set_size 4 ok 4',
      'content ok HELL',
      'set_size 8 ok 8',
      'grown tail zeros 4',
      'allocate 0-100 ok 100',
      'allocate within ok 100',
    ]);
  });

  test('sync, datasync and advise succeed; an unknown advice is inval', () => {
    assert.deepEqual(section('sync', 'set_times'), [
      'sync ok',
      'datasync ok',
      'advise willneed ok',
      'advise bad-advice inval',
    ]);
  });

  test('fd_filestat_set_times sets exact times, sets "now", and refuses conflicting flags', () => {
    assert.deepEqual(section('set_times', 'close'), [
      'set_times ok atim-set mtim-set',
      'set_times mtim-now ok mtim-now atim-kept',
      'set_times conflicting-flags inval',
    ]);
  });

  test('a closed fd is badf, and O_TRUNC empties a file', () => {
    assert.deepEqual(section('close', 'open append'), [
      'close ok',
      'close again badf',
      'write closed badf',
      'open truncate ok',
      'size after-truncate 0',
    ]);
    assert.equal(readFileSync(join(mount, 'f.txt'), 'utf8'), '');
  });

  test('an append fd reports the append flag and writes at the end whatever the offset', () => {
    assert.deepEqual(section('open append', 'fdstat data-dir'), [
      'open append ok',
      'fdstat append-fd ok regular_file append can-write',
      'append content ok one,two',
    ]);
    assert.equal(readFileSync(join(mount, 'log.txt'), 'utf8'), 'one,two');
  });

  test('opening a missing file is noent and opening a file as a directory is notdir', () => {
    assert.deepEqual(section('fdstat data-dir', 'open list-dir'), [
      'fdstat data-dir ok directory',
      'open missing noent',
      'open file-as-directory notdir',
    ]);
  });

  test('fd_readdir lists every entry with its type when the buffer holds one entry at a time', () => {
    assert.deepEqual(section('open list-dir', 'open renumber-first'), [
      'open list-dir ok',
      'readdir ok entries 4',
      'entry alpha:regular_file',
      'entry beta:regular_file',
      'entry delta:directory',
      'entry gamma-with-a-longer-name:regular_file',
      'readdir on-file notdir',
    ]);
    assert.deepEqual(readdirSync(join(mount, 'list')).sort(), ['alpha', 'beta', 'delta', 'gamma-with-a-longer-name']);
    assert.ok(statSync(join(mount, 'list', 'delta')).isDirectory());
  });

  test('fd_renumber moves a descriptor onto another and frees the old number', () => {
    assert.deepEqual(section('open renumber-first', 'done'), [
      'open renumber-first ok',
      'open renumber-second ok',
      'renumber ok',
      'renumbered target reads ok first',
      'renumbered source badf',
      'renumber bad-source badf',
    ]);
    assert.equal(readFileSync(join(mount, 'second.txt'), 'utf8'), 'second');
  });
});

test('a guest that opens files without closing them is stopped at maxOpenFiles with mfile', (context) => {
  const mount = makeTempDir(context);
  const run = runProbe('fd_limit', { mounts: [{ guest: '/data', host: mount }], maxOpenFiles: 16 });
  // 16 descriptors: stdin, stdout, stderr and the preopen leave 12 for files.
  assert.deepEqual(run.lines, ['opened 12 then mfile', 'after close ok']);
});
