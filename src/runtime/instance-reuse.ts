/**
 * Instance reuse between runs of a module: a worker runs the next request of a module on the
 * instance of its last run, put back as instantiation left it, instead of a new instance.
 * Creating an instance costs a small C guest more than its whole run (about 24 of 37 µs for
 * `tiny_hello`), and every instance is garbage that only a full collection frees.
 *
 * What a run leaves behind in an instance is its memory, its mutable globals, its tables and
 * the segments it dropped. The load-time rewrite (`importDefinedMemory`) exports every mutable
 * global and offers a module for reuse only when no code of it changes a table or drops a
 * segment, and when it has no start function (whose WASI calls would be made once, not per
 * run). So putting back the memory's bytes, its size as the guest sees it, and the globals'
 * values makes the instance, to the guest, exactly a new one.
 */
import { instantiateCommand, runInstance, type CommandInstance, type ProvidedMemory, type RunResult, type WasiOptions } from '../wasi/index.js';

/** The granularity of the memory image: the page size of the page cleaner. */
const IMAGE_PAGE_BYTES = 4096;
const ZERO_PAGE = new Uint8Array(IMAGE_PAGE_BYTES);

/** Bytes of the memory that are not all zero right after instantiation, by offset. */
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
   * what instantiation left in the memory and in the globals named by `resetGlobals`.
   * Throws as `instantiateCommand` does.
   */
  static create(
    module: WebAssembly.Module, memoryImport: ProvidedMemory, memory: WebAssembly.Memory, resetGlobals: readonly string[],
  ): ReusableInstance {
    const command = instantiateCommand(module, memoryImport, memory);
    const globals = resetGlobals.map((name) => {
      const global = exportedGlobal(command, name);
      return { global, value: global.value as unknown };
    });
    return new ReusableInstance(command, memoryImage(command.memory), globals);
  }

  get memory(): WebAssembly.Memory {
    return this.command.memory;
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

/** Copies of every run of 4 KiB pages of `memory` that hold a non-zero byte. */
function memoryImage(memory: WebAssembly.Memory): ImageRange[] {
  const bytes = new Uint8Array(memory.buffer);
  const image: ImageRange[] = [];
  let rangeStart = -1;
  for (let offset = 0; offset <= bytes.byteLength; offset += IMAGE_PAGE_BYTES) {
    const dirty = offset < bytes.byteLength && Buffer.compare(ZERO_PAGE, bytes.subarray(offset, offset + IMAGE_PAGE_BYTES)) !== 0;
    if (dirty && rangeStart < 0) rangeStart = offset;
    if (!dirty && rangeStart >= 0) {
      image.push({ offset: rangeStart, bytes: bytes.slice(rangeStart, offset) });
      rangeStart = -1;
    }
  }
  return image;
}
