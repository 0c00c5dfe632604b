/**
 * Shared helpers of the WASI conformance tests: find and run the committed probe modules
 * (test/probes/wasm/), read their transcripts, and make and compare host directory trees.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureSink, runCommand, WasiRunError, type WasiOptions } from '../../src/wasi/index.js';

import { repoRoot as REPO_ROOT } from './repo.js';

export { REPO_ROOT };

export function probePath(name: string): string {
  return join(REPO_ROOT, 'test', 'probes', 'wasm', `${name}.wasm`);
}

const compiled = new Map<string, WebAssembly.Module>();

/** The compiled probe, compiled once per test process. */
export function probeModule(name: string): WebAssembly.Module {
  let module = compiled.get(name);
  if (module === undefined) {
    module = new WebAssembly.Module(readFileSync(probePath(name)));
    compiled.set(name, module);
  }
  return module;
}

export type ProbeOptions = Omit<WasiOptions, 'stdout' | 'stderr'>;

export interface ProbeOutput {
  readonly stdout: string;
  readonly stderr: string;
  /** stdout split into lines, without the empty string after the last newline. */
  readonly lines: string[];
}

export interface ProbeRun extends ProbeOutput {
  readonly exitCode: number;
}

function outputOf(stdout: CaptureSink, stderr: CaptureSink): ProbeOutput {
  const text = stdout.text();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { stdout: text, stderr: stderr.text(), lines };
}

/** Runs a probe to its end; args default to the probe's name alone. */
export function runProbe(name: string, options: ProbeOptions = {}): ProbeRun {
  const stdout = new CaptureSink();
  const stderr = new CaptureSink();
  const { exitCode } = runCommand(probeModule(name), { args: [name], ...options, stdout, stderr });
  return { exitCode, ...outputOf(stdout, stderr) };
}

/** Runs a probe that must end in a `WasiRunError`; returns it with what was printed before. */
export function runProbeToError(name: string, options: ProbeOptions = {}): ProbeOutput & { error: WasiRunError } {
  const stdout = new CaptureSink();
  const stderr = new CaptureSink();
  try {
    const { exitCode } = runCommand(probeModule(name), { args: [name], ...options, stdout, stderr });
    assert.fail(`${name} exited with ${exitCode} instead of failing`);
  } catch (error) {
    if (!(error instanceof WasiRunError)) throw error;
    return { error, ...outputOf(stdout, stderr) };
  }
}

/** Transcript lines that begin with `prefix` followed by a space. */
export function linesStartingWith(lines: readonly string[], prefix: string): string[] {
  return lines.filter((line) => line.startsWith(`${prefix} `));
}

/** The last word of a transcript line: the errno name, or "ok". */
export function outcome(line: string): string {
  return line.slice(line.lastIndexOf(' ') + 1);
}

/**
 * A fresh directory under the system's temp dir, removed when the test ends: pass the test's
 * context, or `{ after }` (node:test's hook) in the body of a `describe`.
 */
export function makeTempDir(context: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasio-probe-'));
  context.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Everything observable about a host tree, keyed by relative path: type, bytes, link text,
 * permissions and modification time. Equal snapshots mean nothing in the tree changed.
 */
export function snapshotTree(root: string): Record<string, string> {
  const snapshot: Record<string, string> = {};
  const walk = (relative: string): void => {
    const path = join(root, relative);
    const stat = lstatSync(path, { bigint: true });
    const meta = `mode ${stat.mode.toString(8)} mtime ${stat.mtimeNs} nlink ${stat.nlink}`;
    if (stat.isSymbolicLink()) {
      snapshot[relative] = `symlink -> ${readlinkSync(path)} ${meta}`;
    } else if (stat.isDirectory()) {
      snapshot[relative] = `dir ${meta}`;
      for (const name of readdirSync(path).sort()) walk(join(relative, name));
    } else {
      snapshot[relative] = `file ${readFileSync(path).toString('base64')} ${meta}`;
    }
  };
  walk('.');
  return snapshot;
}

/** Contents of the files the escape layout plants; no newlines, so they print on one line. */
export const SECRET_TEXT = 'top secret';
export const INSIDE_TEXT = 'inside';
export const SUB_FILE_TEXT = 'sub file';

export interface EscapeLayout {
  /** Host directory holding the files the guest must never reach. */
  readonly outside: string;
  /** Host directory mounted as the guest's /data. */
  readonly mount: string;
}

/**
 * Lays out `outside/` (secret.txt, dir/, link -> secret.txt) next to `mount/` (inside.txt,
 * sub/file.txt, inner -> sub) and plants real host symlinks in the mount that lead out:
 * relative (up -> ../outside, up-file -> ../outside/secret.txt, chain -> up,
 * sub/deep -> ../../outside) and absolute (abs -> <root>/outside, etc -> /etc).
 */
export function makeEscapeLayout(root: string): EscapeLayout {
  const outside = join(root, 'outside');
  const mount = join(root, 'mount');
  mkdirSync(join(outside, 'dir'), { recursive: true });
  mkdirSync(join(mount, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), SECRET_TEXT);
  symlinkSync('secret.txt', join(outside, 'link'));
  writeFileSync(join(mount, 'inside.txt'), INSIDE_TEXT);
  writeFileSync(join(mount, 'sub', 'file.txt'), SUB_FILE_TEXT);
  symlinkSync('sub', join(mount, 'inner'));
  symlinkSync('../outside', join(mount, 'up'));
  symlinkSync('../outside/secret.txt', join(mount, 'up-file'));
  symlinkSync('up', join(mount, 'chain'));
  symlinkSync('../../outside', join(mount, 'sub', 'deep'));
  symlinkSync(outside, join(mount, 'abs'));
  symlinkSync('/etc', join(mount, 'etc'));
  return { outside, mount };
}
