/**
 * `wasio run`: runs one module the way `wasmtime run` does. The module's stdout and stderr
 * are the process's, and the process exits with the module's exit code.
 */
import { readFileSync } from 'node:fs';
import { FdSink, FdSource, ProcRaiseError, runCommand, WasiRunError, type MountOptions } from '../wasi/index.js';
import { CliUsageError } from './errors.js';

export interface RunCommandOptions {
  readonly dir: readonly string[];
  readonly env: readonly string[];
  readonly stdin?: string;
}

/** Exit status for a trap, as wasmtime reports one (128 + SIGABRT). */
export const TRAP_EXIT_STATUS = 134;

/** Parses `HOST::GUEST[:ro]` (or a bare `HOST`, visible under the same name). */
export function parseDirSpec(spec: string): MountOptions {
  const separator = spec.indexOf('::');
  if (separator === -1) return { host: spec, guest: spec, readonly: false };
  const host = spec.slice(0, separator);
  let guest = spec.slice(separator + 2);
  let readonly = false;
  if (guest.endsWith(':ro')) {
    guest = guest.slice(0, -3);
    readonly = true;
  }
  if (host === '' || guest === '') throw new CliUsageError(`--dir ${spec}: expected HOST::GUEST[:ro]`);
  return { host, guest, readonly };
}

/** Parses `KEY=VALUE`. */
export function parseEnvSpec(spec: string): [string, string] {
  const separator = spec.indexOf('=');
  if (separator <= 0) throw new CliUsageError(`--env ${spec}: expected KEY=VALUE`);
  return [spec.slice(0, separator), spec.slice(separator + 1)];
}

/** Runs `modulePath` with `args`; resolves to the exit status the process should end with. */
export async function runModuleFile(modulePath: string, args: readonly string[], options: RunCommandOptions): Promise<number> {
  const module = await WebAssembly.compile(readFileSync(modulePath));
  const stderr = new FdSink(2);
  try {
    const result = runCommand(module, {
      args: [modulePath, ...args],
      env: Object.fromEntries(options.env.map(parseEnvSpec)),
      stdin: options.stdin === undefined ? new FdSource(0) : readFileSync(options.stdin),
      stdout: new FdSink(1),
      stderr,
      mounts: options.dir.map(parseDirSpec),
    });
    return result.exitCode;
  } catch (error) {
    if (!(error instanceof WasiRunError)) throw error;
    stderr.write(Buffer.from(`wasio: ${error.message}\n`));
    return error instanceof ProcRaiseError ? 128 + error.signal : TRAP_EXIT_STATUS;
  }
}
