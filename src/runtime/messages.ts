/** The messages between the worker pool and its worker threads. */
import type { MountOptions, WasiRunErrorCode } from '../wasi/index.js';

/** What one run needs, apart from the module. */
export interface RunSpec {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array;
  readonly mounts: readonly MountOptions[];
  readonly maxOutputBytes: number;
  readonly maxOpenFiles?: number;
}

export interface RunMessage {
  readonly jobId: number;
  readonly moduleId: number;
  /** Sent the first time a worker meets a module; workers keep it by `moduleId`. */
  readonly module: WebAssembly.Module | undefined;
  readonly spec: RunSpec;
}

export type ResultMessage =
  | {
      readonly jobId: number;
      readonly ok: true;
      readonly exitCode: number;
      readonly stdout: Uint8Array;
      readonly stderr: Uint8Array;
      readonly runMs: number;
    }
  | {
      readonly jobId: number;
      readonly ok: false;
      readonly code: WasiRunErrorCode | 'WASIO_ERR_MODULE_LOAD';
      readonly message: string;
      readonly reason: string | undefined;
      readonly stderr: Uint8Array;
      readonly runMs: number;
    };
