/**
 * How a module is compiled. V8 compiles each WebAssembly function on its first call, so by
 * default the first run of a module pays for compiling every function it reaches: for a Go
 * module, about 80 ms more than each later run. Compiling the module whole moves that cost to
 * load time, and costs memory for functions no run ever calls (about 15 MB more per Go module).
 *
 * V8 has no per-module switch, only the process-wide flag `--wasm-lazy-compilation`. A whole
 * compilation clears it around one synchronous compile and sets it back before returning, so
 * no other compilation can start under it: on Node 24, an asynchronous compile made while it
 * is cleared keeps nothing waiting for it, so a process with nothing else to do exits (status
 * 13) before it settles.
 */
import { setFlagsFromString } from 'node:v8';

/** `lazy`: functions compile on first call, off this thread. `whole`: every function now, blocking this thread. */
export type CompileMode = 'lazy' | 'whole';

export function compileModule(bytes: Uint8Array<ArrayBuffer>, mode: CompileMode): Promise<WebAssembly.Module> {
  if (mode === 'lazy') return WebAssembly.compile(bytes);
  setFlagsFromString('--no-wasm-lazy-compilation');
  try {
    return Promise.resolve(new WebAssembly.Module(bytes));
  } catch (error) {
    return Promise.reject(error as Error);
  } finally {
    setFlagsFromString('--wasm-lazy-compilation');
  }
}
