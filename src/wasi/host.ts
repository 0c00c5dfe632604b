/**
 * The WASI preview 1 host: every function of `wasi_snapshot_preview1`, implemented on
 * `node:fs` with synchronous calls (a guest is synchronous). One `WasiHost` serves one
 * instance for one run; `dispose()` releases everything it opened.
 */
import {
  closeSync, constants, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, linkSync, lstatSync,
  mkdirSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, renameSync,
  rmdirSync, symlinkSync, unlinkSync, writevSync, type BigIntStats,
} from 'node:fs';
import { randomFillSync } from 'node:crypto';
import {
  ClockId, DIRECTORY_RIGHTS, Errno, EventType, FdFlags, FILE_RIGHTS, FileType,
  INPUT_RIGHTS, LookupFlags, OFlags, OUTPUT_RIGHTS, Rights, SubclockFlags, Whence, WRITE_RIGHTS,
} from './constants.js';
import { DeadlineError, errno, ErrnoError, errnoFromException, OutputLimitError, ProcExit, ProcRaiseError, WasiRunError } from './errors.js';
import { entryFiletype, FdTable, type DirEntry, type DirListingEntry, type FdEntry, type FileEntry, type MountPoint } from './fd-table.js';
import { applyTimes, parseTimes } from './file-times.js';
import { directoryBase, HAS_FD_PATHS, openConfined, resolvePath, withConfinedPath, type ResolvedPath } from './sandbox-path.js';
import { BufferSource, DISCARD, EMPTY_INPUT, sleepMs, type InputSource, type OutputSink } from './stdio.js';

/** A host directory to make visible to the guest. */
export interface MountOptions {
  /** The guest's name for it, e.g. `/data` (or `/` for a whole-root mount). */
  readonly guest: string;
  /** The host directory. */
  readonly host: string;
  /** Refuse every change with `rofs`. */
  readonly readonly?: boolean;
}

/** What a guest gets: its arguments, environment, streams, directories and limits. */
export interface WasiOptions {
  /** argv, program name first. */
  readonly args?: readonly string[];
  /** The environment: only these variables, never the host's. */
  readonly env?: Readonly<Record<string, string>>;
  /** stdin: bytes, or a source read on demand. Empty by default. */
  readonly stdin?: Uint8Array | InputSource;
  readonly stdout?: OutputSink;
  readonly stderr?: OutputSink;
  readonly mounts?: readonly MountOptions[];
  /** Cap on stdout + stderr together; the run stops with `OutputLimitError` past it. */
  readonly maxOutputBytes?: number;
  /** Cap on descriptors open at once (streams and mounts included). */
  readonly maxOpenFiles?: number | undefined;
  /**
   * A `performance.now()` time: a run still going then is stopped at its next WASI call, and
   * one that asks to sleep past it is stopped at once (`DeadlineError`). For a caller whose
   * thread has other work and can run the guest elsewhere; guest code between two WASI calls
   * is the caller's to bound.
   */
  readonly deadline?: number | undefined;
}

export const DEFAULT_MAX_OPEN_FILES = 256;

const NS_PER_MS = 1_000_000n;
const MAX_SLEEP_SLICE_MS = 50;
const textEncoder = new TextEncoder();
const pathDecoder = new TextDecoder('utf-8', { fatal: true });
const ALL_RIGHTS = FILE_RIGHTS | DIRECTORY_RIGHTS;

/** A WASI function: numbers (and BigInts for 64-bit values) in, errno out. */
type WasiFunction = (...args: never[]) => number;

function filetypeOfStats(stat: BigIntStats): number {
  if (stat.isFile()) return FileType.regularFile;
  if (stat.isDirectory()) return FileType.directory;
  if (stat.isSymbolicLink()) return FileType.symbolicLink;
  if (stat.isCharacterDevice()) return FileType.characterDevice;
  if (stat.isBlockDevice()) return FileType.blockDevice;
  if (stat.isSocket()) return FileType.socketStream;
  return FileType.unknown;
}

/** Strings as the guest reads them: NUL-terminated, one after the other, and where each starts. */
interface EncodedStrings {
  readonly bytes: Uint8Array;
  readonly offsets: number[];
}

/** Placeholders until the memory is attached: the first WASI call that touches memory views it. */
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
const EMPTY_BYTES = new Uint8Array(0);

function encodeStrings(values: readonly string[]): EncodedStrings {
  const encoded = values.map((value) => textEncoder.encode(`${value}\0`));
  const bytes = new Uint8Array(encoded.reduce((sum, part) => sum + part.byteLength, 0));
  const offsets: number[] = [];
  let offset = 0;
  for (const part of encoded) {
    offsets.push(offset);
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return { bytes, offsets };
}

function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

function cpuTimeNs(): bigint {
  const usage = process.cpuUsage();
  return BigInt(usage.user + usage.system) * 1000n;
}

function clockNow(id: number): bigint {
  switch (id) {
    case ClockId.realtime:
      return realtimeNs();
    case ClockId.monotonic:
      return process.hrtime.bigint();
    case ClockId.processCputime:
    case ClockId.threadCputime:
      return cpuTimeNs();
    default:
      throw errno('inval');
  }
}

export class WasiHost {
  private readonly fds: FdTable;
  private readonly argValues: readonly string[];
  private readonly envValues: Readonly<Record<string, string>>;
  // Encoded when the guest first asks: most guests never read their environment.
  private encodedArgs: EncodedStrings | undefined;
  private encodedEnv: EncodedStrings | undefined;
  private outputBudget: number;
  private readonly outputLimit: number;
  private readonly deadline: number | undefined;
  private memory: WebAssembly.Memory | undefined;
  private buffer: ArrayBuffer | undefined;
  private view = EMPTY_VIEW;
  private bytes = EMPTY_BYTES;
  private ended = false;

  constructor(options: WasiOptions = {}) {
    this.argValues = options.args ?? [];
    this.envValues = options.env ?? {};
    this.outputLimit = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
    this.outputBudget = this.outputLimit;
    this.deadline = options.deadline;
    this.fds = new FdTable(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);

    const stdin = options.stdin ?? EMPTY_INPUT;
    const source = stdin instanceof Uint8Array ? new BufferSource(stdin) : stdin;
    const output = { rightsBase: OUTPUT_RIGHTS, rightsInheriting: 0, fdflags: 0 };
    this.fds.add({ kind: 'input', source, rightsBase: INPUT_RIGHTS, rightsInheriting: 0, fdflags: 0 });
    this.fds.add({ kind: 'output', sink: options.stdout ?? DISCARD, ...output });
    this.fds.add({ kind: 'output', sink: options.stderr ?? DISCARD, ...output });
    try {
      for (const mount of options.mounts ?? []) this.preopen(mount);
    } catch (error) {
      this.fds.closeAll();
      throw error;
    }
  }

  private preopen(options: MountOptions): void {
    const realRoot = realpathSync(options.host);
    const mount: MountPoint = { guestPath: options.guest, realRoot, readonly: options.readonly === true };
    const hostFd = openSync(realRoot, constants.O_RDONLY | constants.O_DIRECTORY);
    this.fds.add({
      kind: 'dir', hostFd, base: directoryBase(hostFd, realRoot), mount,
      preopenName: textEncoder.encode(options.guest), listing: undefined,
      rightsBase: DIRECTORY_RIGHTS, rightsInheriting: ALL_RIGHTS, fdflags: 0,
    });
  }

  private get args(): EncodedStrings {
    return (this.encodedArgs ??= encodeStrings(this.argValues));
  }

  private get env(): EncodedStrings {
    return (this.encodedEnv ??= encodeStrings(Object.entries(this.envValues).map(([key, value]) => `${key}=${value}`)));
  }

  /** Gives the host the instance's memory; call before `_start`. */
  attachMemory(memory: WebAssembly.Memory): void {
    this.memory = memory;
  }

  /** Closes every descriptor the guest had open. Safe to call more than once. */
  dispose(): void {
    this.ended = true;
    this.fds.closeAll();
  }

  // ---- memory access ----------------------------------------------------------------------

  /** Re-views memory when the guest grew it (growing replaces the ArrayBuffer). */
  private sync(): void {
    const memory = this.memory;
    if (memory === undefined) throw new WasiRunError('WASIO_ERR_LINK', 'WASI called before the memory was attached');
    const buffer = memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.view = new DataView(buffer);
      this.bytes = new Uint8Array(buffer);
    }
  }

  private range(ptr: number, len: number): Uint8Array {
    if (ptr + len > this.bytes.byteLength) throw errno('fault');
    return this.bytes.subarray(ptr, ptr + len);
  }

  /** Views of the guest buffers an iovec array names. */
  private iovecs(iovsPtr: number, iovsLen: number): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < iovsLen; i++) {
      chunks.push(this.range(this.view.getUint32(iovsPtr + i * 8, true), this.view.getUint32(iovsPtr + i * 8 + 4, true)));
    }
    return chunks;
  }

  private readPath(ptr: number, len: number): string {
    try {
      return pathDecoder.decode(this.range(ptr, len));
    } catch (error) {
      if (error instanceof ErrnoError) throw error;
      throw errno('ilseq');
    }
  }

  private writeFilestat(ptr: number, stat: BigIntStats): void {
    const view = this.view;
    view.setBigUint64(ptr, stat.dev, true);
    view.setBigUint64(ptr + 8, stat.ino, true);
    view.setUint8(ptr + 16, filetypeOfStats(stat));
    view.setBigUint64(ptr + 24, stat.nlink, true);
    view.setBigUint64(ptr + 32, stat.size, true);
    view.setBigUint64(ptr + 40, stat.atimeNs, true);
    view.setBigUint64(ptr + 48, stat.mtimeNs, true);
    view.setBigUint64(ptr + 56, stat.ctimeNs, true);
  }

  /** Turns an exception inside a WASI function into its errno; lets run-ending ones through. */
  /** Throws `DeadlineError` once the run's deadline has passed; called on entry to every WASI call. */
  checkDeadline(): void {
    if (this.deadline !== undefined && performance.now() > this.deadline) throw new DeadlineError();
  }

  private fail(error: unknown): number {
    if (error instanceof ProcExit || error instanceof WasiRunError) throw error;
    if (error instanceof RangeError && error.message.includes('call stack')) throw error;
    if (error instanceof RangeError) return Errno.fault;
    return errnoFromException(error);
  }

  // ---- descriptor helpers -----------------------------------------------------------------

  private file(fd: number, right: number): FileEntry {
    const entry = this.fds.get(fd);
    if (entry.kind !== 'file') throw errno(entry.kind === 'dir' ? 'isdir' : 'badf');
    if ((entry.rightsBase & right) !== right) throw errno('notcapable');
    return entry;
  }

  private dir(fd: number, right: number): DirEntry {
    const entry = this.fds.get(fd);
    if (entry.kind !== 'dir') throw errno('notdir');
    if ((entry.rightsBase & right) !== right) throw errno('notcapable');
    return entry;
  }

  private writable(dir: DirEntry): void {
    if (dir.mount.readonly) throw errno('rofs');
  }

  private position(entry: FileEntry): number {
    if (entry.position < 0) entry.position = Number(fstatSync(entry.hostFd, { bigint: true }).size);
    return entry.position;
  }

  private charge(length: number): void {
    this.outputBudget -= length;
    if (this.outputBudget < 0) throw new OutputLimitError(this.outputLimit);
  }

  private fdstatOf(entry: FdEntry): BigIntStats | undefined {
    return entry.kind === 'file' || entry.kind === 'dir' ? fstatSync(entry.hostFd, { bigint: true }) : undefined;
  }

  // ---- the import object ------------------------------------------------------------------

  /**
   * The `wasi_snapshot_preview1` import namespace, bound to this host: every function, or only
   * those named (a module's imports), which spares binding the others for each run.
   */
  imports(names: readonly string[] = WASI_FUNCTION_NAMES): Record<string, WasiFunction> {
    const functions: Record<string, WasiFunction> = {};
    for (const name of names) {
      if (!WASI_FUNCTIONS.has(name)) throw new RangeError(`${name} is not a wasi_snapshot_preview1 function`);
      const method = (this as unknown as Record<string, WasiFunction>)[name] as WasiFunction;
      functions[name] = method.bind(this) as WasiFunction;
    }
    return functions;
  }

  // ---- args, environ, clocks, random, process ---------------------------------------------

  args_sizes_get(countPtr: number, sizePtr: number): number {
    return this.sizes(this.args, countPtr, sizePtr);
  }

  args_get(argvPtr: number, bufPtr: number): number {
    return this.strings(this.args, argvPtr, bufPtr);
  }

  environ_sizes_get(countPtr: number, sizePtr: number): number {
    return this.sizes(this.env, countPtr, sizePtr);
  }

  environ_get(environPtr: number, bufPtr: number): number {
    return this.strings(this.env, environPtr, bufPtr);
  }

  private sizes(list: EncodedStrings, countPtr: number, sizePtr: number): number {
    try {
      this.sync();
      this.view.setUint32(countPtr, list.offsets.length, true);
      this.view.setUint32(sizePtr, list.bytes.byteLength, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  private strings(list: EncodedStrings, pointersPtr: number, bufPtr: number): number {
    try {
      this.sync();
      this.range(bufPtr, list.bytes.byteLength).set(list.bytes);
      for (let i = 0; i < list.offsets.length; i++) {
        this.view.setUint32(pointersPtr + i * 4, bufPtr + (list.offsets[i] as number), true);
      }
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  clock_res_get(id: number, resultPtr: number): number {
    try {
      this.sync();
      const resolution = id === ClockId.monotonic ? 1n : id <= ClockId.threadCputime ? 1000n : -1n;
      if (resolution < 0n) throw errno('inval');
      this.view.setBigUint64(resultPtr, resolution, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  clock_time_get(id: number, _precision: bigint, resultPtr: number): number {
    try {
      this.sync();
      this.view.setBigUint64(resultPtr, clockNow(id), true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  random_get(bufPtr: number, length: number): number {
    try {
      this.sync();
      randomFillSync(this.range(bufPtr, length));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  sched_yield(): number {
    return Errno.success;
  }

  proc_exit(code: number): never {
    this.ended = true;
    throw new ProcExit(code >>> 0);
  }

  proc_raise(signal: number): never {
    this.ended = true;
    throw new ProcRaiseError(signal);
  }

  // ---- stream and file I/O ----------------------------------------------------------------

  fd_write(fd: number, iovsPtr: number, iovsLen: number, writtenPtr: number): number {
    try {
      if (this.ended) throw errno('canceled');
      const entry = this.fds.get(fd);
      this.sync();
      const view = this.view;
      let total = 0;
      if (entry.kind === 'output') {
        if ((entry.rightsBase & Rights.fdWrite) === 0) throw errno('notcapable');
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovsPtr + i * 8, true);
          const len = view.getUint32(iovsPtr + i * 8 + 4, true);
          if (len === 0) continue;
          const chunk = this.range(ptr, len);
          this.charge(len);
          entry.sink.write(chunk);
          total += len;
        }
      } else {
        const file = this.file(fd, Rights.fdWrite);
        const chunks = this.iovecs(iovsPtr, iovsLen);
        // One writev for all parts: with O_APPEND the kernel appends them as one record that
        // no other instance's write can split.
        if ((file.fdflags & FdFlags.append) !== 0 && file.hostAppend) {
          total = writevSync(file.hostFd, chunks);
          file.position = -1;
        } else {
          const at = file.fdflags & FdFlags.append ? Number(fstatSync(file.hostFd, { bigint: true }).size) : this.position(file);
          total = writevSync(file.hostFd, chunks, at);
          file.position = at + total;
        }
      }
      view.setUint32(writtenPtr, total, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_read(fd: number, iovsPtr: number, iovsLen: number, readPtr: number): number {
    try {
      const entry = this.fds.get(fd);
      this.sync();
      const view = this.view;
      let total = 0;
      if (entry.kind === 'input') {
        if ((entry.rightsBase & Rights.fdRead) === 0) throw errno('notcapable');
        for (let i = 0; i < iovsLen; i++) {
          const target = this.range(view.getUint32(iovsPtr + i * 8, true), view.getUint32(iovsPtr + i * 8 + 4, true));
          const count = entry.source.read(target);
          total += count;
          if (count < target.byteLength) break;
        }
      } else if (entry.kind === 'output') {
        throw errno('badf');
      } else {
        const file = this.file(fd, Rights.fdRead);
        const at = this.position(file);
        total = this.readFile(file, iovsPtr, iovsLen, at);
        file.position = at + total;
      }
      view.setUint32(readPtr, total, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  private readFile(file: FileEntry, iovsPtr: number, iovsLen: number, at: number): number {
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const len = this.view.getUint32(iovsPtr + i * 8 + 4, true);
      const target = this.range(this.view.getUint32(iovsPtr + i * 8, true), len);
      const count = len === 0 ? 0 : readSync(file.hostFd, target, 0, len, at + total);
      total += count;
      if (count < len) break;
    }
    return total;
  }

  fd_pread(fd: number, iovsPtr: number, iovsLen: number, offset: bigint, readPtr: number): number {
    try {
      const file = this.file(fd, Rights.fdRead | Rights.fdSeek);
      this.sync();
      const total = this.readFile(file, iovsPtr, iovsLen, Number(offset));
      this.view.setUint32(readPtr, total, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_pwrite(fd: number, iovsPtr: number, iovsLen: number, offset: bigint, writtenPtr: number): number {
    try {
      const file = this.file(fd, Rights.fdWrite | Rights.fdSeek);
      this.sync();
      const total = writevSync(file.hostFd, this.iovecs(iovsPtr, iovsLen), Number(offset));
      this.view.setUint32(writtenPtr, total, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_seek(fd: number, offset: bigint, whence: number, resultPtr: number): number {
    try {
      const entry = this.fds.get(fd);
      if (entry.kind === 'input' || entry.kind === 'output') throw errno('spipe');
      const file = this.file(fd, Rights.fdSeek);
      this.sync();
      let base: number;
      if (whence === Whence.set) base = 0;
      else if (whence === Whence.cur) base = this.position(file);
      else if (whence === Whence.end) base = Number(fstatSync(file.hostFd, { bigint: true }).size);
      else throw errno('inval');
      const next = base + Number(offset);
      if (next < 0) throw errno('inval');
      file.position = next;
      this.view.setBigUint64(resultPtr, BigInt(next), true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_tell(fd: number, resultPtr: number): number {
    try {
      const entry = this.fds.get(fd);
      if (entry.kind === 'input' || entry.kind === 'output') throw errno('spipe');
      const file = this.file(fd, Rights.fdTell);
      this.sync();
      this.view.setBigUint64(resultPtr, BigInt(this.position(file)), true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_close(fd: number): number {
    try {
      this.fds.close(fd);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_renumber(from: number, to: number): number {
    try {
      this.fds.renumber(from, to);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_sync(fd: number): number {
    return this.flush(fd, Rights.fdSync, fsyncSync);
  }

  fd_datasync(fd: number): number {
    return this.flush(fd, Rights.fdDatasync, fdatasyncSync);
  }

  private flush(fd: number, right: number, call: (hostFd: number) => void): number {
    try {
      const entry = this.fds.get(fd);
      if (entry.kind === 'file' || entry.kind === 'dir') {
        if ((entry.rightsBase & right) !== right) throw errno('notcapable');
        call(entry.hostFd);
      }
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_advise(fd: number, _offset: bigint, _length: bigint, advice: number): number {
    try {
      this.file(fd, Rights.fdAdvise);
      if (advice > 5) throw errno('inval');
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_allocate(fd: number, offset: bigint, length: bigint): number {
    try {
      const file = this.file(fd, Rights.fdAllocate);
      if (file.mount.readonly) throw errno('rofs');
      const end = offset + length;
      if (end > BigInt(Number.MAX_SAFE_INTEGER)) throw errno('fbig');
      if (end > fstatSync(file.hostFd, { bigint: true }).size) ftruncateSync(file.hostFd, Number(end));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  // ---- descriptor metadata ----------------------------------------------------------------

  fd_fdstat_get(fd: number, resultPtr: number): number {
    try {
      const entry = this.fds.get(fd);
      this.sync();
      const view = this.view;
      view.setUint8(resultPtr, entryFiletype(entry));
      view.setUint16(resultPtr + 2, entry.fdflags, true);
      view.setBigUint64(resultPtr + 8, BigInt(entry.rightsBase), true);
      view.setBigUint64(resultPtr + 16, BigInt(entry.rightsInheriting), true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_fdstat_set_flags(fd: number, flags: number): number {
    try {
      const entry = this.fds.get(fd);
      if (flags & ~(FdFlags.append | FdFlags.dsync | FdFlags.nonblock | FdFlags.rsync | FdFlags.sync)) throw errno('inval');
      if ((entry.rightsBase & Rights.fdFdstatSetFlags) === 0) throw errno('notcapable');
      if (entry.kind === 'file') {
        const append = (flags & FdFlags.append) !== 0;
        if (entry.mount.readonly && append) throw errno('rofs');
        if (append !== entry.hostAppend) this.reopen(entry, append);
      }
      entry.fdflags = flags;
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  /**
   * Opens the same file again with or without O_APPEND (Node has no fcntl), so appends stay
   * atomic in the kernel and clearing the flag really stops appending.
   */
  private reopen(file: FileEntry, append: boolean): void {
    if (!HAS_FD_PATHS) return;
    const position = this.position(file);
    const flags = file.hostFlags | (append ? constants.O_APPEND : 0);
    const replacement = openSync(`/proc/self/fd/${file.hostFd}`, flags);
    closeQuietly(file.hostFd);
    file.hostFd = replacement;
    file.hostAppend = append;
    file.position = position;
  }

  fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
    try {
      const entry = this.fds.get(fd);
      const newBase = Number(base & 0x3fffffffn);
      const newInheriting = Number(inheriting & 0x3fffffffn);
      if ((newBase & ~entry.rightsBase) !== 0 || (newInheriting & ~entry.rightsInheriting) !== 0) {
        throw errno('notcapable');
      }
      entry.rightsBase = newBase;
      entry.rightsInheriting = newInheriting;
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_filestat_get(fd: number, resultPtr: number): number {
    try {
      const entry = this.fds.get(fd);
      if ((entry.rightsBase & Rights.fdFilestatGet) === 0) throw errno('notcapable');
      this.sync();
      const stat = this.fdstatOf(entry);
      if (stat !== undefined) {
        this.writeFilestat(resultPtr, stat);
      } else {
        this.range(resultPtr, 64).fill(0);
        this.view.setUint8(resultPtr + 16, FileType.characterDevice);
      }
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_filestat_set_size(fd: number, size: bigint): number {
    try {
      const file = this.file(fd, Rights.fdFilestatSetSize);
      if (file.mount.readonly) throw errno('rofs');
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw errno('fbig');
      ftruncateSync(file.hostFd, Number(size));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, flags: number): number {
    try {
      const entry = this.fds.get(fd);
      if (entry.kind !== 'file' && entry.kind !== 'dir') throw errno('badf');
      if ((entry.rightsBase & Rights.fdFilestatSetTimes) === 0) throw errno('notcapable');
      const request = parseTimes(atim, mtim, flags);
      if (entry.mount.readonly) throw errno('rofs');
      const hostFd = entry.hostFd;
      applyTimes(request, `/proc/self/fd/${hostFd}`, false, () => fstatSync(hostFd, { bigint: true }));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_prestat_get(fd: number, resultPtr: number): number {
    try {
      const entry = this.fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopenName === undefined) throw errno('badf');
      this.sync();
      this.view.setUint32(resultPtr, 0, true);
      this.view.setUint32(resultPtr + 4, entry.preopenName.byteLength, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_prestat_dir_name(fd: number, pathPtr: number, pathLen: number): number {
    try {
      const entry = this.fds.get(fd);
      if (entry.kind !== 'dir' || entry.preopenName === undefined) throw errno('badf');
      this.sync();
      if (pathLen < entry.preopenName.byteLength) throw errno('nametoolong');
      this.range(pathPtr, entry.preopenName.byteLength).set(entry.preopenName);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  fd_readdir(fd: number, bufPtr: number, bufLen: number, cookie: bigint, usedPtr: number): number {
    try {
      const dir = this.dir(fd, Rights.fdReaddir);
      this.sync();
      if (cookie === 0n || dir.listing === undefined) dir.listing = this.listDirectory(dir);
      const listing = dir.listing;
      const out = this.range(bufPtr, bufLen);
      const header = new DataView(new ArrayBuffer(24));
      const headerBytes = new Uint8Array(header.buffer);
      let used = 0;
      for (let index = Number(cookie); index < listing.length && used < bufLen; index++) {
        const item = listing[index] as (typeof listing)[number];
        header.setBigUint64(0, BigInt(index + 1), true);
        header.setBigUint64(8, item.ino, true);
        header.setUint32(16, item.name.byteLength, true);
        header.setUint8(20, item.filetype);
        const headerCount = Math.min(24, bufLen - used);
        out.set(headerBytes.subarray(0, headerCount), used);
        used += headerCount;
        const nameCount = Math.min(item.name.byteLength, bufLen - used);
        out.set(item.name.subarray(0, nameCount), used);
        used += nameCount;
      }
      this.view.setUint32(usedPtr, used, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  private listDirectory(dir: DirEntry): DirListingEntry[] {
    const self = fstatSync(dir.hostFd, { bigint: true });
    const parent = lstatSync(`${dir.base}/..`, { bigint: true });
    const listing: DirListingEntry[] = [
      { name: textEncoder.encode('.'), ino: self.ino, filetype: FileType.directory },
      { name: textEncoder.encode('..'), ino: parent.ino, filetype: FileType.directory },
    ];
    const prefix = Buffer.from(`${dir.base}/`);
    for (const name of readdirSync(dir.base, { encoding: 'buffer' })) {
      const stat = lstatSync(Buffer.concat([prefix, name]), { bigint: true, throwIfNoEntry: false });
      if (stat === undefined) continue;
      listing.push({ name: new Uint8Array(name), ino: stat.ino, filetype: filetypeOfStats(stat) });
    }
    return listing;
  }

  // ---- paths ------------------------------------------------------------------------------

  private resolve(fd: number, right: number, pathPtr: number, pathLen: number, follow: boolean): [DirEntry, ResolvedPath] {
    const dir = this.dir(fd, right);
    this.sync();
    return [dir, resolvePath(dir, this.readPath(pathPtr, pathLen), follow)];
  }

  path_open(
    fd: number, lookupFlags: number, pathPtr: number, pathLen: number, oflags: number,
    rightsBase: bigint, rightsInheriting: bigint, fdflags: number, resultPtr: number,
  ): number {
    try {
      const follow = (lookupFlags & LookupFlags.symlinkFollow) !== 0;
      const [dir, resolved] = this.resolve(fd, Rights.pathOpen, pathPtr, pathLen, follow);
      const wantBase = Number(rightsBase & 0x3fffffffn) & dir.rightsInheriting;
      const wantInheriting = Number(rightsInheriting & 0x3fffffffn) & dir.rightsInheriting;
      const wantsWrite = (wantBase & WRITE_RIGHTS) !== 0 || (fdflags & FdFlags.append) !== 0;
      const wantsRead = (wantBase & (Rights.fdRead | Rights.fdReaddir)) !== 0;
      const stat = resolved.stat;

      if (oflags & OFlags.directory && oflags & (OFlags.creat | OFlags.trunc)) throw errno('inval');
      if (oflags & OFlags.creat && !(dir.rightsBase & Rights.pathCreateFile)) throw errno('notcapable');
      if (oflags & OFlags.trunc && !(dir.rightsBase & Rights.pathFilestatSetSize)) throw errno('notcapable');
      if (stat === undefined) {
        if (!(oflags & OFlags.creat)) throw errno('noent');
        if (resolved.trailingSlash || oflags & OFlags.directory) throw errno(resolved.trailingSlash ? 'isdir' : 'noent');
      } else {
        if (oflags & OFlags.creat && oflags & OFlags.excl) throw errno('exist');
        if (stat.isSymbolicLink()) throw errno('loop');
        if (oflags & OFlags.directory && !stat.isDirectory()) throw errno('notdir');
      }

      if (stat?.isDirectory()) {
        if (wantsWrite || oflags & OFlags.trunc) throw errno('isdir');
        const hostFd = openConfined(resolved, constants.O_RDONLY | constants.O_DIRECTORY, 0, dir.mount);
        const realPath = resolved.hostPath;
        const entry: DirEntry = {
          kind: 'dir', hostFd, base: directoryBase(hostFd, realPath), mount: dir.mount, preopenName: undefined,
          listing: undefined, rightsBase: wantBase & DIRECTORY_RIGHTS, rightsInheriting: wantInheriting, fdflags,
        };
        this.storeNewFd(entry, resultPtr);
        return Errno.success;
      }

      if (dir.mount.readonly && (wantsWrite || oflags & (OFlags.creat | OFlags.trunc))) {
        if (!(stat !== undefined && oflags & OFlags.creat && !(oflags & OFlags.trunc) && !wantsWrite)) throw errno('rofs');
      }
      let hostFlags = wantsWrite || oflags & OFlags.trunc ? (wantsRead ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY;
      if (fdflags & FdFlags.sync) hostFlags |= constants.O_SYNC;
      if (fdflags & (FdFlags.dsync | FdFlags.rsync)) hostFlags |= constants.O_DSYNC;
      const hostAppend = (fdflags & FdFlags.append) !== 0;
      let openFlags = hostFlags | (hostAppend ? constants.O_APPEND : 0);
      if (oflags & OFlags.creat) openFlags |= constants.O_CREAT;
      if (oflags & OFlags.excl) openFlags |= constants.O_EXCL;
      if (oflags & OFlags.trunc) openFlags |= constants.O_TRUNC;
      const hostFd = withConfinedPath(dir, resolved, (path) => openConfined(path, openFlags, 0o666, dir.mount));
      const filetype = stat === undefined ? FileType.regularFile : filetypeOfStats(stat);
      const entry: FileEntry = {
        kind: 'file', hostFd, hostFlags, mount: dir.mount, filetype, hostAppend, position: 0,
        rightsBase: wantBase & FILE_RIGHTS, rightsInheriting: wantInheriting, fdflags,
      };
      this.storeNewFd(entry, resultPtr);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  private storeNewFd(entry: FdEntry, resultPtr: number): void {
    let newFd: number;
    try {
      newFd = this.fds.add(entry);
    } catch (error) {
      if (entry.kind === 'file' || entry.kind === 'dir') closeQuietly(entry.hostFd);
      throw error;
    }
    this.view.setUint32(resultPtr, newFd, true);
  }

  path_filestat_get(fd: number, lookupFlags: number, pathPtr: number, pathLen: number, resultPtr: number): number {
    try {
      const follow = (lookupFlags & LookupFlags.symlinkFollow) !== 0;
      const [, resolved] = this.resolve(fd, Rights.pathFilestatGet, pathPtr, pathLen, follow);
      if (resolved.stat === undefined) throw errno('noent');
      this.writeFilestat(resultPtr, resolved.stat);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_filestat_set_times(
    fd: number, lookupFlags: number, pathPtr: number, pathLen: number, atim: bigint, mtim: bigint, flags: number,
  ): number {
    try {
      const follow = (lookupFlags & LookupFlags.symlinkFollow) !== 0;
      const [dir, resolved] = this.resolve(fd, Rights.pathFilestatSetTimes, pathPtr, pathLen, follow);
      const stat = resolved.stat;
      if (stat === undefined) throw errno('noent');
      const request = parseTimes(atim, mtim, flags);
      this.writable(dir);
      withConfinedPath(dir, resolved, (path) => applyTimes(request, path, stat.isSymbolicLink(), () => stat));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_create_directory(fd: number, pathPtr: number, pathLen: number): number {
    try {
      const [dir, resolved] = this.resolve(fd, Rights.pathCreateDirectory, pathPtr, pathLen, false);
      if (resolved.stat !== undefined) throw errno('exist');
      this.writable(dir);
      withConfinedPath(dir, resolved, (path) => mkdirSync(path));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_remove_directory(fd: number, pathPtr: number, pathLen: number): number {
    try {
      const [dir, resolved] = this.resolve(fd, Rights.pathRemoveDirectory, pathPtr, pathLen, false);
      if (resolved.stat === undefined) throw errno('noent');
      if (!resolved.stat.isDirectory()) throw errno('notdir');
      if (resolved.name === '') throw errno('busy');
      this.writable(dir);
      withConfinedPath(dir, resolved, (path) => rmdirSync(path));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_unlink_file(fd: number, pathPtr: number, pathLen: number): number {
    try {
      const [dir, resolved] = this.resolve(fd, Rights.pathUnlinkFile, pathPtr, pathLen, false);
      if (resolved.stat === undefined) throw errno('noent');
      if (resolved.stat.isDirectory()) throw errno('isdir');
      if (resolved.trailingSlash) throw errno('notdir');
      this.writable(dir);
      withConfinedPath(dir, resolved, (path) => unlinkSync(path));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_rename(fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
    try {
      const [oldDir, from] = this.resolve(fd, Rights.pathRenameSource, oldPtr, oldLen, false);
      const [newDir, to] = this.resolve(newFd, Rights.pathRenameTarget, newPtr, newLen, false);
      if (from.stat === undefined) throw errno('noent');
      if (from.name === '' || to.name === '') throw errno('busy');
      if (!from.stat.isDirectory() && (from.trailingSlash || to.trailingSlash)) throw errno('notdir');
      this.writable(oldDir);
      this.writable(newDir);
      withConfinedPath(oldDir, from, (source) => withConfinedPath(newDir, to, (target) => renameSync(source, target)));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_link(
    oldFd: number, lookupFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number,
  ): number {
    try {
      const follow = (lookupFlags & LookupFlags.symlinkFollow) !== 0;
      const [oldDir, from] = this.resolve(oldFd, Rights.pathLinkSource, oldPtr, oldLen, follow);
      const [newDir, to] = this.resolve(newFd, Rights.pathLinkTarget, newPtr, newLen, false);
      if (from.stat === undefined) throw errno('noent');
      if (from.stat.isDirectory()) throw errno('perm');
      if (to.stat !== undefined) throw errno('exist');
      if (from.trailingSlash || to.trailingSlash) throw errno(to.trailingSlash ? 'noent' : 'notdir');
      this.writable(oldDir);
      this.writable(newDir);
      withConfinedPath(oldDir, from, (source) => withConfinedPath(newDir, to, (target) => linkSync(source, target)));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number {
    try {
      this.sync();
      const target = this.readPath(oldPtr, oldLen);
      const [dir, resolved] = this.resolve(fd, Rights.pathSymlink, newPtr, newLen, false);
      if (resolved.stat !== undefined) throw errno('exist');
      if (resolved.trailingSlash) throw errno('noent');
      if (target.startsWith('/')) throw errno('notcapable');
      this.writable(dir);
      withConfinedPath(dir, resolved, (path) => symlinkSync(target, path));
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  path_readlink(fd: number, pathPtr: number, pathLen: number, bufPtr: number, bufLen: number, usedPtr: number): number {
    try {
      const [dir, resolved] = this.resolve(fd, Rights.pathReadlink, pathPtr, pathLen, false);
      if (resolved.stat === undefined) throw errno('noent');
      if (!resolved.stat.isSymbolicLink()) throw errno('inval');
      const target = withConfinedPath(dir, resolved, (path) => readlinkSync(path, { encoding: 'buffer' }));
      const count = Math.min(target.byteLength, bufLen);
      this.range(bufPtr, count).set(target.subarray(0, count));
      this.view.setUint32(usedPtr, count, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  // ---- poll -------------------------------------------------------------------------------

  poll_oneoff(inPtr: number, outPtr: number, count: number, eventsPtr: number): number {
    try {
      if (count === 0) throw errno('inval');
      this.sync();
      const view = this.view;
      const now = process.hrtime.bigint();
      let earliest: bigint | undefined;
      const deadlines: (bigint | undefined)[] = [];
      let events = 0;
      const emit = (userdata: bigint, error: number, type: number, nbytes: bigint): void => {
        const at = outPtr + events * 32;
        this.range(at, 32).fill(0);
        view.setBigUint64(at, userdata, true);
        view.setUint16(at + 8, error, true);
        view.setUint8(at + 10, type);
        view.setBigUint64(at + 16, nbytes, true);
        events += 1;
      };

      for (let i = 0; i < count; i++) {
        const sub = inPtr + i * 48;
        const userdata = view.getBigUint64(sub, true);
        const tag = view.getUint8(sub + 8);
        if (tag === EventType.clock) {
          const clockId = view.getUint32(sub + 16, true);
          const timeout = view.getBigUint64(sub + 24, true);
          const absolute = (view.getUint16(sub + 40, true) & SubclockFlags.abstime) !== 0;
          let deadline: bigint;
          try {
            deadline = absolute ? now + (timeout - clockNow(clockId)) : (clockNow(clockId), now + timeout);
          } catch {
            emit(userdata, Errno.inval, EventType.clock, 0n);
            deadlines.push(undefined);
            continue;
          }
          deadlines.push(deadline);
          if (earliest === undefined || deadline < earliest) earliest = deadline;
        } else if (tag === EventType.fdRead || tag === EventType.fdWrite) {
          deadlines.push(undefined);
          const fd = view.getUint32(sub + 16, true);
          if (!this.fds.has(fd)) {
            emit(userdata, Errno.badf, tag, 0n);
            continue;
          }
          emit(userdata, Errno.success, tag, this.readyBytes(this.fds.get(fd), tag));
        } else {
          deadlines.push(undefined);
          emit(userdata, Errno.inval, tag, 0n);
        }
      }

      if (events === 0 && earliest !== undefined) {
        if (this.deadline !== undefined && performance.now() + Number(earliest - process.hrtime.bigint()) / Number(NS_PER_MS) > this.deadline) {
          throw new DeadlineError();
        }
        for (;;) {
          const remaining = earliest - process.hrtime.bigint();
          if (remaining <= 0n) break;
          sleepMs(Math.min(MAX_SLEEP_SLICE_MS, Number(remaining) / Number(NS_PER_MS)));
        }
      }
      const after = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        const deadline = deadlines[i];
        if (deadline !== undefined && deadline <= after) {
          emit(view.getBigUint64(inPtr + i * 48, true), Errno.success, EventType.clock, 0n);
        }
      }
      view.setUint32(eventsPtr, events, true);
      return Errno.success;
    } catch (error) {
      return this.fail(error);
    }
  }

  private readyBytes(entry: FdEntry, type: number): bigint {
    if (type === EventType.fdWrite) return 0n;
    if (entry.kind === 'input') return BigInt(entry.source.available());
    if (entry.kind === 'file') {
      const size = Number(fstatSync(entry.hostFd, { bigint: true }).size);
      return BigInt(Math.max(0, size - this.position(entry)));
    }
    return 0n;
  }

  // ---- sockets: not offered ---------------------------------------------------------------

  sock_accept(fd: number): number {
    return this.noSockets(fd);
  }

  sock_recv(fd: number): number {
    return this.noSockets(fd);
  }

  sock_send(fd: number): number {
    return this.noSockets(fd);
  }

  sock_shutdown(fd: number): number {
    return this.noSockets(fd);
  }

  private noSockets(fd: number): number {
    return this.fds.has(fd) ? Errno.notsock : Errno.badf;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed on the host: nothing to release.
  }
}

/** Every function of `wasi_snapshot_preview1`, in the order of the witx definitions. */
export const WASI_FUNCTION_NAMES = [
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags',
  'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread',
  'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek',
  'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times',
  'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get', 'sock_accept',
  'sock_recv', 'sock_send', 'sock_shutdown',
] as const;

const WASI_FUNCTIONS: ReadonlySet<string> = new Set(WASI_FUNCTION_NAMES);
