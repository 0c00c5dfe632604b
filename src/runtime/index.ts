/**
 * The runtime layer: compiled modules, the worker pool, and `Runtime.invoke`, the one entry
 * point the protocol and http layers use to run a module.
 */
export { Runtime, type RuntimeOptions, type Invocation } from './runtime.js';
export { ModuleStore, type CompiledModule, type ModuleStoreStats } from './module-store.js';
export type { CompileMode } from './compile.js';
export { collectGarbage } from './collect-garbage.js';
export { type RunOutcome, type PoolStats } from './worker-pool.js';
export type { RunSpec } from './messages.js';
export {
  typedChannel, subscribe, WORKER_REPLACED_REASONS, moduleCompiledChannel, instanceEndChannel, workerReplacedChannel, limitExceededChannel,
  type TypedChannel, type ModuleCompiledMessage, type InstanceEndMessage, type WorkerReplacedMessage, type WorkerReplacedReason,
  type LimitExceededMessage, type LimitKind,
} from './diagnostics.js';
export { RuntimeError, RunFailure, ModuleLoadError, type RuntimeErrorCode } from './errors.js';
