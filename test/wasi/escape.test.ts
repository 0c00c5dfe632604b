import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { INSIDE_TEXT, linesStartingWith, makeEscapeLayout, makeTempDir, runProbe, snapshotTree, type ProbeRun } from '../helpers/wasi.js';

/** One line of the escape probe: "<kind> <op> <path> <result> [details]". */
interface Attempt {
  readonly kind: string;
  readonly op: string;
  readonly path: string;
  readonly result: string;
  readonly line: string;
}

function parseAttempt(line: string): Attempt {
  const [kind = '', op = '', path = '', result = ''] = line.split(' ');
  return { kind, op, path, result, line };
}

type Route = 'absolute path' | 'relative symlink to a directory' | 'relative symlink to a file' | 'absolute symlink' | 'dot-dot';

/** Names of the planted links, by the route they stand for. */
const RELATIVE_DIRECTORY_LINKS = new Set(['up', 'chain', 'deep']);
const RELATIVE_FILE_LINKS = new Set(['up-file']);
const ABSOLUTE_LINKS = new Set(['abs', 'etc']);

/** The way out a path tries; a path through a planted link counts as that link's route. */
function routeOf(path: string): Route | undefined {
  if (path.startsWith('/')) return 'absolute path';
  const parts = path.split('/');
  if (parts.some((part) => RELATIVE_DIRECTORY_LINKS.has(part))) return 'relative symlink to a directory';
  if (parts.some((part) => RELATIVE_FILE_LINKS.has(part))) return 'relative symlink to a file';
  if (parts.some((part) => ABSOLUTE_LINKS.has(part))) return 'absolute symlink';
  if (parts.includes('..')) return 'dot-dot';
  return undefined;
}

describe('a guest cannot leave its mount', () => {
  const root = makeTempDir({ after });
  const { outside, mount } = makeEscapeLayout(root);
  const outsideBefore = snapshotTree(outside);
  let run: ProbeRun;
  let attempts: Attempt[];
  let escapes: Attempt[];

  before(() => {
    run = runProbe('escape', { args: ['escape', outside], mounts: [{ guest: '/data', host: mount }] });
    attempts = run.lines.map(parseAttempt);
    escapes = attempts.filter((attempt) => attempt.kind === 'escape');
  });

  /** Asserts there are such attempts and that each was refused with notcapable. */
  function assertAllNotCapable(selected: readonly Attempt[], what: string): void {
    assert.ok(selected.length > 0, `the probe made no attempt by ${what}`);
    assert.deepEqual(selected.filter((attempt) => attempt.result !== 'notcapable').map((attempt) => attempt.line), [],
      `routes out by ${what} that were not refused with notcapable`);
  }

  test('the probe makes every attempt and runs to its end', () => {
    assert.equal(run.exitCode, 0);
    assert.equal(run.lines.at(-1), 'done');
    assert.deepEqual(run.lines.filter((line) => line.startsWith('unexpected')), []);
    assert.ok(escapes.length >= 100, `only ${escapes.length} attempts`);
  });

  test('paths that stay inside work: plain, "./", ".." that stays inside, a symlink to a sibling directory', () => {
    const controls = attempts.filter((attempt) => attempt.kind === 'control');
    assert.deepEqual(controls.map((attempt) => `${attempt.op} ${attempt.path} ${attempt.result}`), [
      'open-read inside.txt ok',
      'open-read ./inside.txt ok',
      'open-read sub/../inside.txt ok',
      'open-read sub/file.txt ok',
      'open-read inner/file.txt ok',
      'stat-nofollow up ok',
      'opendir . ok',
      'create sub/created.txt ok',
      'opendir sub ok',
    ]);
  });

  for (const [route, name] of [
    ['dot-dot', '".." past the mount root is refused with notcapable'],
    ['absolute path', 'an absolute path, even the real host path of a directory outside, is refused with notcapable'],
    ['relative symlink to a directory', 'a relative host symlink to a directory outside the mount (also chained, or in a subdirectory) is refused with notcapable'],
    ['relative symlink to a file', 'a relative host symlink to a file outside the mount is refused with notcapable'],
    ['absolute symlink', 'an absolute host symlink to a directory outside the mount or to /etc is refused with notcapable'],
  ] as const) {
    test(name, () => {
      assertAllNotCapable(escapes.filter((attempt) => routeOf(attempt.path) === route), route);
    });
  }

  test('every way out the probe tried belongs to one of the routes above', () => {
    assert.deepEqual(escapes.filter((attempt) => routeOf(attempt.path) === undefined).map((attempt) => attempt.line), []);
  });

  test('reading, listing, creating, truncating, removing and touching through a way out are all refused', () => {
    const ops = new Set(escapes.map((attempt) => attempt.op));
    for (const op of ['open-read', 'open-read-nofollow', 'stat', 'opendir', 'create', 'open-write-trunc', 'mkdir',
      'rmdir', 'unlink', 'set-times', 'readlink', 'symlink-at']) {
      assert.ok(ops.has(op), `no attempt by ${op}`);
      assertAllNotCapable(escapes.filter((attempt) => attempt.op === op), op);
    }
  });

  test('renames and hard links across the mount boundary are refused in both directions', () => {
    const crossing = escapes.filter((attempt) => /^(rename|link)-/.test(attempt.op));
    assert.deepEqual([...new Set(crossing.map((attempt) => attempt.op))].sort(),
      ['link-in', 'link-in-follow', 'link-out', 'rename-dir-out', 'rename-in', 'rename-out']);
    assertAllNotCapable(crossing, 'rename or link');
  });

  test('a directory fd opened below the root leads no further out than the root', () => {
    assertAllNotCapable(escapes.filter((attempt) => attempt.op.startsWith('subdir-')), 'a subdirectory fd');
  });

  test('symlinks the guest makes itself may be created but never lead out', () => {
    // "guest-symlink <name> <result>"
    const created = new Map(linesStartingWith(run.lines, 'guest-symlink').map((line) => {
      const [, name = '', result = ''] = line.split(' ');
      return [name, result];
    }));
    assert.equal(created.size, 5, run.stdout);
    for (const [name, result] of created) assert.ok(['ok', 'notcapable'].includes(result), `symlink ${name}: ${result}`);
    const followed = attempts.filter((attempt) => attempt.kind === 'via-guest');
    assert.ok(followed.length > 0);
    for (const attempt of followed) {
      const link = [...created.keys()].find((name) => attempt.path === name || attempt.path.startsWith(`${name}/`));
      assert.ok(link !== undefined, attempt.line);
      // A link the host refused to create does not exist, so using it finds nothing.
      const allowed = created.get(link) === 'ok' ? ['notcapable'] : ['notcapable', 'noent'];
      assert.ok(allowed.includes(attempt.result), `${attempt.line} (symlink ${link} ${created.get(link)})`);
    }
  });

  test('readlink of a planted link may show its text, or be refused', () => {
    const expected: Record<string, string> = { up: '../outside', abs: outside, etc: '/etc' };
    const readlinks = run.lines.filter((line) => line.startsWith('readlink '));
    assert.equal(readlinks.length, 3, run.stdout);
    for (const line of readlinks) {
      const [, name = '', result, text] = line.split(' ');
      if (result === 'ok') assert.equal(text, expected[name], line);
      else assert.equal(result, 'notcapable', line);
    }
  });

  test('nothing outside the mount changes, and nothing from outside appears inside', () => {
    assert.deepEqual(snapshotTree(outside), outsideBefore);
    assert.equal(readFileSync(join(mount, 'inside.txt'), 'utf8'), INSIDE_TEXT);
    assert.equal(existsSync(join(mount, 'stolen.txt')), false);
    assert.equal(existsSync(join(mount, 'sub', 'file.txt')), true);
  });
});
