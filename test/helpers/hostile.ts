/**
 * Tools of the hostile-instrument tests (test/hostile/) and of `bench/hostile-load.ts`: what a
 * server process holds (resident memory, open descriptors), latency sampling, a steady load
 * of clients, and a mix of hostile requests with the statuses each may answer.
 *
 * Nothing here registers node:test hooks, so the bench can use it outside the test runner.
 * Every request is bounded in time by its own signal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { testInstrument } from './server.js';

/** A process to measure: this one, or a child by pid. */
export type ProcessRef = number | 'self';

/** Resident set size of a process in bytes (`VmRSS` of /proc/PID/status). */
export function residentBytes(process: ProcessRef = 'self'): number {
  const status = readFileSync(`/proc/${process}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${process}/status`);
  return Number(match[1]) * 1024;
}

/** Whether the kernel lists a thread's children in /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN). */
const HAS_PROC_CHILDREN = existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/** The ids of the processes `pid` started, from /proc, else from pgrep. */
function childrenOf(pid: number): number[] {
  let text: string;
  try {
    text = HAS_PROC_CHILDREN
      ? readdirSync(`/proc/${pid}/task`).map((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')).join(' ')
      : spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout;
  } catch {
    return []; // the process or a thread has just exited
  }
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** A process and every process under it, parents first: a server of several HTTP processes is its whole tree. */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  for (const queue = [pid]; queue.length > 0;) {
    const next = queue.shift() as number;
    tree.push(next);
    queue.push(...childrenOf(next));
  }
  return tree;
}

/** Descriptors a process holds open (entries of /proc/PID/fd). */
export function openDescriptorCount(process: ProcessRef = 'self'): number {
  return readdirSync(`/proc/${process}/fd`).length;
}

/**
 * A process's open descriptors counted by what they are (`socket`, `pipe`, `anon_inode:[eventfd]`,
 * a file path, ...), for messages that must say which kind grew.
 */
export function descriptorKinds(process: ProcessRef = 'self'): string {
  const kinds = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${process}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${process}/fd/${fd}`).replace(/:\[\d+\]$/, '');
    } catch {
      continue; // closed while listing
    }
    kinds.set(target, (kinds.get(target) ?? 0) + 1);
  }
  return [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${n}× ${kind}`).join(', ');
}

export const MIB = 1024 * 1024;

/** Bytes as MiB with one decimal, for messages and reports. */
export function mebibytes(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

/**
 * Polls `measure` until it is at most `limit` or `timeoutMs` has passed, and returns the
 * last value either way: for figures that settle with no event to wait for (memory given
 * back after a collection, descriptors of a terminated worker closed).
 */
export async function settledValue(measure: () => number, limit: number, timeoutMs: number, intervalMs = 100): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = measure();
  while (value > limit && Date.now() < deadline) {
    await delay(intervalMs);
    value = measure();
  }
  return value;
}

/** The value below which `fraction` of sorted `samples` lie (nearest rank). */
export function percentile(sortedSamples: readonly number[], fraction: number): number {
  if (sortedSamples.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sortedSamples.length) - 1;
  return sortedSamples[Math.min(Math.max(rank, 0), sortedSamples.length - 1)] as number;
}

/** Latency of one client's requests, in milliseconds. */
export interface LatencySummary {
  readonly requests: number;
  /** Requests that did not answer 200, or did not answer at all. */
  readonly failures: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Figures with two decimals, for messages and reports. */
export function describeLatency(summary: LatencySummary): string {
  const ms = (value: number): string => value.toFixed(2);
  return `${summary.requests} requests, ${summary.failures} failed, p50 ${ms(summary.p50Ms)} ms, p99 ${ms(summary.p99Ms)} ms, max ${ms(summary.maxMs)} ms`;
}

/**
 * One client asking `url` again and again, each request after the previous answered, for
 * `durationMs`; returns the latency of each full response (headers and body).
 */
export async function measureLatency(url: string, durationMs: number, requestTimeoutMs = 5_000): Promise<LatencySummary> {
  const samples: number[] = [];
  let failures = 0;
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const started = performance.now();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(requestTimeoutMs) });
      await response.arrayBuffer();
      if (response.status !== 200) failures += 1;
    } catch {
      failures += 1;
    }
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return {
    requests: samples.length, failures,
    p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99), maxMs: samples.at(-1) ?? Number.NaN,
  };
}

/** Answers counted by status, or by `error` for requests that got none. */
export type StatusCounts = Map<number | 'error', number>;

function count(counts: StatusCounts, key: number | 'error'): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** What a background load was answered. */
export interface LoadResult {
  readonly counts: StatusCounts;
  /** Requests answered with a status not in `expected` (or not at all), by request id. */
  readonly unexpected: { readonly requestId: string; readonly outcome: number | 'error' }[];
}

/** A load running in the background until stopped. */
export interface BackgroundLoad {
  /** Requests answered so far. */
  answered(): number;
  /** Stops sending new requests, waits for those in flight, and returns every answer. */
  stop(): Promise<LoadResult>;
}

let loadRequestCount = 0;

/**
 * `clients` clients asking `url` in a loop, each sending its next request when the last one
 * is answered, until `stop()`. Each request carries its own X-Request-Id, so an answer not
 * among `expected` can be looked up in the server's log.
 */
export function keepBusy(url: string, clients: number, expected: readonly number[], requestTimeoutMs = 15_000): BackgroundLoad {
  const counts: StatusCounts = new Map();
  const unexpected: { requestId: string; outcome: number | 'error' }[] = [];
  let answered = 0;
  let running = true;
  const client = async (): Promise<void> => {
    while (running) {
      const requestId = `load-${process.pid}-${(loadRequestCount += 1)}`;
      let outcome: number | 'error';
      try {
        const response = await fetch(url, { headers: { 'x-request-id': requestId }, signal: AbortSignal.timeout(requestTimeoutMs) });
        await response.arrayBuffer();
        outcome = response.status;
      } catch {
        outcome = 'error';
      }
      count(counts, outcome);
      if (outcome === 'error' || !expected.includes(outcome)) unexpected.push({ requestId, outcome });
      answered += 1;
    }
  };
  const all = Promise.all(Array.from({ length: clients }, client));
  return {
    answered: () => answered,
    async stop() {
      running = false;
      await all;
      return { counts, unexpected };
    },
  };
}

/** Answers by status as one line, for messages and reports. */
export function describeCounts(counts: StatusCounts): string {
  return [...counts].map(([status, n]) => `${n}× ${status}`).join(', ');
}

/** One kind of hostile request: where it goes, how, and what it may be answered. */
export interface HostileRequest {
  readonly name: string;
  readonly path: string;
  readonly init?: RequestInit;
  /** Statuses it may get; `aborted` kinds are cut off by the client and get none. */
  readonly expected: readonly number[];
  /** The client gives up after this many milliseconds (a disconnect in mid-run). */
  readonly abortAfterMs?: number;
}

/** Hostile-mix routes' timeout: short, so a mix of hundreds of requests stays quick. */
const HOSTILE_TIMEOUT_MS = 100;
// A request waiting for a worker longer than its route's timeout is answered 503, so the
// short-timeout kinds may get 503 when the mix keeps every worker busy.
const TIMED_OUT = [504, 503];

/**
 * Routes that misbehave in every way the server must survive, under `/hostile/`. The fd
 * hogs need `HOSTILE_FILES` beside the config.
 */
export function hostileRoutes(): Record<string, Record<string, unknown>> {
  const dataMount = [{ guest: '/data', host: 'hostile-data', readonly: true }];
  return {
    '/hostile/loop': { wasm_file: testInstrument('loop'), timeout_ms: HOSTILE_TIMEOUT_MS },
    '/hostile/memory-bomb': { wasm_file: testInstrument('memory_bomb'), memory_limit_mb: 32 },
    '/hostile/flood': { wasm_file: testInstrument('flood'), max_output_bytes: 65_536 },
    '/hostile/recurse': { wasm_file: testInstrument('recurse') },
    '/hostile/trap': { wasm_file: testInstrument('trap') },
    '/hostile/exit3': { wasm_file: testInstrument('exit3') },
    '/hostile/raise': { wasm_file: testInstrument('raise_abort') },
    '/hostile/fd-hog': { wasm_file: testInstrument('fd_hog'), mounts: dataMount },
    '/hostile/fd-hog-loop': { wasm_file: testInstrument('fd_hog_loop'), mounts: dataMount, timeout_ms: HOSTILE_TIMEOUT_MS },
    '/hostile/body': { wasm_file: testInstrument('echo'), max_body_bytes: 1024 },
    '/hostile/disconnect': { wasm_file: testInstrument('loop'), timeout_ms: 5_000 },
  };
}

/** Files the hostile routes need beside the config. */
export const HOSTILE_FILES: Readonly<Record<string, string>> = { 'hostile-data/f': 'opened until the cap\n' };

/** The kinds of the hostile mix, sent in turn. */
export const HOSTILE_MIX: readonly HostileRequest[] = [
  { name: 'endless loop', path: '/hostile/loop', expected: TIMED_OUT },
  { name: 'memory bomb', path: '/hostile/memory-bomb', expected: [500] },
  { name: 'output flood', path: '/hostile/flood', expected: [500] },
  { name: 'deep recursion', path: '/hostile/recurse', expected: [500] },
  { name: 'trap', path: '/hostile/trap', expected: [500] },
  { name: 'exit 3', path: '/hostile/exit3', expected: [500] },
  { name: 'proc_raise', path: '/hostile/raise', expected: [500] },
  { name: 'fd hog', path: '/hostile/fd-hog', expected: [200] },
  { name: 'fd hog that never ends', path: '/hostile/fd-hog-loop', expected: TIMED_OUT },
  { name: 'body too large', path: '/hostile/body', init: { method: 'POST', body: 'x'.repeat(2048) }, expected: [413] },
  { name: 'client disconnect', path: '/hostile/disconnect', expected: [], abortAfterMs: 150 },
];

/** What a hostile mix was answered. */
export interface MixResult {
  readonly sent: number;
  /** Answers by kind name and status (`aborted` for the client's own disconnects). */
  readonly byKind: Map<string, Map<number | 'aborted' | 'error', number>>;
  /** One line per answer no kind allows (a wrong status, or no answer), for messages. */
  readonly unexpected: string[];
}

/** How one hostile request ended: its status, `aborted` when the client cut it off as planned, or the error. */
interface HostileAnswer {
  readonly outcome: number | 'aborted' | Error;
  /** The id the request was sent with, to find its log lines. */
  readonly requestId: string;
  /** The id the answer carried, when there was one: the same unless the answer was another request's. */
  readonly answeredId: string | null;
}

let hostileRequestCount = 0;

/**
 * A request the client abandons after `abortAfterMs`, sent with node:http on a connection of
 * its own that is destroyed then. (fetch's pool opens spare connections that never carry a
 * request, and those hold the server's graceful shutdown, see test/hostile/shutdown.test.ts:
 * the mix would measure that rather than the server under the disconnects.)
 */
function sendAndAbandon(baseUrl: string, kind: HostileRequest, requestId: string, abortAfterMs: number): Promise<HostileAnswer> {
  return new Promise((resolve) => {
    const request = httpRequest(`${baseUrl}${kind.path}`, { agent: false, headers: { 'x-request-id': requestId }, method: kind.init?.method ?? 'GET' });
    const timer = setTimeout(() => {
      request.destroy();
      resolve({ outcome: 'aborted', requestId, answeredId: null });
    }, abortAfterMs);
    request.once('response', (response) => {
      clearTimeout(timer);
      response.resume();
      const answeredId = response.headers['x-request-id'];
      resolve({ outcome: response.statusCode ?? 0, requestId, answeredId: typeof answeredId === 'string' ? answeredId : null });
      request.destroy();
    });
    request.once('error', (error) => {
      clearTimeout(timer);
      resolve({ outcome: error, requestId, answeredId: null });
    });
    request.end();
  });
}

async function sendOne(baseUrl: string, kind: HostileRequest): Promise<HostileAnswer> {
  const requestId = `hostile-${process.pid}-${(hostileRequestCount += 1)}`;
  if (kind.abortAfterMs !== undefined) return sendAndAbandon(baseUrl, kind, requestId, kind.abortAfterMs);
  try {
    // The kinds set no headers of their own, so this is the only one.
    const response = await fetch(`${baseUrl}${kind.path}`, { ...kind.init, headers: { 'x-request-id': requestId }, signal: AbortSignal.timeout(15_000) });
    await response.arrayBuffer();
    return { outcome: response.status, requestId, answeredId: response.headers.get('x-request-id') };
  } catch (error) {
    return { outcome: error instanceof Error ? error : new Error(String(error)), requestId, answeredId: null };
  }
}

/**
 * Sends `total` requests of `HOSTILE_MIX`, kinds in turn from `firstKind` on, `concurrency`
 * at a time, to a server serving `hostileRoutes()`.
 */
export async function sendHostileMix(baseUrl: string, total: number, concurrency: number, firstKind = 0): Promise<MixResult> {
  const byKind = new Map<string, Map<number | 'aborted' | 'error', number>>();
  const unexpected: string[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < total) {
      const kind = HOSTILE_MIX[(firstKind + next) % HOSTILE_MIX.length] as HostileRequest;
      next += 1;
      const { outcome: answer, requestId, answeredId } = await sendOne(baseUrl, kind);
      const outcome = answer instanceof Error ? 'error' : answer;
      let counts = byKind.get(kind.name);
      if (counts === undefined) byKind.set(kind.name, (counts = new Map()));
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      const allowed = outcome === 'aborted' ? kind.abortAfterMs !== undefined : typeof outcome === 'number' && kind.expected.includes(outcome);
      const described = answer instanceof Error ? `no answer: ${answer.message}` : String(answer);
      if (!allowed) unexpected.push(`${kind.name} (${kind.path}, request ${requestId}): ${described}`);
      if (answeredId !== null && answeredId !== requestId) unexpected.push(`${kind.name} (${kind.path}, request ${requestId}): answered as ${answeredId}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { sent: total, byKind, unexpected };
}

/** A mix result as one line per kind, for messages and reports. */
export function describeMix(result: MixResult): string {
  return [...result.byKind].map(([name, counts]) =>
    `${name}: ${[...counts].map(([status, n]) => `${n}× ${status}`).join(', ')}`).join('\n');
}
