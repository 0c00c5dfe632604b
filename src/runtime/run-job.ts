/**
 * One run of a loaded module, turned into the message a worker sends back: exit code and
 * output, or how it failed.
 */
import { CaptureSink, runCommand, TrapError, WasiRunError, ProcRaiseError } from '../wasi/index.js';
import { WASM_PAGE_BYTES } from './memory-limit.js';
import type { LoadedModule, RunResultMessage, RunSpec } from './messages.js';

/**
 * A guest that failed with its memory grown close to the limit most likely failed for want of
 * memory: an allocator grows by what it needs at once (a 1 MiB malloc asks for 17 pages), so
 * "close" is within an eighth of the limit.
 */
function atMemoryLimit(loaded: LoadedModule, memoryBytes: number): boolean {
  return memoryBytes + Math.max(WASM_PAGE_BYTES, loaded.memoryLimitBytes / 8) > loaded.memoryLimitBytes;
}

/** Bytes whose whole buffer can be transferred: small Buffers share Node's pool, so those are copied. */
function transferable(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** `memory`: the memory the module imports, when the caller has one to reuse (see `SpareMemories`). */
export function runJob(loaded: LoadedModule, spec: RunSpec, memory?: WebAssembly.Memory): RunResultMessage {
  const stdout = new CaptureSink();
  const stderr = new CaptureSink();
  const started = performance.now();
  try {
    const { exitCode, memoryBytes } = runCommand(loaded.module, { ...spec, stdout, stderr }, loaded.memoryImport, memory);
    const memoryLimitHit = exitCode !== 0 && atMemoryLimit(loaded, memoryBytes);
    return {
      ok: true, exitCode, memoryLimitHit, stdout: transferable(stdout.bytes()), stderr: transferable(stderr.bytes()),
      runMs: performance.now() - started,
    };
  } catch (error) {
    if (!(error instanceof WasiRunError)) throw error;
    let reason = error instanceof TrapError ? error.reason
      : error instanceof ProcRaiseError ? `signal ${error.signal}` : undefined;
    if (atMemoryLimit(loaded, error.memoryBytes)) reason = `memory limit reached (${reason ?? error.code})`;
    return {
      ok: false, code: error.code, message: error.message, reason, stderr: transferable(stderr.bytes()),
      runMs: performance.now() - started,
    };
  }
}
