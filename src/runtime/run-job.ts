/**
 * One run of a loaded module, on whichever thread calls it: a worker, or the HTTP thread for a
 * run it may make itself (`inline-runs.ts`). Turns whatever the run did into its exit code and
 * output, or how it failed.
 */
import {
  CaptureSink, ProcRaiseError, runCommand, TrapError, WasiRunError, type RunResult, type WasiOptions,
} from '../wasi/index.js';
import { ReusableInstance } from './instance-reuse.js';
import { WASM_PAGE_BYTES } from './memory-limit.js';
import type { SpareMemory } from './memory-reuse.js';
import type { LoadedModule, RunResultMessage, RunSpec } from './messages.js';

/**
 * A guest that failed with its memory grown close to the limit most likely failed for want of
 * memory: an allocator grows by what it needs at once (a 1 MiB malloc asks for 17 pages), so
 * "close" is within an eighth of the limit.
 */
function atMemoryLimit(loaded: LoadedModule, memoryBytes: number): boolean {
  return memoryBytes + Math.max(WASM_PAGE_BYTES, loaded.memoryLimitBytes / 8) > loaded.memoryLimitBytes;
}

/** Runs on the spare's instance, made first if the module's instances can run again, else on a new instance. */
function runOn(loaded: LoadedModule, spare: SpareMemory | undefined, options: WasiOptions): RunResult {
  if (spare === undefined || loaded.memoryImport === undefined || loaded.instanceReset === undefined) {
    return runCommand(loaded.module, options, loaded.memoryImport, spare?.memory);
  }
  spare.instance ??= ReusableInstance.create(loaded.module, loaded.memoryImport, spare.memory, loaded.instanceReset);
  return spare.instance.run(options);
}

/**
 * Runs `spec` with `loaded`, on the memory (and instance) of `spare` when given, stopped at
 * `deadline` (a `performance.now()` time) when given.
 */
export function runJob(loaded: LoadedModule, spec: RunSpec, spare: SpareMemory | undefined, deadline?: number): RunResultMessage {
  const stdout = new CaptureSink();
  const stderr = new CaptureSink();
  const started = performance.now();
  try {
    // Field by field: on the request path, a spread copy measured several microseconds a run.
    const options: WasiOptions = {
      args: spec.args, env: spec.env, stdin: spec.stdin, mounts: spec.mounts, maxOutputBytes: spec.maxOutputBytes,
      maxOpenFiles: spec.maxOpenFiles, stdout, stderr, deadline,
    };
    const { exitCode, memoryBytes } = runOn(loaded, spare, options);
    const memoryLimitHit = exitCode !== 0 && atMemoryLimit(loaded, memoryBytes);
    return { ok: true, exitCode, memoryLimitHit, stdout: stdout.bytes(), stderr: stderr.bytes(), runMs: performance.now() - started };
  } catch (error) {
    if (!(error instanceof WasiRunError)) throw error;
    let reason = error instanceof TrapError ? error.reason
      : error instanceof ProcRaiseError ? `signal ${error.signal}` : undefined;
    if (atMemoryLimit(loaded, error.memoryBytes)) reason = `memory limit reached (${reason ?? error.code})`;
    return { ok: false, code: error.code, message: error.message, reason, stderr: stderr.bytes(), runMs: performance.now() - started };
  }
}
