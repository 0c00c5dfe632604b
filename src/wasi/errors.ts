/**
 * Errors of the WASI host. Two kinds live here:
 * - `WasiRunError` and its subclasses end a run and reach the caller, each with a stable code;
 * - `ErrnoError` and `ProcExit` are signals inside a run: the first becomes the errno a WASI
 *   function returns, the second carries `proc_exit` out of the guest's stack.
 */
import { Errno, SIGNAL_NAMES, type ErrnoName } from './constants.js';

export type WasiRunErrorCode =
  | 'WASIO_ERR_TRAP'
  | 'WASIO_ERR_PROC_RAISE'
  | 'WASIO_ERR_OUTPUT_LIMIT'
  | 'WASIO_ERR_LINK'
  | 'WASIO_ERR_NOT_COMMAND'
  | 'WASIO_ERR_DEADLINE';

/** A run of a module that ended without an exit code. */
export class WasiRunError extends Error {
  override readonly name: string = 'WasiRunError';
  /** Size of the guest's memory when the run ended, when it got that far. */
  memoryBytes = 0;
  constructor(
    readonly code: WasiRunErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The guest trapped: `unreachable`, a stack overflow, an out-of-bounds access, ... */
export class TrapError extends WasiRunError {
  override readonly name = 'TrapError';
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super('WASIO_ERR_TRAP', `module trapped: ${reason}`, options);
  }
}

/** The guest called `proc_raise`; the host process is never signalled. */
export class ProcRaiseError extends WasiRunError {
  override readonly name = 'ProcRaiseError';
  constructor(readonly signal: number) {
    super('WASIO_ERR_PROC_RAISE', `module raised signal ${signalName(signal)}`);
  }
}

/** stdout and stderr together passed their cap; the run was stopped at that write. */
export class OutputLimitError extends WasiRunError {
  override readonly name = 'OutputLimitError';
  constructor(readonly limitBytes: number) {
    super('WASIO_ERR_OUTPUT_LIMIT', `module output exceeded the limit of ${limitBytes} bytes`);
  }
}

/** The module needs imports this host does not provide, or exports no memory. */
export class LinkError extends WasiRunError {
  override readonly name = 'LinkError';
  constructor(message: string, readonly missing: readonly string[] = [], options?: { cause?: unknown }) {
    super('WASIO_ERR_LINK', message, options);
  }
}

/** The module is not a WASI command: it exports no `_start`. */
export class NotCommandError extends WasiRunError {
  override readonly name = 'NotCommandError';
  constructor() {
    super('WASIO_ERR_NOT_COMMAND', 'module exports no _start function (not a WASI command)');
  }
}

/**
 * The run was still going at its deadline (`WasiOptions.deadline`), or asked to sleep past it:
 * it was stopped at that WASI call.
 */
export class DeadlineError extends WasiRunError {
  override readonly name = 'DeadlineError';
  constructor() {
    super('WASIO_ERR_DEADLINE', 'module ran past its deadline');
  }
}

/** Raised inside a WASI function to make it return `errno`. Never leaves the host. */
export class ErrnoError extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

/** Carries `proc_exit` out of the guest. Not an `Error`: nothing should log it. */
export class ProcExit {
  constructor(readonly code: number) {}
}

/** Shorthand for `new ErrnoError(Errno[name])`. */
export function errno(name: ErrnoName): ErrnoError {
  return new ErrnoError(Errno[name]);
}

function signalName(signal: number): string {
  const name = SIGNAL_NAMES[signal];
  return name === undefined ? String(signal) : `SIG${name} (${signal})`;
}

const SPECIAL_CODES: Readonly<Record<string, ErrnoName>> = {
  E2BIG: '2big',
  ENOTSUP: 'notsup',
  EOPNOTSUPP: 'notsup',
  EWOULDBLOCK: 'again',
  ENOTEMPTY: 'notempty',
  EEXIST: 'exist',
};

/**
 * Maps an exception thrown by `node:fs` (or by our own checks) to a WASI errno. POSIX error
 * names and WASI errno names are the same words, so `ENOENT` maps to `noent` by spelling.
 * Node's own argument errors (`ERR_*`, e.g. a NUL byte in a path) become `inval`.
 */
export function errnoFromException(error: unknown): number {
  if (error instanceof ErrnoError) return error.errno;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') throw error;
  if (code.startsWith('ERR_')) return Errno.inval;
  const special = SPECIAL_CODES[code];
  if (special !== undefined) return Errno[special];
  const name = code.slice(1).toLowerCase();
  return Object.hasOwn(Errno, name) ? Errno[name as ErrnoName] : Errno.io;
}
