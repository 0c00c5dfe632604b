/**
 * The guest's file descriptor table. Each entry is a standard stream, an open file or an
 * open directory; files and directories hold a real host descriptor so that every path is
 * looked up from the directory itself, never from a path string that may have moved.
 */
import { closeSync } from 'node:fs';
import { Errno, FileType } from './constants.js';
import { errno, ErrnoError } from './errors.js';
import type { InputSource, OutputSink } from './stdio.js';

/** A host directory made visible to the guest under a name. */
export interface MountPoint {
  readonly guestPath: string;
  /** The real path of the host directory (symlinks resolved), the confinement root. */
  readonly realRoot: string;
  readonly readonly: boolean;
}

interface EntryBase {
  rightsBase: number;
  rightsInheriting: number;
  fdflags: number;
}

export interface InputEntry extends EntryBase {
  readonly kind: 'input';
  readonly source: InputSource;
}

export interface OutputEntry extends EntryBase {
  readonly kind: 'output';
  readonly sink: OutputSink;
}

export interface FileEntry extends EntryBase {
  readonly kind: 'file';
  /** Replaced when the guest toggles append mode (see `fd_fdstat_set_flags`). */
  hostFd: number;
  /** Access mode and sync flags the host descriptor was opened with, without O_APPEND. */
  readonly hostFlags: number;
  readonly mount: MountPoint;
  readonly filetype: number;
  /** Opened with O_APPEND on the host, so the kernel appends atomically. */
  hostAppend: boolean;
  /** Offset of the next read or write; -1 after an append, meaning "at the end". */
  position: number;
}

export interface DirListingEntry {
  readonly name: Uint8Array;
  readonly ino: bigint;
  readonly filetype: number;
}

export interface DirEntry extends EntryBase {
  readonly kind: 'dir';
  readonly hostFd: number;
  /** Path through which the host resolves names inside this directory. */
  readonly base: string;
  readonly mount: MountPoint;
  /** Set on preopened mounts: the name `fd_prestat_dir_name` reports. */
  readonly preopenName: Uint8Array | undefined;
  /** Snapshot taken when a listing starts at cookie 0, so cookies stay stable. */
  listing: DirListingEntry[] | undefined;
}

export type FdEntry = InputEntry | OutputEntry | FileEntry | DirEntry;

/** Filetype of an entry as `fd_fdstat_get` and `fd_filestat_get` report it. */
export function entryFiletype(entry: FdEntry): number {
  switch (entry.kind) {
    case 'file':
      return entry.filetype;
    case 'dir':
      return FileType.directory;
    default:
      return FileType.characterDevice;
  }
}

/** Descriptor numbers to entries, with a cap on how many may be open at once. */
export class FdTable {
  private readonly entries: (FdEntry | undefined)[] = [];
  private openCount = 0;

  constructor(private readonly maxOpen: number) {}

  get(fd: number): FdEntry {
    const entry = this.entries[fd];
    if (entry === undefined) throw new ErrnoError(Errno.badf);
    return entry;
  }

  has(fd: number): boolean {
    return this.entries[fd] !== undefined;
  }

  /** Places an entry at the lowest free number. Throws `mfile` past the cap, as a process limit would. */
  add(entry: FdEntry): number {
    if (this.openCount >= this.maxOpen) throw errno('mfile');
    let fd = this.entries.indexOf(undefined);
    if (fd === -1) fd = this.entries.length;
    this.entries[fd] = entry;
    this.openCount += 1;
    return fd;
  }

  /** Removes an entry and closes what it holds on the host. */
  close(fd: number): void {
    const entry = this.get(fd);
    this.entries[fd] = undefined;
    this.openCount -= 1;
    releaseEntry(entry);
  }

  /** `fd_renumber`: `to` is closed, then `from` takes its number. */
  renumber(from: number, to: number): void {
    const entry = this.get(from);
    this.get(to);
    if (from === to) return;
    this.close(to);
    this.entries[to] = entry;
    this.entries[from] = undefined;
  }

  /** Closes every host descriptor, however the run ended. */
  closeAll(): void {
    for (let fd = 0; fd < this.entries.length; fd++) {
      const entry = this.entries[fd];
      if (entry !== undefined) {
        this.entries[fd] = undefined;
        releaseEntry(entry);
      }
    }
    this.openCount = 0;
  }
}

function releaseEntry(entry: FdEntry): void {
  if (entry.kind === 'file' || entry.kind === 'dir') {
    try {
      closeSync(entry.hostFd);
    } catch {
      // Already gone on the host: nothing left to release.
    }
  }
}
