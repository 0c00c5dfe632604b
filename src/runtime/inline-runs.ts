/**
 * Runs on the HTTP thread. Handing a run to a worker thread and back costs two messages and
 * two thread wake-ups; with several HTTP processes on few cores, those wake-ups are what
 * bounds a small module's throughput. So a run that is known to be short is made right where
 * the request is, on an instance kept here and put back as new after each run; anything else
 * goes to a worker, where a timeout can stop it.
 *
 * "Known to be short" is checked before a run, and enforced during it:
 * - the module has a metered twin (`fuel.ts`): it is small, and its instances can run again;
 * - the run reads and writes no files (no mounts), so running it again elsewhere is the same
 *   run;
 * - its last `TRUSTED_AFTER_RUNS` runs on workers each took under `SHORT_RUN_MS`;
 * - a worker is idle: while workers are all busy (a flood of long runs), this thread does not
 *   take on guest work as well; and the route has nothing waiting and room under its
 *   `maxConcurrency` (both checked by the pool).
 * During the run, the metered module can spend at most `INLINE_FUEL` between WASI calls, each
 * WASI call checks the run is within `INLINE_BUDGET_MS`, and no sleep may end past it. The run
 * also has this thread's stack, smaller than a worker's. A run that runs out of fuel or time,
 * or overflows the stack, is dropped with its output, and the job goes to a worker as if it
 * had never been tried; the module must then earn trust again, as it must after any run here
 * that took longer than the budget (one big WASI call can).
 */
import { ReusableInstance } from './instance-reuse.js';
import { SpareMemories } from './memory-reuse.js';
import type { RunResultMessage, RunSpec } from './messages.js';
import type { CompiledModule } from './module-store.js';
import { runJob } from './run-job.js';

/**
 * The fuel of a run on the HTTP thread. A unit is at most an instruction, and usually much
 * less (a loop is charged its whole body each turn): a guest spinning in a loop spends it in a
 * few milliseconds, well within `INLINE_BUDGET_MS`, and ordinary code of a short run in far less.
 */
export const INLINE_FUEL = 10_000_000;
/** The longest a run may hold the HTTP thread: checked at each WASI call, and before a sleep. */
export const INLINE_BUDGET_MS = 10;
/** A worker run under this counts as short. */
export const SHORT_RUN_MS = 5;
/** Consecutive short worker runs before a module runs on the HTTP thread. */
export const TRUSTED_AFTER_RUNS = 8;
/** A route whose timeout is below this always runs on workers: a run here cannot be stopped at a deadline. */
const MIN_TIMEOUT_MS = 100;
/** Memories (with their instances) kept between runs on this thread. */
const SPARE_MEMORY_BYTES = 8 * 2 ** 20;

export class InlineRuns {
  /** Consecutive short worker runs, by compilation. */
  private readonly shortRuns = new WeakMap<CompiledModule, number>();
  private readonly spares = new SpareMemories(SPARE_MEMORY_BYTES);

  /** Counts a finished worker run of `module` toward (or against) running it here. */
  noteWorkerRun(module: CompiledModule, runMs: number | undefined): void {
    if (module.metered === undefined) return;
    const short = runMs !== undefined && runMs < SHORT_RUN_MS;
    this.shortRuns.set(module, short ? Math.min(TRUSTED_AFTER_RUNS, (this.shortRuns.get(module) ?? 0) + 1) : 0);
  }

  /** The result of running `spec` here, or undefined when the job must go to a worker. */
  tryRun(module: CompiledModule, spec: RunSpec, timeoutMs: number): RunResultMessage | undefined {
    const { metered, memoryImport, instanceReset } = module;
    if (metered === undefined || memoryImport === undefined || instanceReset === undefined || spec.mounts.length > 0
      || timeoutMs < MIN_TIMEOUT_MS || this.shortRuns.get(module) !== TRUSTED_AFTER_RUNS) return undefined;
    const spare = this.spares.take(module.id, memoryImport);
    try {
      spare.instance ??= ReusableInstance.create(metered.module, memoryImport, spare.memory, instanceReset);
    } catch {
      // Whatever stops it instantiating, a worker meets and reports.
      this.shortRuns.set(module, 0);
      return undefined;
    }
    const fuel = spare.instance.exportedGlobal(metered.fuelExport);
    fuel.value = INLINE_FUEL;
    const loaded = { module: metered.module, memoryImport, instanceReset, memoryLimitBytes: module.memoryLimitBytes, byteLength: module.byteLength };
    const result = runJob(loaded, spec, spare, performance.now() + INLINE_BUDGET_MS);
    const outOfFuel = (fuel.value as number) < 0;
    this.spares.keep(module.id, spare, memoryImport);
    const handBack = !result.ok && (result.code === 'WASIO_ERR_DEADLINE' || outOfFuel || result.reason === 'stack overflow');
    // A run that took long here, even one that ended well, is the module's last here for a while.
    if (handBack || result.runMs > INLINE_BUDGET_MS) this.shortRuns.set(module, 0);
    return handBack ? undefined : result;
  }
}
