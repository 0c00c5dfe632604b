/**
 * Runs a WASI command module once: link, instantiate, call `_start`, and turn whatever
 * happened into an exit code or a typed `WasiRunError`. Nothing a guest does ends the host.
 */
import { LinkError, NotCommandError, ProcExit, TrapError, WasiRunError } from './errors.js';
import { WASI_FUNCTION_NAMES, WasiHost, type WasiOptions } from './host.js';

export interface RunResult {
  /** The `proc_exit` code, or 0 when `_start` returned. */
  readonly exitCode: number;
}

const WASI_MODULE = 'wasi_snapshot_preview1';
const PROVIDED = new Set<string>(WASI_FUNCTION_NAMES);

/**
 * Lists the imports of `module` that this host cannot satisfy, as `module.name` strings.
 * An empty list means the module links.
 */
export function missingImports(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.imports(module)
    .filter((entry) => !(entry.module === WASI_MODULE && entry.kind === 'function' && PROVIDED.has(entry.name)))
    .map((entry) => `${entry.module}.${entry.name} (${entry.kind})`);
}

/** Names a trap the way people say it; V8's messages differ a little between versions. */
export function trapReason(error: unknown): string | undefined {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'stack overflow';
  if (!(error instanceof WebAssembly.RuntimeError)) return undefined;
  const message = error.message;
  if (/unreachable/i.test(message)) return 'unreachable';
  if (/out of bounds/i.test(message) && /memory/i.test(message)) return 'out of bounds memory access';
  return message;
}

/**
 * Instantiates `module` with a fresh WASI host and runs its `_start`.
 * Returns the exit code; throws `WasiRunError` (trap, `proc_raise`, output limit, link
 * failure, not a command). Every descriptor the guest opened is closed before it returns.
 */
export function runCommand(module: WebAssembly.Module, options: WasiOptions = {}): RunResult {
  const missing = missingImports(module);
  if (missing.length > 0) {
    throw new LinkError(`module needs imports this host does not provide: ${missing.join(', ')}`, missing);
  }
  const host = new WasiHost(options);
  try {
    const instance = instantiate(module, host);
    const memory = instance.exports['memory'];
    if (!(memory instanceof WebAssembly.Memory)) throw new LinkError('module exports no memory named "memory"');
    const start = instance.exports['_start'];
    if (typeof start !== 'function') throw new NotCommandError();
    host.attachMemory(memory);
    try {
      (start as () => void)();
      return { exitCode: 0 };
    } catch (error) {
      return { exitCode: exitCodeOrThrow(error) };
    }
  } finally {
    host.dispose();
  }
}

function instantiate(module: WebAssembly.Module, host: WasiHost): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(module, { [WASI_MODULE]: host.imports() });
  } catch (error) {
    if (error instanceof WebAssembly.LinkError) throw new LinkError(error.message, [], { cause: error });
    exitCodeOrThrow(error);
    throw error;
  }
}

function exitCodeOrThrow(error: unknown): number {
  if (error instanceof ProcExit) return error.code;
  if (error instanceof WasiRunError) throw error;
  const reason = trapReason(error);
  if (reason !== undefined) throw new TrapError(reason, { cause: error });
  throw error;
}
