/**
 * The runtime's one entry point: give it a module file and what the run needs, get back the
 * exit code and output. It owns the module store and the worker pool.
 */
import type { RunSpec } from './messages.js';
import { ModuleStore, type CompiledModule, type ModuleStoreStats } from './module-store.js';
import { WorkerPool, type AbortFlag, type PoolStats, type RunOutcome } from './worker-pool.js';

export interface RuntimeOptions {
  readonly workers: number;
  readonly maxQueue: number;
  /** Compiled modules kept (in the store and in each worker). */
  readonly maxModules: number;
  /** Recompile a module when its file changes. */
  readonly watchModules: boolean;
  readonly onCompiled?: (module: CompiledModule) => void;
  readonly onModuleChanged?: (path: string) => void;
  readonly onWorkerReplaced?: (reason: string) => void;
  /** Short runs of small modules run on the HTTP thread (see `WorkerPoolOptions.inlineRuns`). */
  readonly inlineRuns?: boolean;
}

export interface Invocation {
  /** Absolute path of the module file. */
  readonly wasmFile: string;
  readonly memoryLimitMb: number;
  readonly spec: RunSpec;
  /** Jobs of one group (a route) take turns with other groups. */
  readonly group: string;
  readonly maxConcurrency?: number | undefined;
  readonly timeoutMs: number;
  readonly signal?: AbortFlag | undefined;
}

export class Runtime {
  readonly modules: ModuleStore;
  private readonly pool: WorkerPool;

  constructor(options: RuntimeOptions) {
    this.modules = new ModuleStore({
      maxModules: options.maxModules,
      watch: options.watchModules,
      meter: options.inlineRuns === true,
      ...(options.onCompiled === undefined ? {} : { onCompiled: options.onCompiled }),
      ...(options.onModuleChanged === undefined ? {} : { onChanged: options.onModuleChanged }),
    });
    this.pool = new WorkerPool({
      size: options.workers,
      maxQueue: options.maxQueue,
      maxModulesPerWorker: options.maxModules,
      inlineRuns: options.inlineRuns === true,
      ...(options.onWorkerReplaced === undefined ? {} : { onWorkerReplaced: options.onWorkerReplaced }),
    });
  }

  /**
   * Loads (or reuses) the module and runs it once on a worker. Rejects with
   * `ModuleLoadError` or `RunFailure`; a non-zero exit code is a result, not an error.
   */
  invoke(invocation: Invocation): Promise<RunOutcome> {
    const options = {
      group: invocation.group, timeoutMs: invocation.timeoutMs, maxConcurrency: invocation.maxConcurrency, signal: invocation.signal,
    };
    // A module compiled already goes straight to the pool: no promise to wait on first.
    const compiled = this.modules.compiled(invocation.wasmFile, invocation.memoryLimitMb);
    if (compiled !== undefined) return this.pool.run(compiled, invocation.spec, options);
    return this.modules.get(invocation.wasmFile, invocation.memoryLimitMb).then((module) => this.pool.run(module, invocation.spec, options));
  }

  /**
   * True when a diagnostics message's publisher (`pool`, `store` or `source`) is this
   * runtime's worker pool or module store, so subscribers can keep to one runtime.
   */
  published(publisher: object): boolean {
    return publisher === this.pool || publisher === this.modules;
  }

  stats(): { modules: ModuleStoreStats; pool: PoolStats } {
    return { modules: this.modules.stats(), pool: this.pool.stats() };
  }

  /** Waits for queued and running jobs, then stops the workers and file watching. */
  async close(): Promise<void> {
    this.modules.close();
    await this.pool.close();
  }
}
