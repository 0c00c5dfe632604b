/**
 * `wasio serve` on several HTTP processes (`processes` > 1): a primary forks them with Node's
 * `cluster`, so they share the port and every core parses and answers requests.
 *
 * The primary serves nothing itself. It forks the processes, relays their log output line by
 * line (so lines of two processes never interleave; a file they write themselves), says once
 * where the server listens, stops them all on SIGINT/SIGTERM, replaces one that dies, and
 * relays the snapshots from which any one process answers `/stats` and `/metrics` for all of
 * them.
 */
import cluster, { type Worker } from 'node:cluster';
import { fstatSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { ProcessGroup, SnapshotKind } from '../http/server.js';

/** The environment variables that tell a forked process its place in the group. */
const INDEX_VARIABLE = 'WASIO_PROCESS_INDEX';
const COUNT_VARIABLE = 'WASIO_PROCESS_COUNT';

/** How long the primary waits for each process's snapshot before answering without it. */
const SNAPSHOT_TIMEOUT_MS = 1_000;
/** A process that dies is replaced after this pause, so a crash loop does not spin. */
const RESPAWN_DELAY_MS = 1_000;

interface SnapshotRequest { readonly type: 'wasio:snapshot'; readonly id: number; readonly kind: SnapshotKind }
interface SnapshotReply { readonly type: 'wasio:snapshot-reply'; readonly id: number; readonly snapshot: unknown }
interface GatherRequest { readonly type: 'wasio:gather'; readonly id: number; readonly kind: SnapshotKind }
interface GatherReply { readonly type: 'wasio:gathered'; readonly id: number; readonly snapshots: readonly unknown[] }
type ClusterMessage = SnapshotRequest | SnapshotReply | GatherRequest | GatherReply;

function isMessage<T extends ClusterMessage['type']>(message: unknown, type: T): message is Extract<ClusterMessage, { type: T }> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** This process's place among the HTTP processes, when it is one of several. */
export interface ProcessPlace {
  readonly index: number;
  readonly count: number;
}

/** Where this process stands: one of the forked HTTP processes, or undefined (primary or alone). */
export function processPlace(): ProcessPlace | undefined {
  if (!cluster.isWorker) return undefined;
  return { index: Number(process.env[INDEX_VARIABLE]), count: Number(process.env[COUNT_VARIABLE]) };
}

/** The worker threads of process `place.index`: `workers` shared out, at least one each. */
export function workersOfProcess(workers: number, place: ProcessPlace): number {
  return Math.max(1, Math.floor(workers / place.count) + (place.index < workers % place.count ? 1 : 0));
}

/** A forked process's link to its group; `leave()` lets the process exit once its server has stopped. */
export interface GroupMembership extends ProcessGroup {
  leave(): void;
}

/**
 * The group as a forked process sees it: snapshots gathered through the primary.
 * `snapshot` answers the primary's requests for this process's own.
 */
export function joinProcessGroup(snapshot: (kind: SnapshotKind) => Promise<unknown>): GroupMembership {
  let nextId = 0;
  const pending = new Map<number, (snapshots: readonly unknown[]) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage(message, 'wasio:snapshot')) {
      void snapshot(message.kind).then((value) => {
        process.send?.({ type: 'wasio:snapshot-reply', id: message.id, snapshot: value } satisfies SnapshotReply);
      });
    } else if (isMessage(message, 'wasio:gathered')) {
      pending.get(message.id)?.(message.snapshots);
      pending.delete(message.id);
    }
  });
  return {
    gather: (kind) => new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      process.send?.({ type: 'wasio:gather', id, kind } satisfies GatherRequest);
    }),
    leave: () => {
      // The channel to the primary would keep this process alive.
      if (process.connected) process.disconnect();
    },
  };
}

const NEWLINE = 0x0a;

/**
 * Copies `input` to `output` in whole lines, so lines from several processes never interleave.
 * Bytes, not text: a newline byte is never part of a longer UTF-8 character, and the log of
 * every request passes here, so it is neither decoded nor encoded again.
 */
function relayLines(input: Readable | null, output: Writable): void {
  let rest: Buffer | undefined;
  input?.on('data', (chunk: Buffer) => {
    const end = chunk.lastIndexOf(NEWLINE);
    if (end === -1) {
      rest = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
      return;
    }
    const lines = chunk.subarray(0, end + 1);
    output.write(rest === undefined ? lines : Buffer.concat([rest, lines]));
    rest = end + 1 === chunk.length ? undefined : chunk.subarray(end + 1);
  });
  input?.on('end', () => {
    if (rest !== undefined) output.write(Buffer.concat([rest, Buffer.from('\n')]));
  });
}

/** Collects the snapshots of every listening process for one gather request. */
function relaySnapshots(asker: Worker, request: GatherRequest, members: readonly Worker[], nextId: () => number): void {
  const id = nextId();
  const snapshots: unknown[] = [];
  let waiting = members.length;
  const finish = (): void => {
    clearTimeout(timer);
    for (const member of members) member.off('message', onReply);
    if (asker.isConnected()) asker.send({ type: 'wasio:gathered', id: request.id, snapshots } satisfies GatherReply);
  };
  const onReply = (message: unknown): void => {
    if (!isMessage(message, 'wasio:snapshot-reply') || message.id !== id) return;
    snapshots.push(message.snapshot);
    if (--waiting === 0) finish();
  };
  // A process that does not answer in time (busy, or dying) is left out rather than waited for.
  const timer = setTimeout(finish, SNAPSHOT_TIMEOUT_MS);
  for (const member of members) {
    member.on('message', onReply);
    member.send({ type: 'wasio:snapshot', id, kind: request.kind } satisfies SnapshotRequest);
  }
  if (members.length === 0) finish();
}

/**
 * True when this process's stdout is a regular file. Its processes then write their log there
 * themselves: they share the file's open description, and Linux makes each write to it
 * whole, at the offset the last one left (no two overlap); each process writes whole lines
 * in one write. Relayed by the primary, every batch of lines also cost a wake-up of the
 * primary, a read and a write; a pipe or a terminal keeps the relay, as a write larger than
 * a pipe's atomic size may be split and mixed with another's.
 */
function stdoutIsFile(): boolean {
  try {
    return fstatSync(1).isFile();
  } catch {
    return false;
  }
}

/**
 * Runs the primary of `count` HTTP processes serving `config` (already loaded and checked)
 * until a signal stops them. Resolves with the exit status: 0 when every process stopped
 * cleanly.
 */
export function runPrimary(config: Config, count: number, logger: Logger): Promise<number> {
  // Advanced serialization carries snapshots exactly (a NaN gauge stays NaN).
  const sharedStdout = stdoutIsFile();
  cluster.setupPrimary({ stdio: ['ignore', sharedStdout ? 'inherit' : 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  const listening = new Set<Worker>();
  const places = new Map<Worker, number>();
  let stopping = false;
  let announced = false;
  let exitStatus = 0;
  let snapshotIds = 0;

  return new Promise<number>((resolve) => {
    const stopAll = (): void => {
      if (stopping) return;
      stopping = true;
      for (const worker of places.keys()) worker.process.kill('SIGTERM');
      if (places.size === 0) resolve(exitStatus);
    };
    const fork = (index: number): void => {
      const worker = cluster.fork({ [INDEX_VARIABLE]: String(index), [COUNT_VARIABLE]: String(count) });
      places.set(worker, index);
      if (!sharedStdout) relayLines(worker.process.stdout, process.stdout);
      relayLines(worker.process.stderr, process.stderr);
      worker.on('message', (message: unknown) => {
        if (isMessage(message, 'wasio:gather')) relaySnapshots(worker, message, [...listening], () => ++snapshotIds);
      });
      worker.on('listening', (address) => {
        listening.add(worker);
        if (announced || listening.size < count) return;
        announced = true;
        const host = typeof address.address === 'string' ? address.address : config.host;
        logger.info({ host, port: address.port, routes: Object.keys(config.routes).length, workers: config.workers, processes: count },
          `WASIO listening on ${config.tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
      });
      worker.on('exit', (code, signal) => {
        const everListened = listening.delete(worker);
        places.delete(worker);
        if (code !== 0) exitStatus = 1;
        if (stopping) {
          if (places.size === 0) resolve(exitStatus);
          return;
        }
        logger.error({ process: index, code, signal }, everListened
          ? 'HTTP process died; starting another in its place'
          : 'HTTP process stopped before it listened; stopping the server');
        // One that never listened (a port in use, say) would fail again: give up instead.
        if (!everListened) {
          stopAll();
          return;
        }
        setTimeout(() => {
          if (!stopping) fork(index);
        }, RESPAWN_DELAY_MS).unref();
      });
    };
    process.once('SIGINT', stopAll);
    process.once('SIGTERM', stopAll);
    for (let index = 0; index < count; index++) fork(index);
  });
}
