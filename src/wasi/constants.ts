/**
 * Numbers of the `wasi_snapshot_preview1` ABI, as the witx definitions give them.
 * Kept as plain `const` objects so the hot path compares small integers.
 */

/** Error codes returned by every WASI function (`errno`). */
export const Errno = {
  success: 0, '2big': 1, acces: 2, addrinuse: 3, addrnotavail: 4, afnosupport: 5, again: 6,
  already: 7, badf: 8, badmsg: 9, busy: 10, canceled: 11, child: 12, connaborted: 13,
  connrefused: 14, connreset: 15, deadlk: 16, destaddrreq: 17, dom: 18, dquot: 19, exist: 20,
  fault: 21, fbig: 22, hostunreach: 23, idrm: 24, ilseq: 25, inprogress: 26, intr: 27, inval: 28,
  io: 29, isconn: 30, isdir: 31, loop: 32, mfile: 33, mlink: 34, msgsize: 35, multihop: 36,
  nametoolong: 37, netdown: 38, netreset: 39, netunreach: 40, nfile: 41, nobufs: 42, nodev: 43,
  noent: 44, noexec: 45, nolck: 46, nolink: 47, nomem: 48, nomsg: 49, noprotoopt: 50, nospc: 51,
  nosys: 52, notconn: 53, notdir: 54, notempty: 55, notrecoverable: 56, notsock: 57, notsup: 58,
  notty: 59, nxio: 60, overflow: 61, ownerdead: 62, perm: 63, pipe: 64, proto: 65,
  protonosupport: 66, prototype: 67, range: 68, rofs: 69, spipe: 70, srch: 71, stale: 72,
  timedout: 73, txtbsy: 74, xdev: 75, notcapable: 76,
} as const;
export type ErrnoName = keyof typeof Errno;

/** `filetype`. */
export const FileType = {
  unknown: 0, blockDevice: 1, characterDevice: 2, directory: 3, regularFile: 4,
  socketDgram: 5, socketStream: 6, symbolicLink: 7,
} as const;

/** `fdflags`. */
export const FdFlags = { append: 1, dsync: 2, nonblock: 4, rsync: 8, sync: 16 } as const;

/** `oflags` of `path_open`. */
export const OFlags = { creat: 1, directory: 2, excl: 4, trunc: 8 } as const;

/** `lookupflags`. */
export const LookupFlags = { symlinkFollow: 1 } as const;

/** `fstflags` of the `*_set_times` calls. */
export const FstFlags = { atim: 1, atimNow: 2, mtim: 4, mtimNow: 8 } as const;

/** `whence` of `fd_seek`. */
export const Whence = { set: 0, cur: 1, end: 2 } as const;

/** `clockid`. */
export const ClockId = { realtime: 0, monotonic: 1, processCputime: 2, threadCputime: 3 } as const;

/** `eventtype` of `poll_oneoff`. */
export const EventType = { clock: 0, fdRead: 1, fdWrite: 2 } as const;

/** `subclockflags`. */
export const SubclockFlags = { abstime: 1 } as const;

/**
 * `rights`. Every right of preview 1 lies below bit 30, so rights fit a JS number and the hot
 * path never touches a BigInt for them.
 */
export const Rights = {
  fdDatasync: 1 << 0,
  fdRead: 1 << 1,
  fdSeek: 1 << 2,
  fdFdstatSetFlags: 1 << 3,
  fdSync: 1 << 4,
  fdTell: 1 << 5,
  fdWrite: 1 << 6,
  fdAdvise: 1 << 7,
  fdAllocate: 1 << 8,
  pathCreateDirectory: 1 << 9,
  pathCreateFile: 1 << 10,
  pathLinkSource: 1 << 11,
  pathLinkTarget: 1 << 12,
  pathOpen: 1 << 13,
  fdReaddir: 1 << 14,
  pathReadlink: 1 << 15,
  pathRenameSource: 1 << 16,
  pathRenameTarget: 1 << 17,
  pathFilestatGet: 1 << 18,
  pathFilestatSetSize: 1 << 19,
  pathFilestatSetTimes: 1 << 20,
  fdFilestatGet: 1 << 21,
  fdFilestatSetSize: 1 << 22,
  fdFilestatSetTimes: 1 << 23,
  pathSymlink: 1 << 24,
  pathRemoveDirectory: 1 << 25,
  pathUnlinkFile: 1 << 26,
  pollFdReadwrite: 1 << 27,
  sockShutdown: 1 << 28,
  sockAccept: 1 << 29,
} as const;

/** Rights that make sense on a regular file. */
export const FILE_RIGHTS =
  Rights.fdDatasync | Rights.fdRead | Rights.fdSeek | Rights.fdFdstatSetFlags | Rights.fdSync |
  Rights.fdTell | Rights.fdWrite | Rights.fdAdvise | Rights.fdAllocate | Rights.fdFilestatGet |
  Rights.fdFilestatSetSize | Rights.fdFilestatSetTimes | Rights.pollFdReadwrite;

/** Rights that make sense on a directory. */
export const DIRECTORY_RIGHTS =
  Rights.fdFdstatSetFlags | Rights.fdSync | Rights.fdAdvise | Rights.pathCreateDirectory |
  Rights.pathCreateFile | Rights.pathLinkSource | Rights.pathLinkTarget | Rights.pathOpen |
  Rights.fdReaddir | Rights.pathReadlink | Rights.pathRenameSource | Rights.pathRenameTarget |
  Rights.pathFilestatGet | Rights.pathFilestatSetSize | Rights.pathFilestatSetTimes |
  Rights.fdFilestatGet | Rights.fdFilestatSetTimes | Rights.pathSymlink |
  Rights.pathRemoveDirectory | Rights.pathUnlinkFile | Rights.pollFdReadwrite;

const STREAM_RIGHTS = Rights.fdFdstatSetFlags | Rights.fdFilestatGet | Rights.pollFdReadwrite;

/** Rights of stdin: it can be read, not written. */
export const INPUT_RIGHTS = STREAM_RIGHTS | Rights.fdRead;

/** Rights of stdout and stderr: they can be written, not read. */
export const OUTPUT_RIGHTS = STREAM_RIGHTS | Rights.fdWrite;

/** Rights that change what is stored: refused with `rofs` on a read-only mount. */
export const WRITE_RIGHTS = Rights.fdWrite | Rights.fdAllocate | Rights.fdFilestatSetSize |
  Rights.fdDatasync;

/** Signals of `proc_raise`, by number, for messages. */
export const SIGNAL_NAMES: readonly string[] = [
  'NONE', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV',
  'USR2', 'PIPE', 'ALRM', 'TERM', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU',
  'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'POLL', 'PWR', 'SYS',
];
