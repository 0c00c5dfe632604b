/**
 * Confinement: every guest path is resolved here, inside the directory descriptor it is
 * relative to, and never leaves it.
 *
 * The walk is ours, one component at a time: `..` is applied to our own stack and refused
 * above the directory, symlinks are read and spliced in by us (absolute targets refused), so
 * the kernel only ever sees paths made of plain names below a directory we hold open.
 * To close the window between our walk and the system call, a file is opened with
 * O_NOFOLLOW and its real path checked afterwards, and every other operation runs on a
 * parent directory that was opened with O_NOFOLLOW and checked the same way.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readlinkSync, type BigIntStats } from 'node:fs';
import { errno } from './errors.js';
import type { DirEntry, MountPoint } from './fd-table.js';

const MAX_SYMLINK_HOPS = 40;

/** Descriptor paths (`/proc/self/fd/N`) let the kernel resolve from an open directory. */
export const HAS_FD_PATHS = existsSync('/proc/self/fd');

/** The path through which names inside an open directory are reached. */
export function directoryBase(hostFd: number, realPath: string): string {
  return HAS_FD_PATHS ? `/proc/self/fd/${hostFd}` : realPath;
}

export interface ResolvedPath {
  /** Host path of the final component, below the directory's base. */
  readonly hostPath: string;
  /** Host path of the directory that holds the final component. */
  readonly parentPath: string;
  /** The final component's name; empty when the path names the directory itself. */
  readonly name: string;
  /** lstat of the final component (after following, if asked), undefined if it does not exist. */
  readonly stat: BigIntStats | undefined;
  /** The guest path ended in `/`: the final component must be a directory. */
  readonly trailingSlash: boolean;
}

function components(path: string, into: string[]): void {
  const parts = path.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (part !== '' && part !== '.') into.push(part);
  }
}

function lstatOrUndefined(path: string): BigIntStats | undefined {
  return lstatSync(path, { bigint: true, throwIfNoEntry: false });
}

/**
 * Resolves `path` inside `dir`. Symlinks in the middle are always followed (confined);
 * the final one only when `followFinal` is set or the path ends in `/`.
 * Throws `notcapable` for anything that would leave `dir`, `noent`/`notdir`/`loop` as POSIX does.
 */
export function resolvePath(dir: DirEntry, path: string, followFinal: boolean): ResolvedPath {
  if (path.length === 0) throw errno('noent');
  if (path.charCodeAt(0) === 47 /* / */) throw errno('notcapable');
  if (path.includes('\0')) throw errno('inval');
  const trailingSlash = path.charCodeAt(path.length - 1) === 47;
  const follow = followFinal || trailingSlash;

  const pending: string[] = [];
  components(path, pending);
  const stack: string[] = [];
  let hops = 0;
  let finalStat: BigIntStats | undefined;
  let finalKnown = false;

  while (pending.length > 0) {
    const part = pending.pop() as string;
    const isLast = pending.length === 0;
    if (part === '..') {
      if (stack.length === 0) throw errno('notcapable');
      stack.pop();
      finalKnown = false;
      continue;
    }
    const candidate = joinBase(dir.base, stack, part);
    const stat = lstatOrUndefined(candidate);
    if (stat === undefined) {
      if (!isLast) throw errno('noent');
      stack.push(part);
      finalStat = undefined;
      finalKnown = true;
      break;
    }
    if (stat.isSymbolicLink() && (!isLast || follow)) {
      if (++hops > MAX_SYMLINK_HOPS) throw errno('loop');
      const target = readlinkSync(candidate, 'utf8');
      if (target.startsWith('/')) throw errno('notcapable');
      components(target, pending);
      continue;
    }
    if (!isLast && !stat.isDirectory()) throw errno('notdir');
    stack.push(part);
    finalStat = stat;
    finalKnown = true;
  }

  const hostPath = stack.length === 0 ? dir.base : joinBase(dir.base, stack.slice(0, -1), stack[stack.length - 1] as string);
  if (stack.length === 0) finalStat = fstatSync(dir.hostFd, { bigint: true });
  else if (!finalKnown) finalStat = lstatOrUndefined(hostPath);
  if (trailingSlash && finalStat !== undefined && !finalStat.isDirectory()) throw errno('notdir');
  const name = stack.length === 0 ? '' : (stack[stack.length - 1] as string);
  const parentPath = stack.length <= 1 ? dir.base : joinBase(dir.base, stack.slice(0, -2), stack[stack.length - 2] as string);
  return { hostPath, parentPath, name, stat: finalStat, trailingSlash };
}

function joinBase(base: string, stack: readonly string[], last: string): string {
  return stack.length === 0 ? `${base}/${last}` : `${base}/${stack.join('/')}/${last}`;
}

/** True when the host path of an open descriptor lies inside the mount. */
function descriptorInsideMount(hostFd: number, mount: MountPoint): boolean {
  if (!HAS_FD_PATHS) return true;
  const real = readlinkSync(`/proc/self/fd/${hostFd}`, 'utf8');
  return real === mount.realRoot || real.startsWith(mount.realRoot.endsWith('/') ? mount.realRoot : `${mount.realRoot}/`);
}

/**
 * Opens a resolved path on the host without following a final symlink, and checks that
 * what was opened lies inside the mount. Throws `notcapable` (and closes it) otherwise.
 * A path that names a held directory itself (`/proc/self/fd/N`) is that descriptor's own
 * link, which must be followed.
 */
export function openConfined(resolved: ResolvedPath | string, flags: number, mode: number, mount: MountPoint): number {
  const hostPath = typeof resolved === 'string' ? resolved : resolved.hostPath;
  const ownDirectory = typeof resolved !== 'string' && resolved.name === '';
  const fd = openSync(hostPath, ownDirectory ? flags : flags | constants.O_NOFOLLOW, mode);
  if (!descriptorInsideMount(fd, mount)) {
    closeSync(fd);
    throw errno('notcapable');
  }
  return fd;
}

/**
 * Runs `operation` on the final component of `resolved` through a parent directory that is
 * held open and checked to lie inside the mount, so nothing swapped in meanwhile can redirect it.
 */
export function withConfinedPath<T>(dir: DirEntry, resolved: ResolvedPath, operation: (path: string) => T): T {
  if (resolved.name === '') return operation(resolved.hostPath);
  if (!HAS_FD_PATHS || resolved.parentPath === dir.base) return operation(resolved.hostPath);
  const parentFd = openConfined(resolved.parentPath, constants.O_RDONLY | constants.O_DIRECTORY, 0, dir.mount);
  try {
    return operation(`/proc/self/fd/${parentFd}/${resolved.name}`);
  } finally {
    closeSync(parentFd);
  }
}
