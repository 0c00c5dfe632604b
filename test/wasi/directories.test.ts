import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { makeTempDir, runProbe } from '../helpers/wasi.js';

test('directory, rename, link, symlink and time calls behave like POSIX and clean up after themselves', (context) => {
  const mount = makeTempDir(context);
  const run = runProbe('dirs', { mounts: [{ guest: '/data', host: mount }] });
  assert.equal(run.exitCode, 0);
  assert.deepEqual(run.lines, [
    'mkdir d ok',
    'mkdir d again exist',
    'mkdir d/e ok',
    'mkdir missing-parent noent',
    'create d/f.txt ok',
    'stat follow d ok directory',
    'rmdir non-empty notempty',
    'rmdir file notdir',
    'unlink directory isdir',
    'unlink missing noent',
    'rmdir d/e ok',
    'rename file ok',
    'stat follow d/f.txt noent',
    'read g.txt ok payload',
    'rename missing noent',
    'rename dir ok',
    'create over.txt ok',
    'rename over-existing ok',
    'read over.txt ok payload',
    'link ok',
    'stat follow hard.txt ok regular_file size 7 nlink 2',
    'link onto-existing exist',
    'symlink ok',
    'symlink to-dir ok',
    'readlink s ok over.txt',
    'readlink over.txt inval -',
    'stat nofollow s ok symbolic_link',
    'stat follow s ok regular_file size 7 nlink 2',
    'read s ok payload',
    'create sd/inside.txt ok',
    'read d2/inside.txt ok via-link',
    'symlink dangling ok',
    'stat nofollow dangling ok symbolic_link',
    'stat follow dangling noent',
    'set_times ok atim-set mtim-set',
    'set_times through-symlink now ok mtim-now',
    'set_times missing noent',
    'unlink symlink ok',
    'stat follow over.txt ok regular_file size 7 nlink 2',
    'unlink hard ok',
    'stat follow over.txt ok regular_file size 7 nlink 1',
    'unlink ok',
    'unlink dangling ok',
    'unlink dir-symlink ok',
    'unlink d2/inside.txt ok',
    'rmdir d2 ok',
    'stat follow d2 noent',
    'done',
  ]);
  assert.deepEqual(readdirSync(mount), []);
});
