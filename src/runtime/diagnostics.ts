/**
 * What the runtime announces on `node:diagnostics_channel`: compilations, the end of every
 * instance, replaced workers and limit breaches. Metrics, logs and tests subscribe to these
 * instead of being called from the scheduler; a channel nobody listens to costs one
 * `hasSubscribers` check, and no message is built for it.
 *
 * Every message names its source (the `WorkerPool` or `ModuleStore` that published it), so
 * a subscriber serving one server ignores the others running in the same process.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ModuleStore } from './module-store.js';
import type { WorkerPool } from './worker-pool.js';

/** A named channel whose messages have one type. */
export interface TypedChannel<Message> {
  readonly name: string;
  /** False while nobody listens: publishers skip building the message. */
  readonly hasSubscribers: boolean;
  publish(message: Message): void;
}

/** The channel called `name`, typed with its message. */
export function typedChannel<Message>(name: string): TypedChannel<Message> {
  return diagnosticsChannel.channel(name) as TypedChannel<Message>;
}

/** Calls `listener` with every message of `channel` until the returned function is called. */
export function subscribe<Message>(channel: TypedChannel<Message>, listener: (message: Message) => void): () => void {
  const onMessage = (message: unknown): void => listener(message as Message);
  diagnosticsChannel.subscribe(channel.name, onMessage);
  return () => {
    diagnosticsChannel.unsubscribe(channel.name, onMessage);
  };
}

/** `wasio:module:compiled`: a module file was compiled (and checked) successfully. */
export interface ModuleCompiledMessage {
  readonly store: ModuleStore;
  /** Absolute path of the module file. */
  readonly path: string;
  readonly compileMs: number;
  readonly byteLength: number;
}

/** `wasio:instance:end`: an instance that got a worker has finished, however it ended. */
export interface InstanceEndMessage {
  readonly pool: WorkerPool;
  /** The job's group: the route. */
  readonly group: string;
  /** Time the job waited for a worker. */
  readonly queueMs: number;
  /** Time it ran: instantiate + `_start`, or until it was stopped. */
  readonly runMs: number;
  /** The exit code, or undefined when the run failed (see `failure`). */
  readonly exitCode: number | undefined;
  /** The `RuntimeErrorCode` of a failed run (trap, timeout, output limit, ...). */
  readonly failure: string | undefined;
  /** It ran on the HTTP thread, not on a worker (`inline-runs.ts`). */
  readonly inline: boolean;
}

/** Why a worker thread is replaced: its run timed out, its client left, or it died. */
export const WORKER_REPLACED_REASONS = ['timeout', 'aborted', 'crashed'] as const;
export type WorkerReplacedReason = (typeof WORKER_REPLACED_REASONS)[number];

/** `wasio:worker:replaced`: a worker thread was stopped and (unless extra) started afresh. */
export interface WorkerReplacedMessage {
  readonly pool: WorkerPool;
  readonly reason: WorkerReplacedReason;
  /** The full reason, for logs (an exit code, an error message). */
  readonly detail: string;
}

/** The limits a request can break; `body` is found by the http layer, the rest by the pool. */
export type LimitKind = 'timeout' | 'memory' | 'output' | 'body' | 'queue';

/** `wasio:limit:exceeded`: a request broke one of its route's limits (or the server's queue). */
export interface LimitExceededMessage {
  /** The publisher: a `WorkerPool`, or the HTTP server for `body`. */
  readonly source: object;
  readonly kind: LimitKind;
  /** The job's group or the request's route. */
  readonly route: string;
}

export const moduleCompiledChannel = typedChannel<ModuleCompiledMessage>('wasio:module:compiled');
export const instanceEndChannel = typedChannel<InstanceEndMessage>('wasio:instance:end');
export const workerReplacedChannel = typedChannel<WorkerReplacedMessage>('wasio:worker:replaced');
export const limitExceededChannel = typedChannel<LimitExceededMessage>('wasio:limit:exceeded');
