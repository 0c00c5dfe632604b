/**
 * `npm run bench`: WASIO side by side with the ceiling of this machine, a bare `node:http`
 * server answering "Hello", in one run, cases interleaved so both see the same machine.
 *
 *   node dist/bench/run.js [--duration 10] [--connections 10] [--rounds 2]
 *                          [--processes N] [--cases SUBSTRING[,SUBSTRING...]]
 *
 * The load generator is wrk when installed (it costs the machine less), else autocannon.
 * Prints, per case: requests/s, p50 and p99 latency, errors, the ratio to the ceiling; the
 * highest RSS of the server (its process and every process under it) after a case; then the
 * cold start of a server for one Go module: until it listens, and its first request; then the
 * memory of a server on the example config while `/hello_world` is under the same load.
 *
 * `--processes N` is handed to `wasio serve`. `--cases` runs only the cases whose name
 * contains one of the substrings (case-insensitive); the ceiling always runs.
 *
 * Each round ends with four floors (`floor-server.ts`), bare servers in as many processes as
 * the server (at least two): on `node:http`, the ceiling's own answer, the headers and access
 * line of a cache hit, and a tiny C run's payload, run (on a kept instance) and answer; and
 * "Hello" written to bare sockets with no HTTP parser. They show how far a case is from what
 * `node:http` allows at all, and what Node's sockets would allow another HTTP stack.
 *
 * The servers write their logs to files in a scratch folder, as a deployment would, so a
 * server never waits for this process (which wrk blocks) to read its output; the port each
 * listens on is read from its log file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { processTree, residentBytes } from '../test/helpers/hostile.js';

interface Case {
  readonly name: string;
  readonly path: string;
  /** Adds a unique query item per request, so no response comes from the cache. */
  readonly unique?: boolean;
}

interface Measurement {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'dist/src/cli/main.js');
const EXAMPLES = join(REPO, 'examples/instruments');
/** Go builds of example instruments (scripts/build-bench-instruments.sh): same answers, other language. */
const BENCH_INSTRUMENTS = join(REPO, 'bench/instruments');
const FLOOR_SERVER = join(REPO, 'dist/bench/floor-server.js');

const ALL_CASES: readonly Case[] = [
  { name: 'tiny C instrument', path: '/tiny_hello?name=Bench' },
  { name: '/hello_world (Go)', path: '/hello_world?name=Bench' },
  { name: '/fibonacci?n=25 uncached (Rust)', path: '/fibonacci?n=25', unique: true },
  { name: '/fibonacci?n=25 uncached (Go)', path: '/fibonacci_go?n=25', unique: true },
  { name: 'cached route (hit)', path: '/fibonacci?n=25' },
  { name: '/mandelbrot 200x150 (C)', path: '/mandelbrot?width=200&height=150&max_iter=200' },
  { name: '/mandelbrot 200x150 (Go)', path: '/mandelbrot_go?width=200&height=150&max_iter=200' },
];

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    processes: { type: 'string' },
    cases: { type: 'string' },
  },
});
const DURATION_S = Number(options.duration);
const CONNECTIONS = Number(options.connections);
const ROUNDS = Number(options.rounds);
const HAS_WRK = spawnSync('wrk', ['--version']).error === undefined;
const SERVER_PROCESSES = options.processes === 'auto' ? availableParallelism() : Number(options.processes ?? 1);
/** The floors run with as many processes as the server, and with two when it runs one. */
const FLOOR_PROCESSES = Math.max(2, Number.isInteger(SERVER_PROCESSES) ? SERVER_PROCESSES : 1);
/** Extra arguments of every `wasio serve`. */
const SERVE_ARGS: readonly string[] = options.processes === undefined ? [] : ['--processes', options.processes];
const CASE_FILTERS = (options.cases ?? '').split(',').map((filter) => filter.trim().toLowerCase()).filter((filter) => filter !== '');
const CASES = ALL_CASES.filter(({ name }) => CASE_FILTERS.length === 0 || CASE_FILTERS.some((filter) => name.toLowerCase().includes(filter)));
if (CASES.length === 0) {
  process.stderr.write(`no case matches --cases ${options.cases ?? ''}; the cases are:\n${ALL_CASES.map(({ name }) => `  ${name}\n`).join('')}`);
  process.exit(2);
}

function benchConfig(port: number): string {
  const routes: Record<string, unknown> = {
    '/tiny_hello': { wasm_file: join(EXAMPLES, 'tiny_hello.wasm') },
    '/hello_world': { wasm_file: join(EXAMPLES, 'hello_world.wasm') },
    '/fibonacci': { wasm_file: join(EXAMPLES, 'fibonacci.wasm'), cache: true, ttl: 600 },
    '/mandelbrot': { wasm_file: join(EXAMPLES, 'mandelbrot.wasm') },
    // The Go builds, configured as the routes they stand beside.
    '/fibonacci_go': { wasm_file: join(BENCH_INSTRUMENTS, 'fibonacci-go.wasm'), cache: true, ttl: 600 },
    '/mandelbrot_go': { wasm_file: join(BENCH_INSTRUMENTS, 'mandelbrot-go.wasm') },
  };
  return JSON.stringify({ port, routes });
}

/** A child process whose stdout goes to a file. */
interface LoggedProcess {
  readonly child: ChildProcess;
  readonly log: string;
}

function spawnLogged(args: readonly string[], log: string): LoggedProcess {
  // Appending, as log files are written: processes that share the file never overwrite each other.
  const fd = openSync(log, 'a');
  try {
    return { child: spawn(process.execPath, args, { stdio: ['ignore', fd, 'inherit'] }), log };
  } finally {
    closeSync(fd); // the child has its own copy
  }
}

/** The last `bytes` of a log file, for error messages. */
function logTail(log: string, bytes = 4096): string {
  let fd: number | undefined;
  try {
    fd = openSync(log, 'r');
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, bytes));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return (size > bytes ? '...' : '') + tail.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads the log file as it grows until a line gives `find` a result, and returns that. Fails
 * when the process exits first or nothing is found within `timeoutMs`.
 */
async function waitForLogLine<T>(
  { child, log }: LoggedProcess, find: (line: string) => T | undefined, what: string, timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  const file = await open(log, 'r');
  const buffer = Buffer.alloc(64 * 1024);
  const decoder = new StringDecoder('utf8');
  let position = 0;
  let partial = '';
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        const lines = (partial + decoder.write(buffer.subarray(0, bytesRead))).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const found = find(line);
          if (found !== undefined) return found;
        }
        continue;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the process exited (${child.exitCode ?? child.signalCode}) before logging ${what}; the end of its log:\n${logTail(log)}`);
      }
      if (performance.now() > deadline) throw new Error(`no ${what} logged within ${timeoutMs} ms; the end of its log:\n${logTail(log)}`);
      await sleep(20);
    }
  } finally {
    await file.close();
  }
}

/** The RSS of a process and every process under it, in MB, and how many processes that is. */
function treeRssMb(pid: number): { mb: number; processes: number } {
  let bytes = 0;
  let processes = 0;
  for (const member of processTree(pid)) {
    try {
      bytes += residentBytes(member);
      processes++;
    } catch {
      continue; // exited meanwhile
    }
  }
  return { mb: bytes / 2 ** 20, processes };
}

function parseWrkLatency(text: string, label: string): number {
  const match = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (match === null) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

function loadWithWrk(url: string, unique: boolean, scratch: string): Measurement {
  const script = join(scratch, 'request.lua');
  writeFileSync(script, unique
    ? 'local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, wrk.path .. "&u=" .. n .. "-" .. math.random(1e9))\nend\n'
    : '');
  const result = spawnSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--latency', '-s', script, url], { encoding: 'utf8' });
  const text = result.stdout;
  const requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = non2xx + (socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0));
  return { requestsPerSecond: requests, p50Ms: parseWrkLatency(text, '50%'), p99Ms: parseWrkLatency(text, '99%'), errors };
}

async function loadWithAutocannon(url: string, unique: boolean): Promise<Measurement> {
  let n = 0;
  const result = await autocannon({
    url, connections: CONNECTIONS, duration: DURATION_S,
    ...(unique ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: `${request.path ?? '/'}&u=${++n}` }) }] } : {}),
  });
  return {
    requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

function load(url: string, unique: boolean, scratch: string): Promise<Measurement> {
  return HAS_WRK ? Promise.resolve(loadWithWrk(url, unique, scratch)) : loadWithAutocannon(url, unique);
}

interface Server extends LoggedProcess {
  readonly port: number;
}

async function startWasio(scratch: string, name: string, config: string): Promise<Server> {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, config);
  return startWasioOn(scratch, name, file);
}

/** `wasio serve` on a config file, on a free port. */
async function startWasioOn(scratch: string, name: string, file: string): Promise<Server> {
  const server = spawnLogged([CLI, 'serve', '-c', file, '--port', '0', ...SERVE_ARGS], join(scratch, `${name}.log`));
  try {
    const port = await waitForLogLine(server, (line) => {
      if (!line.includes('WASIO listening')) return undefined;
      const port = /"port":(\d+)/.exec(line)?.[1] ?? /WASIO listening on \S+:(\d+)/.exec(line)?.[1];
      return port === undefined ? undefined : Number(port);
    }, 'the "WASIO listening" line', 30_000);
    return { ...server, port };
  } catch (error) {
    await stop(server.child);
    throw error;
  }
}

/** SIGTERM, then SIGKILL if the process has not exited after 20 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** The server's memory while it serves one route under load. */
interface MemoryUnderLoad {
  readonly medianMb: number;
  readonly highestMb: number;
  readonly processes: number;
}

const RSS_SAMPLE_MS = 500;

/**
 * The memory of a fresh server on the example config (every example route) while wrk keeps
 * `/hello_world` busy, sampled twice a second: the way Go WASIO's 875 MB was measured.
 */
async function memoryUnderLoad(scratch: string): Promise<MemoryUnderLoad> {
  const server = await startWasioOn(scratch, 'memory', join(REPO, 'examples/config.json'));
  try {
    const url = `http://127.0.0.1:${server.port}/hello_world?name=Memory`;
    await (await fetch(url)).arrayBuffer();
    const samples: { mb: number; processes: number }[] = [];
    const sampler = setInterval(() => samples.push(treeRssMb(server.child.pid as number)), RSS_SAMPLE_MS);
    try {
      if (HAS_WRK) {
        const wrk = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, url], { stdio: 'ignore' });
        await new Promise((resolve) => wrk.once('exit', resolve));
      } else {
        await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
      }
    } finally {
      clearInterval(sampler);
    }
    const sorted = samples.map((sample) => sample.mb).sort((a, b) => a - b);
    return {
      medianMb: sorted[Math.floor(sorted.length / 2)] ?? 0, highestMb: sorted.at(-1) ?? 0, processes: samples.at(-1)?.processes ?? 0,
    };
  } finally {
    await stop(server.child);
  }
}

/** A cold start: a fresh server for one Go module, from launch to its first answer. */
interface ColdStart {
  /** From launching `wasio serve` to its "listening" line (the module is compiled by then). */
  readonly listeningMs: number;
  /** What compiling the module took, as the server logged it. */
  readonly compileMs: number;
  /** The first request, sent as soon as the server listens: its first instance of the module. */
  readonly firstRequestMs: number;
}

async function coldStart(scratch: string): Promise<ColdStart> {
  const launched = performance.now();
  const server = await startWasio(scratch, 'first', JSON.stringify({
    port: 0, routes: { '/hello_world': { wasm_file: join(EXAMPLES, 'hello_world.wasm') } },
  }));
  const listeningMs = performance.now() - launched;
  try {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${server.port}/hello_world?name=First`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`first request answered ${response.status}`);
    const firstRequestMs = performance.now() - started;
    const compileMs = await waitForLogLine(server, (line) => {
      const match = /"compileMs":(\d+)/.exec(line);
      return match === null ? undefined : Number(match[1]);
    }, 'the "module compiled" line', 5_000);
    return { listeningMs, compileMs, firstRequestMs };
  } finally {
    await stop(server.child);
  }
}

/** A server process that prints `<label> port N` once it listens, and that port. */
async function startAnnounced(scratch: string, args: readonly string[], name: string, label: string): Promise<Server> {
  const server = spawnLogged(args, join(scratch, `${name}.log`));
  const announcement = new RegExp(`^${label} port (\\d+)$`);
  try {
    const port = await waitForLogLine(server, (line) => announcement.exec(line)?.[1], 'its port', 10_000);
    return { ...server, port: Number(port) };
  } catch (error) {
    await stop(server.child);
    throw error;
  }
}

/** The ceiling: a bare `node:http` server in its own process (wrk blocks this one). */
function startCeiling(scratch: string): Promise<Server> {
  const source = "require('node:http').createServer((q, s) => s.end('Hello'))" +
    ".listen(0, '127.0.0.1', function () { console.log('ceiling port ' + this.address().port); });";
  return startAnnounced(scratch, ['-e', source], 'ceiling', 'ceiling');
}

/** How the floors (`floor-server.ts`) answer, and the name of their row. */
const FLOORS = [
  { mode: 'hello', name: `floor: ceiling in ${FLOOR_PROCESSES} processes`, path: '/' },
  { mode: 'cache-hit', name: `floor: a cache hit's headers and access line, bare node:http, ${FLOOR_PROCESSES} processes`, path: '/fibonacci?n=25' },
  { mode: 'tiny-run', name: `floor: a tiny C run's payload, run and answer, bare node:http, ${FLOOR_PROCESSES} processes`, path: '/tiny_hello?name=Bench' },
  { mode: 'socket-hello', name: `floor: "Hello" on bare sockets, no HTTP parser, ${FLOOR_PROCESSES} processes`, path: '/' },
] as const;

function startFloor(scratch: string, mode: string): Promise<Server> {
  return startAnnounced(scratch, [FLOOR_SERVER, mode, String(FLOOR_PROCESSES)], `floor-${mode}`, 'floor');
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'wasio-bench-'));
  const results = new Map<string, Measurement[]>();
  const record = (name: string, measurement: Measurement): void => {
    results.set(name, [...(results.get(name) ?? []), measurement]);
  };
  let rss = { mb: 0, processes: 0 };
  let logMb = 0;
  let cold: ColdStart;
  let memory: MemoryUnderLoad;
  try {
    const ceiling = await startCeiling(scratch);
    try {
      const wasio = await startWasio(scratch, 'bench', benchConfig(0));
      try {
        for (const { name, path } of CASES) {
          const response = await fetch(`http://127.0.0.1:${wasio.port}${path}`);
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`${name}: ${path} answered ${response.status}`);
        }
        for (let round = 0; round < ROUNDS; round++) {
          record('ceiling', await load(`http://127.0.0.1:${ceiling.port}/`, false, scratch));
          for (const benchCase of CASES) {
            record(benchCase.name, await load(`http://127.0.0.1:${wasio.port}${benchCase.path}`, benchCase.unique === true, scratch));
            const now = treeRssMb(wasio.child.pid as number);
            if (now.mb > rss.mb) rss = now;
          }
          // Started for their turn only, so they take nothing from the cases.
          for (const { mode, name, path } of FLOORS) {
            const floor = await startFloor(scratch, mode);
            try {
              record(name, await load(`http://127.0.0.1:${floor.port}${path}`, false, scratch));
            } finally {
              await stop(floor.child);
            }
          }
        }
      } finally {
        await stop(wasio.child);
      }
      logMb = statSync(wasio.log).size / 1024 / 1024;
    } finally {
      await stop(ceiling.child);
    }
    cold = await coldStart(scratch);
    memory = await memoryUnderLoad(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const best = (name: string): Measurement => {
    const runs = results.get(name) ?? [];
    return runs.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a), runs[0] as Measurement);
  };
  const ceilingRate = best('ceiling').requestsPerSecond;
  const rows = ['ceiling', ...CASES.map((benchCase) => benchCase.name), ...FLOORS.map((floor) => floor.name)].map((name) => {
    const m = best(name);
    return `| ${name} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${m.errors} | ${(m.requestsPerSecond / ceilingRate).toFixed(4)} |`;
  });
  const tool = HAS_WRK ? 'wrk -t2' : 'autocannon';
  process.stdout.write([
    `load: ${tool}, ${CONNECTIONS} connections, ${DURATION_S} s per case, best of ${ROUNDS} rounds` +
      (options.processes === undefined ? '' : `; wasio serve --processes ${options.processes}`),
    '',
    '| case | req/s | p50 ms | p99 ms | errors | ratio to ceiling |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `server RSS (${rss.processes} process${rss.processes === 1 ? '' : 'es'}), highest after a case: ${rss.mb.toFixed(0)} MB`,
    `server log written to a file: ${logMb.toFixed(1)} MB`,
    `cold start, 3 MB Go module: listening after ${cold.listeningMs.toFixed(0)} ms (compiling it took ${cold.compileMs} ms of that); ` +
      `first request ${cold.firstRequestMs.toFixed(1)} ms`,
    `memory on the example config, /hello_world at ${CONNECTIONS} connections for ${DURATION_S} s (${memory.processes} ` +
      `process${memory.processes === 1 ? '' : 'es'}): median ${memory.medianMb.toFixed(0)} MB, highest ${memory.highestMb.toFixed(0)} MB`,
    '',
  ].join('\n'));
}

await main();
