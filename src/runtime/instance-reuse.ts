/**
 * Instance reuse between runs of a module: a worker runs the next request of a module on the
 * instance of its last run, put back as instantiation left it, instead of a new instance.
 * Creating an instance costs a small C guest more than its whole run (about 24 of 37 µs for
 * `tiny_hello`), and every instance is garbage that only a full collection frees.
 *
 * What a run leaves behind in an instance is its memory, its mutable globals, its tables and
 * the segments it dropped. The load-time rewrite (`importDefinedMemory`) exports every mutable
 * global and offers a module for reuse only when no code of it changes a table or drops a
 * segment, when it has no start function (whose WASI calls would be made once, not per run),
 * and when its data segments sit at constant offsets, whose pages it notes. So putting back
 * those pages over a zeroed memory, its size as the guest sees it, and the globals' values
 * makes the instance, to the guest, exactly a new one.
 */
import type { InstanceReset } from './memory-limit.js';
import { instantiateCommand, runInstance, type CommandInstance, type ProvidedMemory, type RunResult, type WasiOptions } from '../wasi/index.js';

/** Bytes of the memory as instantiation left them, by offset. */
interface ImageRange {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

interface GlobalValue {
  readonly global: WebAssembly.Global;
  readonly value: unknown;
}

export class ReusableInstance {
  private constructor(
    private readonly command: CommandInstance,
    private readonly image: readonly ImageRange[],
    private readonly globals: readonly GlobalValue[],
  ) {}

  /**
   * Instantiates `module` on `memory` (every byte zero, as `runCommand` requires) and records
   * what instantiation left in it: the bytes of the data segments' ranges and the values of
   * the globals `reset` names. Throws as `instantiateCommand` does.
   */
  static create(module: WebAssembly.Module, memoryImport: ProvidedMemory, memory: WebAssembly.Memory, reset: InstanceReset): ReusableInstance {
    const command = instantiateCommand(module, memoryImport, memory);
    const globals = reset.globals.map((name) => {
      const global = exportedGlobal(command, name);
      return { global, value: global.value as unknown };
    });
    const bytes = new Uint8Array(command.memory.buffer);
    const image = reset.data.map(([start, end]) => ({ offset: start, bytes: bytes.slice(start, end) }));
    return new ReusableInstance(command, image, globals);
  }

  /** The global the instance exports as `name`; throws `TypeError` when there is none. */
  exportedGlobal(name: string): WebAssembly.Global {
    return exportedGlobal(this.command, name);
  }

  run(options: WasiOptions): RunResult {
    return runInstance(this.command, options);
  }

  /**
   * Writes back what instantiation left: the memory's bytes and the globals' values. The
   * memory must be all zeros before (`zeroDirtyPages`); any size it grew to beyond that stays,
   * zero, outside the size the guest sees.
   */
  restore(): void {
    const bytes = new Uint8Array(this.command.memory.buffer);
    for (const range of this.image) bytes.set(range.bytes, range.offset);
    for (const { global, value } of this.globals) global.value = value;
  }
}

function exportedGlobal(command: CommandInstance, name: string): WebAssembly.Global {
  const global = command.instance.exports[name];
  if (!(global instanceof WebAssembly.Global)) throw new TypeError(`module exports no global ${name}`);
  return global;
}
