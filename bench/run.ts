/**
 * `npm run bench`: WASIO side by side with the ceiling of this machine, a bare `node:http`
 * server answering "Hello", in one run, cases interleaved so both see the same machine.
 *
 *   node dist/bench/run.js [--duration 10] [--connections 10] [--rounds 2]
 *
 * The load generator is wrk when installed (it costs the machine less), else autocannon.
 * Prints, per case: requests/s, p50 and p99 latency, errors, the ratio to the ceiling, and
 * the server's RSS after the case. Then the first-request latency of a Go module that is not
 * compiled yet.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

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

const CASES: readonly Case[] = [
  { name: 'tiny C instrument', path: '/tiny_hello?name=Bench' },
  { name: '/hello_world (Go)', path: '/hello_world?name=Bench' },
  { name: '/fibonacci?n=25 uncached (Rust)', path: '/fibonacci?n=25', unique: true },
  { name: 'cached route (hit)', path: '/fibonacci?n=25' },
  { name: '/mandelbrot 200x150 (C)', path: '/mandelbrot?width=200&height=150&max_iter=200' },
];

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
  },
});
const DURATION_S = Number(options.duration);
const CONNECTIONS = Number(options.connections);
const ROUNDS = Number(options.rounds);
const HAS_WRK = spawnSync('wrk', ['--version']).error === undefined;

function benchConfig(port: number): string {
  const routes: Record<string, unknown> = {
    '/tiny_hello': { wasm_file: join(EXAMPLES, 'tiny_hello.wasm') },
    '/hello_world': { wasm_file: join(EXAMPLES, 'hello_world.wasm') },
    '/fibonacci': { wasm_file: join(EXAMPLES, 'fibonacci.wasm'), cache: true, ttl: 600 },
    '/mandelbrot': { wasm_file: join(EXAMPLES, 'mandelbrot.wasm') },
  };
  return JSON.stringify({ port, routes });
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
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

async function startWasio(scratch: string, name: string, config: string): Promise<{ child: ChildProcess; port: number }> {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, config);
  const child = spawn(process.execPath, [CLI, 'serve', '-c', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await waitForLine(child, /"port":(\d+)[^\n]*WASIO listening/, 20_000);
  return { child, port: Number(/"port":(\d+)/.exec(line)?.[1]) };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Time from a request to its response for a module the server has never compiled: a fresh
 * server that names it, asked as soon as it listens (compilation starts at start-up).
 */
async function firstRequestLatency(scratch: string): Promise<number> {
  const server = await startWasio(scratch, 'first', JSON.stringify({
    port: 0, routes: { '/hello_world': { wasm_file: join(EXAMPLES, 'hello_world.wasm') } },
  }));
  try {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${server.port}/hello_world?name=First`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`first request answered ${response.status}`);
    return performance.now() - started;
  } finally {
    await stop(server.child);
  }
}

/** The ceiling: a bare `node:http` server in its own process (wrk blocks this one). */
async function startCeiling(): Promise<{ child: ChildProcess; port: number }> {
  const source = "require('node:http').createServer((q, s) => s.end('Hello'))" +
    ".listen(0, '127.0.0.1', function () { console.log('ceiling port ' + this.address().port); });";
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await waitForLine(child, /ceiling port \d+/, 10_000);
  return { child, port: Number(/\d+$/.exec(line)?.[0]) };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'wasio-bench-'));
  const ceiling = await startCeiling();
  const wasio = await startWasio(scratch, 'bench', benchConfig(0));
  const results = new Map<string, Measurement[]>();
  const record = (name: string, measurement: Measurement): void => {
    results.set(name, [...(results.get(name) ?? []), measurement]);
  };
  let rss = 0;
  try {
    for (const { path } of CASES) await fetch(`http://127.0.0.1:${wasio.port}${path}`).then((response) => response.arrayBuffer());
    for (let round = 0; round < ROUNDS; round++) {
      record('ceiling', await load(`http://127.0.0.1:${ceiling.port}/`, false, scratch));
      for (const benchCase of CASES) {
        record(benchCase.name, await load(`http://127.0.0.1:${wasio.port}${benchCase.path}`, benchCase.unique === true, scratch));
        rss = Math.max(rss, rssMb(wasio.child.pid as number));
      }
    }
  } finally {
    await stop(wasio.child);
    await stop(ceiling.child);
  }
  const firstMs = await firstRequestLatency(scratch);
  rmSync(scratch, { recursive: true, force: true });

  const best = (name: string): Measurement => {
    const runs = results.get(name) ?? [];
    return runs.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a), runs[0] as Measurement);
  };
  const ceilingRate = best('ceiling').requestsPerSecond;
  const rows = ['ceiling', ...CASES.map((benchCase) => benchCase.name)].map((name) => {
    const m = best(name);
    return `| ${name} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${m.errors} | ${(m.requestsPerSecond / ceilingRate).toFixed(4)} |`;
  });
  const tool = HAS_WRK ? 'wrk -t2' : 'autocannon';
  process.stdout.write([
    `load: ${tool}, ${CONNECTIONS} connections, ${DURATION_S} s per case, best of ${ROUNDS} rounds`,
    '',
    '| case | req/s | p50 ms | p99 ms | errors | ratio to ceiling |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `server RSS, highest after a case: ${rss.toFixed(0)} MB`,
    `first request to an uncompiled 3 MB Go module: ${firstMs.toFixed(1)} ms`,
    '',
  ].join('\n'));
}

await main();
