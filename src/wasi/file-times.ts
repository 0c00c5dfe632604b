/**
 * Setting file times to the nanosecond, as `fd_filestat_set_times` and
 * `path_filestat_set_times` promise.
 *
 * Node's `utimes` family takes seconds as a double, which today resolves only about 240 ns,
 * so a guest that sets a time and reads it back would see another value. Explicit times are
 * therefore applied by the system's `touch` (which passes nanoseconds to `utimensat`), with
 * the held descriptor handed to it so it acts on the very same file; `utimes` remains the
 * fallback where `touch` is missing. These calls are rare, so the process start is affordable.
 */
import { spawnSync } from 'node:child_process';
import { lutimesSync, utimesSync, type BigIntStats } from 'node:fs';
import { FstFlags } from './constants.js';
import { errno } from './errors.js';

/** A requested change of one timestamp: a value in ns, the current time, or none. */
export type TimeChange = bigint | 'now' | undefined;

export interface TimesRequest {
  readonly atime: TimeChange;
  readonly mtime: TimeChange;
}

const VALID_FLAGS = FstFlags.atim | FstFlags.atimNow | FstFlags.mtim | FstFlags.mtimNow;

/** Reads the `fstflags` of a set-times call; `inval` when a value and "now" are both asked. */
export function parseTimes(atim: bigint, mtim: bigint, flags: number): TimesRequest {
  if (flags & ~VALID_FLAGS) throw errno('inval');
  if ((flags & FstFlags.atim && flags & FstFlags.atimNow) || (flags & FstFlags.mtim && flags & FstFlags.mtimNow)) {
    throw errno('inval');
  }
  const pick = (set: number, now: number, value: bigint): TimeChange =>
    flags & now ? 'now' : flags & set ? value : undefined;
  return { atime: pick(FstFlags.atim, FstFlags.atimNow, atim), mtime: pick(FstFlags.mtim, FstFlags.mtimNow, mtim) };
}

const FD_PATH = /^\/proc\/self\/fd\/(\d+)(\/.*)?$/;

function touchStamp(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const rest = ns % 1_000_000_000n;
  return `@${seconds}.${rest.toString().padStart(9, '0')}`;
}

/** Runs `touch` for one timestamp; false when it could not be run. */
function touch(which: '-a' | '-m', change: TimeChange, path: string, noFollow: boolean): boolean {
  if (change === undefined) return true;
  const args = ['-c', which];
  if (noFollow) args.push('-h');
  if (change !== 'now') args.push('-d', touchStamp(change));
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
  const held = FD_PATH.exec(path);
  if (held !== null) {
    // The child sees the held descriptor as its fd 3, so it acts on the same file or directory.
    stdio.push(Number(held[1]));
    path = `/proc/self/fd/3${held[2] ?? ''}`;
  }
  const result = spawnSync('touch', [...args, path], { stdio });
  return result.error === undefined && result.status === 0;
}

function seconds(change: TimeChange, current: bigint): number {
  if (change === 'now') return Date.now() / 1000;
  return Number(change ?? current) / 1e9;
}

/**
 * Applies `request` to `path` (a host path of this process, possibly through a held
 * descriptor). `noFollow` acts on a symlink itself. `current` gives the present times when a
 * fallback needs them.
 */
export function applyTimes(request: TimesRequest, path: string, noFollow: boolean, current: () => BigIntStats): void {
  if (request.atime === undefined && request.mtime === undefined) return;
  if (touch('-a', request.atime, path, noFollow) && touch('-m', request.mtime, path, noFollow)) return;
  const stat = current();
  const atime = seconds(request.atime, stat.atimeNs);
  const mtime = seconds(request.mtime, stat.mtimeNs);
  if (noFollow) lutimesSync(path, atime, mtime);
  else utimesSync(path, atime, mtime);
}
