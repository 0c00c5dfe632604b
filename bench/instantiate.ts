/**
 * In-process cost of one instantiate + run of a small WASI command, the module compiled
 * once: WASIO's host against node:wasi, interleaved in one process so both see the same
 * machine state; and WASIO's run on an instance kept and put back as new after each run, as
 * workers and the HTTP thread make it (`ReusableInstance`). Prints the median and p90 of
 * each, in microseconds.
 *
 *   node --no-turbo-fast-api-calls dist/bench/instantiate.js [MODULE.wasm] [RUNS]
 *
 * node:wasi crashes a process that runs many instances unless node is started with
 * `--no-turbo-fast-api-calls` (nodejs/node#46777), so without that flag only WASIO is measured.
 *
 * node:wasi needs real descriptors for its streams, so it gets a request file and /dev/null
 * opened once; ours gets the request bytes and a capture buffer, as the server uses it.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { limitMemory } from '../src/runtime/memory-limit.js';
import { importDefinedMemory, SpareMemories } from '../src/runtime/memory-reuse.js';
import { runJob } from '../src/runtime/run-job.js';
import { CaptureSink, runCommand } from '../src/wasi/index.js';

const modulePath = process.argv[2] ?? new URL('../../examples/instruments/tiny_hello.wasm', import.meta.url).pathname;
const runs = Number(process.argv[3] ?? 1000);
const request = Buffer.from(JSON.stringify({ params: { name: 'Bench' }, seed: -4233125112876243210n.toString() }));
const module = new WebAssembly.Module(readFileSync(modulePath));

function runOurs(): void {
  const stdout = new CaptureSink();
  const result = runCommand(module, { args: ['bench'], stdin: request, stdout });
  if (result.exitCode !== 0 || stdout.byteLength === 0) throw new Error('unexpected result from our host');
}

const limited = importDefinedMemory(limitMemory(readFileSync(modulePath), 128, modulePath));
const { memoryImport, instanceReset } = limited;
const reusable = memoryImport === undefined || instanceReset === undefined ? undefined : {
  module: new WebAssembly.Module(limited.bytes as Uint8Array<ArrayBuffer>), memoryImport, instanceReset, memoryLimitBytes: 128 * 2 ** 20, byteLength: 0,
};
const spares = new SpareMemories(8 * 2 ** 20);

function runOursReused(): void {
  if (reusable === undefined) throw new Error('the module cannot run on a kept instance');
  const spare = spares.take(1, reusable.memoryImport);
  const result = runJob(reusable, { args: ['bench'], env: {}, stdin: request, mounts: [], maxOutputBytes: 1 << 20 }, spare);
  spares.keep(1, spare, reusable.memoryImport);
  if (!result.ok || result.exitCode !== 0 || result.stdout.byteLength === 0) throw new Error('unexpected result from a kept instance');
}

const requestFile = join(tmpdir(), `wasio-bench-${process.pid}.json`);
writeFileSync(requestFile, request);
const devNull = openSync('/dev/null', 'w');

function runNodeWasi(): void {
  const stdin = openSync(requestFile, 'r');
  try {
    const wasi = new WASI({ version: 'preview1', args: ['bench'], env: {}, stdin, stdout: devNull, stderr: devNull, returnOnExit: true });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    if (wasi.start(instance) !== 0) throw new Error('unexpected exit from node:wasi');
  } finally {
    closeSync(stdin);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

const withNodeWasi = process.execArgv.includes('--no-turbo-fast-api-calls');
if (!withNodeWasi) process.stdout.write('node:wasi not measured: start node with --no-turbo-fast-api-calls, or it crashes this process\n');
const ourCases = [['wasio', runOurs], ...(reusable === undefined ? [] : [['wasio, instance kept', runOursReused] as const])] as const;
const cases = withNodeWasi ? [...ourCases, ['node:wasi', runNodeWasi] as const] : ourCases;
const timings: Record<string, number[]> = Object.fromEntries(cases.map(([name]) => [name, []]));
for (let i = 0; i < 50; i++) for (const [, run] of cases) run();
for (let i = 0; i < runs; i++) {
  for (const [name, run] of cases) {
    const start = process.hrtime.bigint();
    run();
    timings[name]?.push(Number(process.hrtime.bigint() - start) / 1000);
  }
}
closeSync(devNull);
for (const [name, values] of Object.entries(timings)) {
  values.sort((a, b) => a - b);
  process.stdout.write(`${name.padEnd(22)} median ${percentile(values, 0.5).toFixed(1)} µs  p90 ${percentile(values, 0.9).toFixed(1)} µs  (${runs} runs)\n`);
}
