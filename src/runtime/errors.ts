/**
 * Errors of the runtime layer, each with a stable code. The http layer maps codes to
 * statuses; the messages name the module, the limit or the reason.
 */
export type RuntimeErrorCode =
  | 'WASIO_ERR_MODULE_LOAD'
  | 'WASIO_ERR_TIMEOUT'
  | 'WASIO_ERR_QUEUE_FULL'
  | 'WASIO_ERR_ABORTED'
  | 'WASIO_ERR_WORKER_EXIT'
  | 'WASIO_ERR_POOL_CLOSED'
  | 'WASIO_ERR_TRAP'
  | 'WASIO_ERR_PROC_RAISE'
  | 'WASIO_ERR_OUTPUT_LIMIT'
  | 'WASIO_ERR_LINK'
  | 'WASIO_ERR_NOT_COMMAND'
  | 'WASIO_ERR_DEADLINE';

export class RuntimeError extends Error {
  override readonly name: string = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A module file could not be read, compiled or linked. */
export class ModuleLoadError extends RuntimeError {
  override readonly name = 'ModuleLoadError';
  constructor(readonly path: string, readonly reason: string, options?: { cause?: unknown }) {
    super('WASIO_ERR_MODULE_LOAD', `cannot load module ${path}: ${reason}`, options);
  }
}

/**
 * A run that ended without an exit code: a trap, `proc_raise`, the output limit, the
 * timeout, the worker dying, or the caller giving up. Carries what the guest wrote to
 * stderr before it ended, for the log.
 */
export class RunFailure extends RuntimeError {
  override readonly name = 'RunFailure';
  constructor(
    code: RuntimeErrorCode,
    message: string,
    readonly stderr: Uint8Array = new Uint8Array(0),
    readonly reason?: string,
  ) {
    super(code, message);
  }
}
