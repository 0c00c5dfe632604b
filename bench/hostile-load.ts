/**
 * Hostile load, the long version of test/hostile/load.alone.test.ts. Serves the test instruments
 * with `wasio serve` (a child process, so its memory and descriptors are its own), then:
 *
 * 1. measures the latency of a tiny route alone, then while `--clients` clients keep an
 *    endless-loop route (timeout_ms 1000) busy, `--seconds` each;
 * 2. sends `--requests` hostile requests (endless loops, memory bombs, output floods, traps,
 *    proc_raise, descriptor hogs, oversized bodies, client disconnects, ...), `--concurrency`
 *    at a time, sampling the server's RSS and open descriptors as it goes and after.
 *
 *   npm run build
 *   node dist/bench/hostile-load.js [--seconds 20] [--clients 20] [--requests 10000] [--concurrency 8] [--processes 1]
 *
 * Prints the figures as text, then as one JSON line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { EXTRA_WORKER_IDLE_MS } from '../src/runtime/worker-pool.js';
import {
  describeCounts, describeLatency, describeMix, HOSTILE_FILES, hostileRoutes, keepBusy, measureLatency, mebibytes,
  openDescriptorCount, processTree, residentBytes, sendHostileMix, type LatencySummary,
} from '../test/helpers/hostile.js';
import { cliMain, exampleInstrument, testInstrument } from '../test/helpers/server.js';

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '20' },
    requests: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
    processes: { type: 'string', default: '1' },
  },
});
const seconds = Number(options.seconds);
const loopClients = Number(options.clients);
const hostileRequests = Number(options.requests);
const concurrency = Number(options.concurrency);

interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<number | null>;
}

/** `wasio serve` on a free port; resolves once it says where it listens. */
async function startServer(configFile: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, [cliMain, 'serve', '-c', configFile, '--port', '0', '--processes', options.processes], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      const match = /"port":(\d+)[^\n]*listening/.exec(pending);
      if (match === null) return;
      child.stdout?.off('data', onData);
      // The log is not needed from here on, but must be read so the server never blocks on it.
      child.stdout?.resume();
      resolve(Number(match[1]));
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => reject(new Error(`wasio serve exited with ${code} before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function workersBusy(url: string): Promise<number> {
  const response = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5_000) });
  return ((await response.json()) as { workers: { busy: number } }).workers.busy;
}

async function untilIdle(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await workersBusy(url)) > 0) {
    if (Date.now() > deadline) throw new Error('the workers stayed busy');
    await delay(100);
  }
}

interface ProcessFigures {
  readonly rssMiB: number;
  readonly fds: number;
}

/** The server's figures, summed over its process tree (one process, or a primary and its HTTP processes). */
function figuresOf(pid: number): ProcessFigures {
  let bytes = 0;
  let fds = 0;
  for (const member of processTree(pid)) {
    bytes += residentBytes(member);
    fds += openDescriptorCount(member);
  }
  return { rssMiB: Number(mebibytes(bytes)), fds };
}

function describeFigures(figures: ProcessFigures): string {
  return `RSS ${figures.rssMiB.toFixed(1)} MiB, ${figures.fds} descriptors`;
}

const dir = mkdtempSync(join(tmpdir(), 'wasio-hostile-load-'));
let server: ServerProcess | undefined;
try {
  for (const [relative, content] of Object.entries(HOSTILE_FILES)) {
    mkdirSync(dirname(join(dir, relative)), { recursive: true });
    writeFileSync(join(dir, relative), content);
  }
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({
    routes: {
      '/loop': { wasm_file: testInstrument('loop'), timeout_ms: 1_000 },
      '/tiny_hello': { wasm_file: exampleInstrument('tiny_hello') },
      ...hostileRoutes(),
    },
  }));
  server = await startServer(configFile);
  const { url, pid } = server;
  const tinyUrl = `${url}/tiny_hello?name=Load`;
  console.log(`Node ${process.version}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; server pid ${pid}, --processes ${options.processes}`);
  const started = figuresOf(pid);
  console.log(`server started: ${describeFigures(started)}`);

  await measureLatency(tinyUrl, 1_000);
  const quiet = await measureLatency(tinyUrl, seconds * 1_000);
  console.log(`tiny_hello alone, ${seconds} s: ${describeLatency(quiet)}`);

  const load = keepBusy(`${url}/loop`, loopClients, [503, 504]);
  let loaded: LatencySummary;
  try {
    loaded = await measureLatency(tinyUrl, seconds * 1_000);
  } finally {
    const loops = await load.stop();
    console.log(`loop route (${loopClients} clients): ${describeCounts(loops.counts)}; unexpected: ${loops.unexpected.length}`);
  }
  console.log(`tiny_hello with ${loopClients} loop clients, ${seconds} s: ${describeLatency(loaded)}`);
  console.log(`p99 ratio loaded/alone: ${(loaded.p99Ms / quiet.p99Ms).toFixed(1)}×`);
  await untilIdle(url);

  // Warm-up: every kind ten times, so "before" is a server that has run each one.
  const warmUp = await sendHostileMix(url, 110, concurrency);
  await untilIdle(url);
  const before = figuresOf(pid);
  console.log(`before the hostile mix (after a warm-up of 110): ${describeFigures(before)}`);

  const samples: (ProcessFigures & { readonly sent: number })[] = [];
  const step = Math.max(1, Math.floor(hostileRequests / 10));
  const mixStarted = performance.now();
  const unexpected = [...warmUp.unexpected];
  const total = new Map<string, Map<number | 'aborted' | 'error', number>>();
  for (let sent = 0; sent < hostileRequests; sent += step) {
    const batch = await sendHostileMix(url, Math.min(step, hostileRequests - sent), concurrency, sent);
    unexpected.push(...batch.unexpected);
    for (const [kind, counts] of batch.byKind) {
      const into = total.get(kind) ?? new Map<number | 'aborted' | 'error', number>();
      for (const [status, n] of counts) into.set(status, (into.get(status) ?? 0) + n);
      total.set(kind, into);
    }
    samples.push({ sent: sent + Math.min(step, hostileRequests - sent), ...figuresOf(pid) });
    console.log(`  after ${samples.at(-1)?.sent}: ${describeFigures(samples.at(-1) as ProcessFigures)}`);
  }
  const mixSeconds = (performance.now() - mixStarted) / 1000;
  console.log(`${hostileRequests} hostile requests in ${mixSeconds.toFixed(1)} s (${(hostileRequests / mixSeconds).toFixed(0)}/s), ${concurrency} at a time:`);
  console.log(describeMix({ sent: hostileRequests, byKind: total, unexpected }).replace(/^/gm, '  '));
  console.log(`unexpected answers: ${unexpected.length}${unexpected.length > 0 ? `\n  ${unexpected.slice(0, 20).join('\n  ')}` : ''}`);
  const healthy = (await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) })).status;
  console.log(`/health after the mix: ${healthy}`);

  const right = figuresOf(pid);
  console.log(`right after the mix: ${describeFigures(right)}`);
  // Extra workers retire after EXTRA_WORKER_IDLE_MS idle; give them that and a little more.
  await delay(EXTRA_WORKER_IDLE_MS + 2_000);
  const rested = figuresOf(pid);
  console.log(`after ${(EXTRA_WORKER_IDLE_MS + 2_000) / 1000} s idle: ${describeFigures(rested)}`);

  console.log(JSON.stringify({
    node: process.version, cores: availableParallelism(), seconds, loopClients, hostileRequests, concurrency,
    quiet, loaded, p99Ratio: loaded.p99Ms / quiet.p99Ms, started, before, right, rested, samples,
    mixSeconds, unexpected: unexpected.length, healthy,
  }));
} finally {
  const code = await server?.stop();
  if (code !== undefined && code !== 0) console.log(`wasio serve exited with status ${code} on SIGTERM`);
  rmSync(dir, { recursive: true, force: true });
}
