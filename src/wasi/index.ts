/**
 * WASIO's own WASI preview 1 host. It knows nothing of HTTP or configuration: it takes
 * arguments, environment, streams, mounts and limits, and runs one module once.
 */
export {
  runCommand, instantiateCommand, runInstance, missingImports, trapReason, type CommandInstance, type RunResult, type ProvidedMemory,
} from './run.js';
export { WasiHost, WASI_FUNCTION_NAMES, DEFAULT_MAX_OPEN_FILES, type WasiOptions, type MountOptions } from './host.js';
export { CaptureSink, FdSink, BufferSource, FdSource, DISCARD, type OutputSink, type InputSource } from './stdio.js';
export {
  WasiRunError, TrapError, ProcRaiseError, OutputLimitError, LinkError, NotCommandError, DeadlineError,
  type WasiRunErrorCode,
} from './errors.js';
