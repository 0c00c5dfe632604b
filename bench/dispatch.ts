/**
 * The cost of running instances on the worker pool, without HTTP: `Runtime.invoke` called
 * by N concurrent loops (each starts its next job when the last one ends) for some seconds.
 * Prints jobs/s, the main thread's CPU time per job (what dispatching costs the thread that
 * also serves HTTP), the whole process's CPU per job, and latency percentiles.
 *
 *   node dist/bench/dispatch.js [MODULE.wasm] [--seconds 5] [--concurrency 32]
 *        [--workers N] [--rounds 1] [--no-signal]
 *
 * Each job gets what the HTTP layer gives an instance: a fresh JSON request on stdin, the
 * module's path as argv[0], and (unless --no-signal) an AbortSignal of its own.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Runtime, type Invocation } from '../src/runtime/index.js';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    workers: { type: 'string', default: String(availableParallelism()) },
    rounds: { type: 'string', default: '1' },
    'no-signal': { type: 'boolean', default: false },
  },
});
const modulePath = resolve(positionals[0] ?? new URL('../../examples/instruments/tiny_hello.wasm', import.meta.url).pathname);
const SECONDS = Number(options.seconds);
const CONCURRENCY = Number(options.concurrency);
const WORKERS = Number(options.workers);
const ROUNDS = Number(options.rounds);
const WITH_SIGNAL = !options['no-signal'];
const WARM_UP_MS = 1_000;

const encoder = new TextEncoder();
let seed = 1n;

function invocation(): Invocation {
  seed += 1n;
  const request = `{"seed":${seed},"params":{"name":"Bench"},"method":"GET","path":"/bench","route":"/bench","query":{"name":["Bench"]},"path_params":{},"headers":{"host":"localhost"},"files":[],"body":""}`;
  return {
    wasmFile: modulePath,
    memoryLimitMb: 256,
    spec: { args: [modulePath], env: {}, stdin: encoder.encode(request), mounts: [], maxOutputBytes: 16 * 2 ** 20 },
    group: '/bench',
    timeoutMs: 10_000,
    ...(WITH_SIGNAL ? { signal: new AbortController().signal } : {}),
  };
}

/** CPU time of the calling thread in µs: Linux's schedstat (ns), else `undefined`. */
function threadCpuMicros(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

interface Round {
  readonly jobs: number;
  readonly jobsPerSecond: number;
  readonly mainMicrosPerJob: number | undefined;
  readonly eventLoopUtilization: number;
  readonly processMicrosPerJob: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function measure(runtime: Runtime, durationMs: number): Promise<Round> {
  const latencies: number[] = [];
  const stopAt = performance.now() + durationMs;
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const mainCpu = threadCpuMicros();
  const started = performance.now();
  async function loop(): Promise<void> {
    while (performance.now() < stopAt) {
      const begun = performance.now();
      const outcome = await runtime.invoke(invocation());
      if (outcome.exitCode !== 0) throw new Error(`the module exited with status ${outcome.exitCode}`);
      latencies.push(performance.now() - begun);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const elapsedMs = performance.now() - started;
  const mainCpuEnd = threadCpuMicros();
  const used = process.cpuUsage(cpu);
  const jobs = latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    jobs,
    jobsPerSecond: (jobs * 1000) / elapsedMs,
    mainMicrosPerJob: mainCpu === undefined || mainCpuEnd === undefined ? undefined : (mainCpuEnd - mainCpu) / jobs,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    processMicrosPerJob: (used.user + used.system) / jobs,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

const runtime = new Runtime({ workers: WORKERS, maxQueue: 4096, maxModules: 16, watchModules: false });
try {
  await measure(runtime, WARM_UP_MS);
  process.stdout.write(`${modulePath}: ${WORKERS} workers, ${CONCURRENCY} concurrent jobs, ${SECONDS} s, signal ${WITH_SIGNAL ? 'yes' : 'no'}, Node ${process.version}\n`);
  for (let round = 0; round < ROUNDS; round++) {
    const result = await measure(runtime, SECONDS * 1000);
    process.stdout.write(
      `${result.jobsPerSecond.toFixed(0).padStart(7)} jobs/s` +
      `  main thread ${result.mainMicrosPerJob === undefined ? '?' : result.mainMicrosPerJob.toFixed(1)} µs/job` +
      ` (busy ${(result.eventLoopUtilization * 100).toFixed(0)}%)` +
      `  process ${result.processMicrosPerJob.toFixed(1)} µs/job` +
      `  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  (${result.jobs} jobs)\n`,
    );
  }
} finally {
  await runtime.close();
}
