/**
 * The README's start command, `npx wasio serve ...` from the repository root after `npm ci`:
 * npx runs the project's own bin, the built file itself, which must be executable.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoPath, repoRoot } from '../helpers/repo.js';

const manifest = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string; bin: { wasio: string } };

test('the built command named by package.json is an executable script', () => {
  const bin = repoPath(manifest.bin.wasio);
  assert.doesNotThrow(() => accessSync(bin, constants.X_OK), `${manifest.bin.wasio} is not executable`);
  assert.ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n'));
});

test('npx wasio, from the repository root, runs it', () => {
  // As from a user's shell: without the npm_* settings of the npm (or npx) running this test.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  const run = spawnSync('npx', ['wasio', '--version'], { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), manifest.version);
});
