/**
 * The pool of worker threads that run instances, so a busy or runaway guest never blocks the
 * HTTP loop.
 *
 * Scheduling: each job belongs to a group (a route). Waiting jobs are kept per group, and a
 * free worker takes the next job of the group with the fewest jobs running (ties in turn
 * order), so one route's backlog never starves another. A group may be capped
 * (`maxConcurrency`). When every worker is busy and a job waits for a group that has nothing
 * running, an extra worker is started for it (at most `size` extra ones, retired after
 * `EXTRA_WORKER_IDLE_MS` without work): a flood of slow or runaway requests to one route
 * cannot hold back the others, while a single busy route still gets every core.
 *
 * Limits: a run longer than its `timeoutMs` has its worker terminated and replaced, which
 * stops any guest, even one in a tight loop. A job waits in the queue at most `timeoutMs`
 * too, but at least `MIN_QUEUE_WAIT_MS` (then `WASIO_ERR_QUEUE_FULL`); the queue holds at most
 * `maxQueue` jobs in all. A worker gets jobs only once it has started, so start-up never
 * eats into a job's timeout.
 *
 * Pipelining: while jobs wait, a worker running a short job is sent the next ones as well (at
 * most `SEND_AHEAD`), so it starts each the moment the one before ends instead of waiting for
 * this thread to hear of the end and answer. A job sent ahead has not started and may be
 * taken back: the worker starts a job only after claiming it in memory both threads share
 * (`claims`), and the pool takes a job back by claiming it first. Jobs sent ahead are taken
 * back and queued again when the job before them turns out long (`LONG_RUN_MS`) or their
 * worker is stopped; they count as running for their group, so `maxConcurrency` holds.
 *
 * With `inlineRuns`, short runs of small modules do not go to a worker at all while one is
 * idle: they run on this thread, bounded by fuel and a deadline instead of a timeout
 * (`inline-runs.ts`).
 *
 * Diagnostics: the end of every run, every replaced worker and every limit breach are
 * published on the channels of `diagnostics.ts`.
 */
import { setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { instanceEndChannel, limitExceededChannel, workerReplacedChannel, type LimitKind, type WorkerReplacedReason } from './diagnostics.js';
import { RunFailure } from './errors.js';
import { InlineRuns } from './inline-runs.js';
import type { ReadyMessage, ResultMessage, RunMessage, RunResultMessage, RunSpec } from './messages.js';
import type { CompiledModule } from './module-store.js';

export interface WorkerPoolOptions {
  /** Workers kept running. */
  readonly size: number;
  /** Jobs waiting in all, past which new jobs are refused. */
  readonly maxQueue: number;
  /** Compiled modules each worker keeps. */
  readonly maxModulesPerWorker: number;
  /** Told when a worker is replaced, with why (for logs and metrics). */
  readonly onWorkerReplaced?: (reason: string) => void;
  /**
   * Run short runs of small modules on this thread while a worker is idle (`inline-runs.ts`):
   * for a process that shares the cores with other HTTP processes, where a hop to a worker
   * only adds wake-ups. Off by default: alone, a process needs its workers to reach the other cores.
   */
  readonly inlineRuns?: boolean;
}

export interface JobOptions {
  /** Jobs of one group take turns with other groups; usually the route. */
  readonly group: string;
  /** Most jobs of this group running at once; unlimited when absent. */
  readonly maxConcurrency?: number | undefined;
  readonly timeoutMs: number;
  /**
   * Aborting stops the job: removed from the queue, or its worker terminated. Signals are
   * polled (`ABORT_POLL_MS`), not listened to: a listener costs more per job than the run of a
   * small module's dispatch. So anything with an `aborted` flag will do, an `AbortSignal` or
   * a getter that reads the state of the client's connection.
   */
  readonly signal?: AbortFlag | undefined;
}

/** What the pool reads of an abort signal. */
export interface AbortFlag {
  readonly aborted: boolean;
}

export interface RunOutcome {
  readonly exitCode: number;
  /** The guest exited non-zero with its memory grown to the limit. */
  readonly memoryLimitHit: boolean;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** Time inside the worker, instantiate + run. */
  readonly runMs: number;
  /** Time spent waiting for a worker. */
  readonly queueMs: number;
}

export interface PoolStats {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
  readonly replaced: number;
}

interface Job {
  /**
   * Given anew each time the job is sent to a worker: a job taken back and sent again must not
   * be claimed through the message that offered it the first time, still on its way to the
   * worker (it would start out of the order the pool expects its results in).
   */
  id: number;
  readonly module: CompiledModule;
  readonly spec: RunSpec;
  readonly options: JobOptions;
  readonly enqueuedAt: number;
  readonly resolve: (outcome: RunOutcome) => void;
  readonly reject: (error: RunFailure) => void;
  timer: NodeJS.Timeout | undefined;
  /** Fires when the job has run `LONG_RUN_MS`, to check whether it should yield the CPU. */
  longRunTimer: NodeJS.Timeout | undefined;
  /** Has run `LONG_RUN_MS` (its timer fired): no job is sent ahead behind it. */
  long: boolean;
  startedAt: number;
  worker: PoolWorker | undefined;
  /** Aborted while sent ahead and already started: stopped as soon as the pool learns it runs. */
  abortOnStart: boolean;
  /** Its slot in its worker's `claims`. */
  claimSlot: number;
  /** To be stopped, but it has ended and its result is on its way (see `kill`). */
  resultDue: boolean;
}

interface PoolWorker {
  readonly thread: Worker;
  readonly modules: Set<number>;
  readonly extra: boolean;
  /**
   * Shared with the thread, `SEND_AHEAD + 1` slots: the id of each job sent and not yet
   * started, set before the job is sent, each job of the worker in a slot of its own. The
   * thread sets a slot to 0 as it starts that job; the pool takes a job back by doing so first.
   */
  readonly claims: Int32Array;
  job: Job | undefined;
  /** Sent behind `job`, in order, each to start as soon as the one before ends: not started yet, may be taken back. */
  readonly ahead: Job[];
  /** Set while an extra worker is idle: it retires when this fires. */
  retireTimer: NodeJS.Timeout | undefined;
  /** The kernel's id of the thread, once it has started (Linux). */
  osThreadId: number | undefined;
  /** Running at a lower CPU priority (see `demoteIfContended`). */
  demoted: boolean;
  /** Started and listening: only then does it get jobs, so start-up never eats a timeout. */
  ready: boolean;
}

interface Group {
  readonly queue: Job[];
  running: number;
  /** Its last job ran `LONG_RUN_MS` or more: its next ones yield the CPU from the start. */
  runsLong: boolean;
  /** When its last job arrived (`performance.now()`). */
  lastArrivalAt: number;
}

const WORKER_URL = new URL('./worker-main.js', import.meta.url);
/** How long an extra worker stays idle before it is stopped. */
export const EXTRA_WORKER_IDLE_MS = 10_000;
/**
 * A job waits for a worker as long as its timeout, but at least this long: a worker replaced
 * after a timeout needs a moment to start, and a short timeout must not turn that into a 503.
 */
export const MIN_QUEUE_WAIT_MS = 1_000;
/** On shutdown, how long jobs that wait for a worker may still start. */
export const SHUTDOWN_QUEUE_GRACE_MS = 3_000;
/** A job running this long is "long" and yields the CPU to other routes when they need it. */
export const LONG_RUN_MS = 50;
/** Most jobs sent to a worker behind the one it runs (see "Pipelining"). */
export const SEND_AHEAD = 2;
/** How often jobs with a signal are checked for having been aborted. */
export const ABORT_POLL_MS = 20;
/** How long a result the pool knows is on its way may take before its worker is stopped anyway. */
const RESULT_GRACE_MS = 1_000;
/** A stdin this large is transferred (as a copy) rather than cloned. */
const TRANSFER_STDIN_BYTES = 4096;
/** Another route that had a job this recently still needs the CPU. */
const CONTENTION_WINDOW_MS = 1_000;
/** The nice value of a worker whose long job yields the CPU (0 is normal, 19 the lowest). */
const DEMOTED_NICE = 15;

export class WorkerPool {
  private readonly workers = new Set<PoolWorker>();
  private readonly idle: PoolWorker[] = [];
  private readonly groups = new Map<string, Group>();
  /** Groups with waiting jobs, in turn order. */
  private readonly turns: string[] = [];
  private queued = 0;
  private replaced = 0;
  private nextJobId = 1;
  private closed = false;
  /** Set while jobs with a signal wait or run (see `checkAborts`). */
  private abortPoll: NodeJS.Timeout | undefined;

  private readonly inline: InlineRuns | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.inline = options.inlineRuns === true ? new InlineRuns() : undefined;
    for (let i = 0; i < options.size; i++) this.spawn(false);
  }

  /**
   * Runs `spec` with `module` on a worker. Resolves with the exit code and output; rejects
   * with `RunFailure` (trap, proc_raise, output limit, timeout, queue full, aborted, worker
   * died).
   */
  run(module: CompiledModule, spec: RunSpec, options: JobOptions): Promise<RunOutcome> {
    if (this.closed) return Promise.reject(new RunFailure('WASIO_ERR_POOL_CLOSED', 'the server is shutting down'));
    if (options.signal?.aborted === true) return Promise.reject(abortedFailure());
    const inline = this.inline !== undefined && this.idle.length > 0 && this.mayRunAtOnce(options)
      ? this.inline.tryRun(module, spec, options.timeoutMs) : undefined;
    if (inline !== undefined) return this.settleInline(inline, options.group);
    if (this.waiting() >= this.options.maxQueue) {
      this.announceLimit('queue', options.group);
      return Promise.reject(new RunFailure('WASIO_ERR_QUEUE_FULL', `queue full (${this.options.maxQueue} waiting)`));
    }
    return new Promise<RunOutcome>((resolve, reject) => {
      const job: Job = {
        id: 0, module, spec, options, enqueuedAt: performance.now(), resolve, reject,
        timer: undefined, longRunTimer: undefined, startedAt: 0, long: false, worker: undefined, abortOnStart: false,
        claimSlot: 0, resultDue: false,
      };
      this.enqueue(job);
      this.dispatch();
      if (options.signal !== undefined) this.pollAborts();
    });
  }

  /**
   * Whether a job of this group may run now, ahead of none of its own: nothing of the group
   * waits, and it has room under `maxConcurrency`. A run on this thread ends before any other
   * starts, so it never needs counting as running.
   */
  private mayRunAtOnce(options: JobOptions): boolean {
    const group = this.groups.get(options.group);
    return group === undefined || (group.queue.length === 0 && group.running < (options.maxConcurrency ?? Number.POSITIVE_INFINITY));
  }

  /** The outcome of a run made on this thread (`InlineRuns`), announced as a worker's is. */
  private settleInline(result: RunResultMessage, group: string): Promise<RunOutcome> {
    this.announceRunEnd(group, 0, result, true);
    const outcome = outcomeOf(result, 0);
    return outcome instanceof RunFailure ? Promise.reject(outcome) : Promise.resolve(outcome);
  }

  /** Job ids are positive 32-bit integers (they go through `claims`), wrapping around; 0 is none. */
  private takeJobId(): number {
    const id = this.nextJobId;
    this.nextJobId = id >= 0x7fff_ffff ? 1 : id + 1;
    return id;
  }

  stats(): PoolStats {
    let busy = 0;
    for (const worker of this.workers) if (worker.job !== undefined) busy += 1;
    return { workers: this.workers.size, busy, queued: this.waiting(), replaced: this.replaced };
  }

  /** Checks for aborted signals in `ABORT_POLL_MS`, unless a check is due already. */
  private pollAborts(): void {
    if (this.abortPoll !== undefined) return;
    this.abortPoll = setTimeout(() => this.checkAborts(), ABORT_POLL_MS);
    this.abortPoll.unref();
  }

  /** Stops every job whose signal was aborted; checks again while jobs with a signal remain. */
  private checkAborts(): void {
    this.abortPoll = undefined;
    const jobs: Job[] = [];
    for (const name of this.turns) jobs.push(...this.group(name).queue);
    for (const worker of this.workers) {
      if (worker.job !== undefined) jobs.push(worker.job);
      jobs.push(...worker.ahead);
    }
    let watching = false;
    for (const job of jobs) {
      if (job.options.signal?.aborted === true) this.abort(job);
      else if (job.options.signal !== undefined) watching = true;
    }
    if (watching) this.pollAborts();
  }

  /** Jobs not started yet: queued, or sent ahead to a worker. */
  private waiting(): number {
    let waiting = this.queued;
    for (const worker of this.workers) waiting += worker.ahead.length;
    return waiting;
  }

  /**
   * Refuses new jobs and lets queued ones start for `queueGraceMs`; jobs still waiting then
   * fail with `WASIO_ERR_POOL_CLOSED`. Waits for running jobs (each bounded by its timeout),
   * then stops every worker.
   */
  async close(queueGraceMs = SHUTDOWN_QUEUE_GRACE_MS): Promise<void> {
    this.closed = true;
    const giveUpAt = performance.now() + queueGraceMs;
    while (this.queued > 0 || this.stats().busy > 0) {
      if (this.queued > 0 && performance.now() >= giveUpAt) this.refuseQueued();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const stopping = [...this.workers];
    for (const worker of stopping) clearTimeout(worker.retireTimer);
    this.workers.clear();
    this.idle.length = 0;
    await Promise.all(stopping.map((worker) => worker.thread.terminate()));
  }

  private refuseQueued(): void {
    for (const name of [...this.turns]) {
      for (const job of [...this.group(name).queue]) {
        this.removeQueued(job);
        this.settleFailure(job, new RunFailure('WASIO_ERR_POOL_CLOSED', 'the server is shutting down'));
      }
    }
  }

  private group(name: string): Group {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = { queue: [], running: 0, runsLong: false, lastArrivalAt: 0 };
      this.groups.set(name, group);
    }
    return group;
  }

  private enqueue(job: Job): void {
    const group = this.group(job.options.group);
    group.lastArrivalAt = job.enqueuedAt;
    if (group.queue.length === 0) this.turns.push(job.options.group);
    group.queue.push(job);
    this.queued += 1;
    this.awaitWorker(job);
  }

  /** A job taken back from a worker goes first in its group's queue, and its group first in turn. */
  private requeue(job: Job): void {
    const group = this.group(job.options.group);
    if (group.queue.length === 0) this.turns.unshift(job.options.group);
    group.queue.unshift(job);
    this.queued += 1;
    this.awaitWorker(job);
  }

  /** Fails a queued job that has waited its patience (counted from when it arrived) for a worker. */
  private awaitWorker(job: Job): void {
    const patienceMs = Math.max(job.options.timeoutMs, MIN_QUEUE_WAIT_MS);
    job.timer = setTimeout(() => {
      this.removeQueued(job);
      this.announceLimit('queue', job.options.group);
      this.settleFailure(job, new RunFailure('WASIO_ERR_QUEUE_FULL', `no worker free within ${patienceMs} ms`));
    }, Math.max(1, job.enqueuedAt + patienceMs - performance.now()));
  }

  private removeQueued(job: Job): void {
    const group = this.group(job.options.group);
    const index = group.queue.indexOf(job);
    if (index === -1) return;
    group.queue.splice(index, 1);
    this.queued -= 1;
    if (group.queue.length === 0) this.turns.splice(this.turns.indexOf(job.options.group), 1);
  }

  /**
   * The next job of the group with the fewest running that may run one more (ties in turn
   * order); with `only`, only of a group it accepts. Jobs aborted since the last check of
   * signals fail here instead of starting.
   */
  private nextJob(only?: (group: Group) => boolean): Job | undefined {
    for (;;) {
      const job = this.nextQueued(only);
      if (job?.options.signal?.aborted !== true) return job;
      this.settleFailure(job, abortedFailure());
    }
  }

  private nextQueued(only?: (group: Group) => boolean): Job | undefined {
    let chosen = -1;
    let fewest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.turns.length; i++) {
      const group = this.group(this.turns[i] as string);
      const head = group.queue[0] as Job;
      if (only !== undefined && !only(group)) continue;
      if (group.running >= (head.options.maxConcurrency ?? Number.POSITIVE_INFINITY)) continue;
      if (group.running < fewest) {
        fewest = group.running;
        chosen = i;
      }
    }
    if (chosen === -1) return undefined;
    const name = this.turns[chosen] as string;
    const group = this.group(name);
    const job = group.queue.shift() as Job;
    this.queued -= 1;
    this.turns.splice(chosen, 1);
    if (group.queue.length > 0) this.turns.push(name);
    return job;
  }

  /**
   * Hands waiting jobs to idle workers. Kept workers take any job; extra workers only jobs of
   * starved groups (nothing running), so an extra started for a quiet route is never taken
   * over by the flood it was started to get around. Jobs still waiting then go ahead to kept
   * workers running short jobs (see "Pipelining"), unless their group's jobs run long.
   */
  private dispatch(): void {
    for (;;) {
      const kept = this.idle.findIndex((worker) => !worker.extra);
      if (kept !== -1) {
        const job = this.nextJob();
        if (job === undefined) break;
        this.start(this.idle.splice(kept, 1)[0] as PoolWorker, job);
        continue;
      }
      if (!this.hasStarvedGroup()) break;
      if (this.idle.length === 0) {
        // Once started, the extra comes back here through its ready message.
        this.spawnExtra();
        break;
      }
      // None when every job the starved groups had was aborted: then look again.
      const job = this.nextJob((group) => this.isStarved(group));
      if (job !== undefined) this.start(this.idle.pop() as PoolWorker, job);
    }
    if (this.queued > 0) this.sendAhead();
    this.scheduleRetirement();
  }

  /**
   * Sends waiting jobs of short-running groups to busy kept workers whose job is short so far,
   * one round at a time, so that each such worker gets one before any gets two.
   */
  private sendAhead(): void {
    for (let round = 0; round < SEND_AHEAD; round++) {
      for (const worker of this.workers) {
        if (this.queued === 0) return;
        const running = worker.job;
        if (worker.extra || running === undefined || worker.ahead.length !== round || worker.demoted) continue;
        if (this.group(running.options.group).runsLong || running.long) continue;
        const job = this.nextJob((group) => !group.runsLong);
        if (job === undefined) return;
        clearTimeout(job.timer);
        const slot = freeSlot(worker);
        job.worker = worker;
        worker.ahead.push(job);
        this.group(job.options.group).running += 1;
        this.send(worker, job, slot);
      }
    }
  }

  /**
   * Takes back the jobs sent ahead to `worker` that have not started, last first, and queues
   * them again in their order. False when the worker has started one, which means the job it
   * was running has ended (the jobs sent ahead of it, and before it, are left to the worker).
   */
  private takeBack(worker: PoolWorker): boolean {
    for (let job = worker.ahead.at(-1); job !== undefined; job = worker.ahead.at(-1)) {
      if (!this.withdraw(worker, job)) return false;
    }
    return true;
  }

  /** Takes back one job sent ahead to `worker`, unless it has started; then false. */
  private withdraw(worker: PoolWorker, job: Job): boolean {
    if (Atomics.compareExchange(worker.claims, job.claimSlot, job.id, 0) !== job.id) return false;
    worker.ahead.splice(worker.ahead.indexOf(job), 1);
    job.worker = undefined;
    this.group(job.options.group).running -= 1;
    if (job.abortOnStart) this.settleFailure(job, abortedFailure());
    else this.requeue(job);
    return true;
  }

  private hasStarvedGroup(): boolean {
    return this.turns.some((name) => this.isStarved(this.group(name)));
  }

  /**
   * A group with nothing running, whose jobs are short: extra workers are for such groups. A
   * group of long jobs whose workers were all just replaced (timeouts) is not starved, it is
   * the flood.
   */
  private isStarved(group: Group): boolean {
    return group.running === 0 && !group.runsLong;
  }

  /**
   * Starts an extra worker, unless a worker is already starting (it will take the job) or as
   * many extras as kept workers run.
   */
  private spawnExtra(): void {
    let extras = 0;
    for (const worker of this.workers) {
      if (!worker.ready) return;
      if (worker.extra) extras += 1;
    }
    if (extras < this.options.size && !this.closed) this.spawn(true);
  }

  /** Idle extra workers retire unless work comes within `EXTRA_WORKER_IDLE_MS`. */
  private scheduleRetirement(): void {
    for (const worker of this.idle) {
      if (!worker.extra || worker.retireTimer !== undefined) continue;
      worker.retireTimer = setTimeout(() => {
        worker.retireTimer = undefined;
        const index = this.idle.indexOf(worker);
        if (index === -1) return;
        this.idle.splice(index, 1);
        this.workers.delete(worker);
        void worker.thread.terminate();
      }, EXTRA_WORKER_IDLE_MS);
      worker.retireTimer.unref();
    }
  }

  private start(worker: PoolWorker, job: Job): void {
    clearTimeout(job.timer);
    clearTimeout(worker.retireTimer);
    worker.retireTimer = undefined;
    job.worker = worker;
    this.group(job.options.group).running += 1;
    this.send(worker, job, 0);
    this.begin(worker, job);
  }

  /** Posts the job to the worker, offering it in slot `claimSlot` of its `claims` first. */
  private send(worker: PoolWorker, job: Job, claimSlot: number): void {
    const known = worker.modules.has(job.module.id);
    if (!known) worker.modules.add(job.module.id);
    // Cloning copies a view's whole buffer (all 8 KiB of a pooled Buffer) twice; a large or
    // pooled stdin goes as an exact copy that is transferred instead. The caller's stays its own.
    const { stdin } = job.spec;
    const transfer = stdin.byteLength >= TRANSFER_STDIN_BYTES || stdin.byteLength !== stdin.buffer.byteLength;
    const spec = transfer ? { ...job.spec, stdin: new Uint8Array(stdin) } : job.spec;
    job.id = this.takeJobId();
    const message: RunMessage = {
      jobId: job.id, moduleId: job.module.id, spec,
      module: known ? undefined : {
        module: job.module.module, memoryImport: job.module.memoryImport, instanceReset: job.module.instanceReset, memoryLimitBytes: job.module.memoryLimitBytes, byteLength: job.module.byteLength,
      },
    };
    job.claimSlot = claimSlot;
    Atomics.store(worker.claims, claimSlot, job.id);
    if (transfer) worker.thread.postMessage(message, [spec.stdin.buffer as ArrayBuffer]);
    else worker.thread.postMessage(message);
  }

  /** From here the job counts as running on `worker`: its timeout and long-run check start. */
  private begin(worker: PoolWorker, job: Job): void {
    job.startedAt = performance.now();
    worker.job = job;
    job.timer = setTimeout(() => {
      this.kill(worker, job, new RunFailure('WASIO_ERR_TIMEOUT', `instance exceeded its timeout of ${job.options.timeoutMs} ms`));
    }, job.options.timeoutMs);
    if (this.group(job.options.group).runsLong) this.demoteIfContended(worker, job);
    else job.longRunTimer = setTimeout(() => this.turnedLong(worker, job), LONG_RUN_MS);
  }

  /**
   * The job has run `LONG_RUN_MS` (by its timer: time measured here may fall a fraction short
   * of it): nothing more is sent ahead behind it, its group's next jobs yield from the start,
   * and it may have to yield now.
   */
  private turnedLong(worker: PoolWorker, job: Job): void {
    job.long = true;
    this.group(job.options.group).runsLong = true;
    this.demoteIfContended(worker, job);
  }

  /**
   * A long job yields the CPU while other routes have work: its thread's nice value is raised,
   * so the kernel gives short requests of other routes the cores first. Without contention the
   * check is simply repeated. Linux only; elsewhere nothing changes.
   */
  private demoteIfContended(worker: PoolWorker, job: Job): void {
    if (worker.job !== job) return;
    // Jobs sent ahead must not wait behind a long one; if one has started, this one has ended.
    const sentAhead = worker.ahead.length > 0;
    const ended = !this.takeBack(worker);
    if (sentAhead) this.dispatch();
    if (ended) return;
    if (worker.osThreadId === undefined) return;
    // Short requests come and go between two checks, so a route that had a request in the
    // last second counts as one that needs the CPU.
    const recently = performance.now() - CONTENTION_WINDOW_MS;
    let contended = false;
    for (const [name, group] of this.groups) {
      if (name !== job.options.group && (group.running > 0 || group.queue.length > 0 || group.lastArrivalAt > recently)) {
        contended = true;
      }
    }
    if (!contended) {
      job.longRunTimer = setTimeout(() => this.demoteIfContended(worker, job), LONG_RUN_MS);
      return;
    }
    try {
      setPriority(worker.osThreadId, DEMOTED_NICE);
      worker.demoted = true;
    } catch {
      // Not permitted here: the job keeps its priority.
    }
  }

  /** Gives a demoted worker its priority back; where that is not permitted, replaces it. */
  private restorePriority(worker: PoolWorker): boolean {
    if (!worker.demoted) return true;
    try {
      setPriority(worker.osThreadId as number, 0);
      worker.demoted = false;
      return true;
    } catch {
      this.workers.delete(worker);
      void worker.thread.terminate();
      if (!worker.extra && !this.closed) this.spawn(false);
      return false;
    }
  }

  private abort(job: Job): void {
    const worker = job.worker;
    if (worker === undefined) {
      this.removeQueued(job);
      this.settleFailure(job, abortedFailure());
    } else if (worker.ahead.includes(job)) {
      job.abortOnStart = true;
      if (this.withdraw(worker, job)) this.dispatch();
    } else {
      this.kill(worker, job, abortedFailure());
    }
  }

  /** Ends a running job by terminating its worker; a fresh worker takes its place. */
  private kill(worker: PoolWorker, job: Job, failure: RunFailure, surely = false): void {
    if (worker.job !== job || (job.resultDue && !surely)) return;
    if (!this.takeBack(worker) && !surely) {
      // The worker has ended `job` and started one sent behind it: the result is on its way.
      // Should it not come within `RESULT_GRACE_MS`, the worker is stopped all the same.
      if (failure.code === 'WASIO_ERR_ABORTED') this.settleFailure(job, failure);
      job.resultDue = true;
      job.timer = setTimeout(() => this.kill(worker, job, failure, true), RESULT_GRACE_MS);
      this.dispatch();
      return;
    }
    this.finish(worker, job);
    this.announceStopped(job, performance.now() - job.startedAt, failure.code);
    if (failure.code === 'WASIO_ERR_TIMEOUT') this.announceLimit('timeout', job.options.group);
    this.workers.delete(worker);
    void worker.thread.terminate();
    this.failStartedAhead(worker, `worker stopped: ${failure.message}`);
    this.countReplacement(failure.code === 'WASIO_ERR_TIMEOUT' ? 'timeout' : 'aborted', failure.code);
    if (!worker.extra && !this.closed) this.spawn(false);
    this.settleFailure(job, failure);
    this.dispatch();
  }

  /** Fails the jobs sent ahead to a stopped worker that it had started (the others were taken back). */
  private failStartedAhead(worker: PoolWorker, reason: string): void {
    for (const job of worker.ahead.splice(0)) {
      job.startedAt = performance.now();
      this.group(job.options.group).running -= 1;
      this.announceStopped(job, 0, 'WASIO_ERR_WORKER_EXIT');
      this.settleFailure(job, new RunFailure('WASIO_ERR_WORKER_EXIT', reason));
    }
  }

  private finish(worker: PoolWorker, job: Job): void {
    clearTimeout(job.timer);
    clearTimeout(job.longRunTimer);
    worker.job = undefined;
    this.group(job.options.group).running -= 1;
  }

  private settleFailure(job: Job, failure: RunFailure): void {
    clearTimeout(job.timer);
    job.reject(failure);
  }

  private spawn(extra: boolean): void {
    const claims = new Int32Array(new SharedArrayBuffer((SEND_AHEAD + 1) * Int32Array.BYTES_PER_ELEMENT));
    const thread = new Worker(WORKER_URL, { workerData: { maxModules: this.options.maxModulesPerWorker, claims } });
    const worker: PoolWorker = {
      thread, modules: new Set(), extra, claims, job: undefined, ahead: [], retireTimer: undefined, osThreadId: undefined,
      demoted: false, ready: false,
    };
    thread.on('message', (message: ResultMessage | ReadyMessage) => {
      if ('ready' in message) this.onReady(worker, message);
      else this.onResult(worker, message);
    });
    thread.on('error', (error) => this.onWorkerDied(worker, `worker failed: ${error.message}`));
    thread.on('exit', (code) => this.onWorkerDied(worker, `worker exited with code ${code}`));
    thread.unref();
    this.workers.add(worker);
  }

  private onReady(worker: PoolWorker, message: ReadyMessage): void {
    worker.ready = true;
    worker.osThreadId = message.osThreadId;
    if (!this.workers.has(worker)) return;
    this.idle.push(worker);
    this.dispatch();
  }

  private onResult(worker: PoolWorker, result: ResultMessage): void {
    const job = worker.job;
    if (job === undefined || job.id !== result.jobId) return;
    this.finish(worker, job);
    const queueMs = job.startedAt - job.enqueuedAt;
    if (result.runMs < LONG_RUN_MS) this.group(job.options.group).runsLong = false;
    this.inline?.noteWorkerRun(job.module, result.ok ? result.runMs : undefined);
    this.announceRunEnd(job.options.group, queueMs, result, false);
    const outcome = outcomeOf(result, queueMs);
    if (outcome instanceof RunFailure) job.reject(outcome);
    else job.resolve(outcome);
    const next = worker.ahead.shift();
    if (next !== undefined) {
      // Sent ahead and never taken back: the worker has started it, or is about to.
      this.begin(worker, next);
      if (next.abortOnStart) this.kill(worker, next, abortedFailure());
    } else if (this.restorePriority(worker)) {
      this.idle.push(worker);
    }
    this.dispatch();
  }

  private onWorkerDied(worker: PoolWorker, reason: string): void {
    if (!this.workers.delete(worker)) return;
    const index = this.idle.indexOf(worker);
    if (index !== -1) this.idle.splice(index, 1);
    // Jobs sent ahead that had not started are queued again; those that had fail with the rest.
    this.takeBack(worker);
    const job = worker.job;
    if (job !== undefined) {
      this.finish(worker, job);
      this.announceStopped(job, performance.now() - job.startedAt, 'WASIO_ERR_WORKER_EXIT');
      this.settleFailure(job, new RunFailure('WASIO_ERR_WORKER_EXIT', reason));
    }
    this.failStartedAhead(worker, reason);
    this.countReplacement('crashed', reason);
    if (!worker.extra && !this.closed) this.spawn(false);
    this.dispatch();
  }

  private countReplacement(reason: WorkerReplacedReason, detail: string): void {
    this.replaced += 1;
    this.options.onWorkerReplaced?.(detail);
    if (workerReplacedChannel.hasSubscribers) workerReplacedChannel.publish({ pool: this, reason, detail });
  }

  /** Announces a worker run stopped with no result: timed out, aborted, or its worker died. */
  private announceStopped(job: Job, runMs: number, failure: string): void {
    if (!instanceEndChannel.hasSubscribers) return;
    instanceEndChannel.publish({
      pool: this, group: job.options.group, queueMs: job.startedAt - job.enqueuedAt, runMs, exitCode: undefined, failure, inline: false,
    });
  }

  /** Announces a run that ended with a result, and the limit it broke if any. */
  private announceRunEnd(group: string, queueMs: number, result: RunResultMessage, inline: boolean): void {
    if (instanceEndChannel.hasSubscribers) {
      instanceEndChannel.publish({
        pool: this, group, queueMs, runMs: result.runMs, exitCode: result.ok ? result.exitCode : undefined,
        failure: result.ok ? undefined : result.code, inline,
      });
    }
    const broken = limitBrokenBy(result);
    if (broken !== undefined) this.announceLimit(broken, group);
  }

  private announceLimit(kind: LimitKind, group: string): void {
    if (limitExceededChannel.hasSubscribers) limitExceededChannel.publish({ source: this, kind, route: group });
  }
}

/** What the caller of `run` gets for a run's result. */
function outcomeOf(result: RunResultMessage, queueMs: number): RunOutcome | RunFailure {
  if (!result.ok) return new RunFailure(result.code, result.message, result.stderr, result.reason);
  return { exitCode: result.exitCode, memoryLimitHit: result.memoryLimitHit, stdout: result.stdout, stderr: result.stderr, runMs: result.runMs, queueMs };
}

/** The limit a finished run broke, if any: memory (a failure at the limit) or output. */
function limitBrokenBy(result: RunResultMessage): LimitKind | undefined {
  if (result.ok) return result.exitCode !== 0 && result.memoryLimitHit ? 'memory' : undefined;
  return result.code === 'WASIO_ERR_OUTPUT_LIMIT' ? 'output' : undefined;
}

/** A slot of the worker's `claims` that none of its jobs holds. */
function freeSlot(worker: PoolWorker): number {
  for (let slot = 0; ; slot++) {
    if (worker.job?.claimSlot !== slot && !worker.ahead.some((job) => job.claimSlot === slot)) return slot;
  }
}

function abortedFailure(): RunFailure {
  return new RunFailure('WASIO_ERR_ABORTED', 'the client went away');
}
