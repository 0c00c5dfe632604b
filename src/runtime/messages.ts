/** The messages between the worker pool and its worker threads. */
import type { MountOptions, ProvidedMemory, WasiRunErrorCode } from '../wasi/index.js';
import type { InstanceReset } from './memory-limit.js';

/** What one run needs, apart from the module. */
export interface RunSpec {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array;
  readonly mounts: readonly MountOptions[];
  readonly maxOutputBytes: number;
  readonly maxOpenFiles?: number;
}

/** What a worker keeps of a compiled module. */
export interface LoadedModule {
  readonly module: WebAssembly.Module;
  readonly memoryImport: ProvidedMemory | undefined;
  /** Set when an instance can run again, put back as instantiation left it (see instance-reuse). */
  readonly instanceReset: InstanceReset | undefined;
  readonly memoryLimitBytes: number;
  /** Size of the module file: what an instance holds outside V8's heap grows with it. */
  readonly byteLength: number;
}

export interface RunMessage {
  readonly jobId: number;
  readonly moduleId: number;
  /** Sent the first time a worker meets a module; workers keep it by `moduleId`. */
  readonly module: LoadedModule | undefined;
  readonly spec: RunSpec;
}

/** A worker's first message: the kernel's id of its thread, for scheduling priority. */
export interface ReadyMessage {
  readonly ready: true;
  readonly osThreadId: number | undefined;
}

/** How a run ended: its exit code and output, or how it failed. */
export type RunResultMessage =
  | {
      readonly ok: true;
      readonly exitCode: number;
      /** The guest exited non-zero with its memory at the limit. */
      readonly memoryLimitHit: boolean;
      readonly stdout: Uint8Array;
      readonly stderr: Uint8Array;
      readonly runMs: number;
    }
  | {
      readonly ok: false;
      readonly code: WasiRunErrorCode | 'WASIO_ERR_MODULE_LOAD';
      readonly message: string;
      readonly reason: string | undefined;
      readonly stderr: Uint8Array;
      readonly runMs: number;
    };

/** A worker's answer to a `RunMessage`. */
export type ResultMessage = RunResultMessage & { readonly jobId: number };
