/**
 * Compiled modules, kept so each file is compiled once. Concurrent first requests for the
 * same file share one compilation; a file that changes on disk is dropped and compiled
 * afresh on its next use; the number kept is bounded (least recently used goes first).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LRUCache } from 'lru-cache';
import { missingImports } from '../wasi/index.js';
import { compileModule, type CompileMode } from './compile.js';
import { moduleCompiledChannel } from './diagnostics.js';
import { ModuleLoadError } from './errors.js';
import { meterFuel } from './fuel.js';
import { importDefinedMemory } from './memory-reuse.js';
import { limitMemory, type InstanceReset, type MemoryImport } from './memory-limit.js';

export interface CompiledModule {
  /** Unique per compilation: workers cache modules by it. */
  readonly id: number;
  readonly path: string;
  readonly module: WebAssembly.Module;
  readonly byteLength: number;
  readonly compileMs: number;
  /** The memory limit written into this compilation. */
  readonly memoryLimitBytes: number;
  /**
   * A memory the module imports (its own, or the one it defines, rewritten for reuse), which
   * the host provides with the limited maximum.
   */
  readonly memoryImport: MemoryImport | undefined;
  /** Set when an instance can run again, put back as instantiation left it (see instance-reuse). */
  readonly instanceReset: InstanceReset | undefined;
  /**
   * The same module with fuel metering, for runs on the HTTP thread (`inline-runs.ts`): made
   * only when the store meters, for a small module whose instances can run again.
   */
  readonly metered: MeteredCompilation | undefined;
}

export interface MeteredCompilation {
  readonly module: WebAssembly.Module;
  /** The exported global to set to the fuel a run may spend. */
  readonly fuelExport: string;
}

/** The largest module file given a metered twin: a module this small instantiates in well under a millisecond. */
export const METERED_MODULE_MAX_BYTES = 1024 * 1024;

export interface ModuleStoreOptions {
  /** How many compiled modules to keep. */
  readonly maxModules: number;
  /** Watch module files and drop a module when its file changes. */
  readonly watch?: boolean;
  /** Told after each compilation (for logs and metrics). */
  readonly onCompiled?: (module: CompiledModule) => void;
  /** Told when a watched file changed and its module was dropped. */
  readonly onChanged?: (path: string) => void;
  /** Compile a metered twin of each small module, for runs on the HTTP thread (`inline-runs.ts`). */
  readonly meter?: boolean;
}

export interface ModuleStoreStats {
  readonly hits: number;
  readonly misses: number;
  readonly compiles: number;
  readonly cached: number;
}

let nextModuleId = 1;

/** Past this many paths asked for, the keys remembered for them are forgotten and made anew. */
const MAX_REMEMBERED_KEYS = 1024;

export class ModuleStore {
  private readonly modules: LRUCache<string, Promise<CompiledModule>>;
  /** The compilations that have finished, so a request for one needs no promise. */
  private readonly settled = new WeakMap<Promise<CompiledModule>, CompiledModule>();
  /**
   * Each path's key, by path as asked and memory limit: a route asks with the same two on every
   * request, and resolving the path and joining the key each time cost more than the lookup.
   */
  private readonly keys = new Map<string, Map<number, string>>();
  private readonly watchers = new Map<string, FSWatcher>();
  private hits = 0;
  private misses = 0;
  private compiles = 0;

  constructor(private readonly options: ModuleStoreOptions) {
    this.modules = new LRUCache({ max: Math.max(1, options.maxModules) });
  }

  /**
   * The compiled module of `path` with its memory capped at `memoryLimitMb`. Compiles on
   * first use; rejects with `ModuleLoadError` when the file cannot be read, is not
   * WebAssembly, needs more memory than the limit to start, or needs imports the WASI host
   * does not provide. A failed load is not kept, so a fixed file loads. `mode` applies only
   * when this call compiles: see `CompileMode`.
   */
  get(path: string, memoryLimitMb: number, mode: CompileMode = 'lazy'): Promise<CompiledModule> {
    const key = this.keyOf(path, memoryLimitMb);
    const cached = this.modules.get(key);
    if (cached !== undefined) {
      this.hits += 1;
      return cached;
    }
    this.misses += 1;
    const absolute = resolve(path);
    const loading = this.compile(absolute, memoryLimitMb, mode);
    this.modules.set(key, loading);
    loading.then((module) => this.settled.set(loading, module), () => {
      if (this.modules.peek(key) === loading) this.modules.delete(key);
    });
    if (this.options.watch === true) this.watchDirectory(dirname(absolute));
    return loading;
  }

  /**
   * The compiled module `get` would give, when it is compiled and kept already (counted as a
   * hit); else undefined, and `get` is the way.
   */
  compiled(path: string, memoryLimitMb: number): CompiledModule | undefined {
    const cached = this.modules.get(this.keyOf(path, memoryLimitMb));
    const module = cached === undefined ? undefined : this.settled.get(cached);
    if (module !== undefined) this.hits += 1;
    return module;
  }

  private keyOf(path: string, memoryLimitMb: number): string {
    let byLimit = this.keys.get(path);
    if (byLimit === undefined) {
      if (this.keys.size >= MAX_REMEMBERED_KEYS) this.keys.clear();
      byLimit = new Map();
      this.keys.set(path, byLimit);
    }
    let key = byLimit.get(memoryLimitMb);
    if (key === undefined) {
      key = `${resolve(path)}\0${memoryLimitMb}`;
      byLimit.set(memoryLimitMb, key);
    }
    return key;
  }

  /** Drops every compilation of `path`; the next `get` compiles it again. Returns whether any was kept. */
  invalidate(path: string): boolean {
    const prefix = `${resolve(path)}\0`;
    let dropped = false;
    for (const key of [...this.modules.keys()]) {
      if (key.startsWith(prefix)) dropped = this.modules.delete(key) || dropped;
    }
    return dropped;
  }

  stats(): ModuleStoreStats {
    return { hits: this.hits, misses: this.misses, compiles: this.compiles, cached: this.modules.size };
  }

  /** Stops watching files. */
  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private async compile(path: string, memoryLimitMb: number, mode: CompileMode): Promise<CompiledModule> {
    let file: Uint8Array;
    try {
      file = await readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ModuleLoadError(path, code === 'ENOENT' ? 'file not found' : String(error), { cause: error });
    }
    const started = performance.now();
    const limited = importDefinedMemory(limitMemory(file, memoryLimitMb, path));
    let module: WebAssembly.Module;
    try {
      module = await compileModule(limited.bytes as Uint8Array<ArrayBuffer>, mode);
    } catch (error) {
      throw new ModuleLoadError(path, `not a valid WebAssembly module (${(error as Error).message})`, { cause: error });
    }
    const missing = missingImports(module, limited.memoryImport);
    if (missing.length > 0) {
      throw new ModuleLoadError(path, `needs imports the WASI host does not provide: ${missing.join(', ')}`);
    }
    if (!WebAssembly.Module.exports(module).some((entry) => entry.name === '_start' && entry.kind === 'function')) {
      throw new ModuleLoadError(path, 'exports no _start function (not a WASI command)');
    }
    const metered = this.options.meter !== true || limited.instanceReset === undefined || file.byteLength > METERED_MODULE_MAX_BYTES
      ? undefined : await compileMetered(limited.bytes, mode);
    this.compiles += 1;
    const compiled: CompiledModule = {
      id: nextModuleId++, path, module, byteLength: file.byteLength, compileMs: performance.now() - started,
      memoryLimitBytes: memoryLimitMb * 2 ** 20, memoryImport: limited.memoryImport, instanceReset: limited.instanceReset, metered,
    };
    this.options.onCompiled?.(compiled);
    if (moduleCompiledChannel.hasSubscribers) {
      moduleCompiledChannel.publish({ store: this, path, compileMs: compiled.compileMs, byteLength: compiled.byteLength });
    }
    return compiled;
  }

  /** Watches the folder, not the file: editors and build tools replace files by renaming. */
  private watchDirectory(directory: string): void {
    if (this.watchers.has(directory)) return;
    try {
      const watcher = watch(directory, { persistent: false }, (_event, filename) => {
        if (filename === null) return;
        const path = resolve(directory, basename(filename.toString()));
        if (this.invalidate(path)) this.options.onChanged?.(path);
      });
      watcher.on('error', () => this.watchers.delete(directory));
      this.watchers.set(directory, watcher);
    } catch {
      // A folder that cannot be watched still serves; its modules just do not hot-reload.
    }
  }
}

/** The metered twin of a module; undefined when metering does not understand it or its twin does not compile. */
async function compileMetered(bytes: Uint8Array, mode: CompileMode): Promise<MeteredCompilation | undefined> {
  const metered = meterFuel(bytes);
  if (metered === undefined) return undefined;
  try {
    return { module: await compileModule(metered.bytes as Uint8Array<ArrayBuffer>, mode), fuelExport: metered.fuelExport };
  } catch {
    // The module compiled as it was; without its twin it only ever runs on a worker.
    return undefined;
  }
}
