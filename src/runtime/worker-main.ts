/**
 * A worker thread of the pool: keeps the modules it has been sent and runs one job at a
 * time on the WASI host. Output goes back as transferred buffers, never copied twice. The
 * memory of a run is cleaned after the result is sent, while the pool takes the result, and
 * given to the module's next run (`SpareMemories`), with the run's instance put back as new
 * when the module allows it (`ReusableInstance`).
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CaptureSink, runCommand, TrapError, WasiRunError, ProcRaiseError, type RunResult, type WasiOptions } from '../wasi/index.js';
import { collectGarbage } from './collect-garbage.js';
import { WASM_PAGE_BYTES } from './memory-limit.js';
import type { LoadedModule, ReadyMessage, ResultMessage, RunMessage } from './messages.js';
import { ReusableInstance } from './instance-reuse.js';
import { SpareMemories, type SpareMemory } from './memory-reuse.js';

const port = parentPort;
if (port === null) throw new Error('worker-main must run in a worker thread');
const { maxModules, claims } = workerData as { maxModules: number; claims: Int32Array };
const modules = new Map<number, LoadedModule>();
/** At most this many bytes of memories are kept for next runs: counted by size, though only what guests touched stays resident. */
const SPARE_MEMORY_BYTES = 128 * 2 ** 20;
const spares = new SpareMemories(SPARE_MEMORY_BYTES);

/** Bytes whose whole buffer can be transferred: small Buffers share Node's pool, so those are copied. */
function transferable(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

function remember(id: number, module: LoadedModule): void {
  modules.delete(id);
  modules.set(id, module);
  if (modules.size > maxModules) {
    const oldest = modules.keys().next().value as number;
    modules.delete(oldest);
    spares.drop(oldest);
  }
}

/**
 * A guest that failed with its memory grown close to the limit most likely failed for want of
 * memory: an allocator grows by what it needs at once (a 1 MiB malloc asks for 17 pages), so
 * "close" is within an eighth of the limit.
 */
function atMemoryLimit(loaded: LoadedModule, memoryBytes: number): boolean {
  return memoryBytes + Math.max(WASM_PAGE_BYTES, loaded.memoryLimitBytes / 8) > loaded.memoryLimitBytes;
}

/** Runs on the spare's instance, made first if the module's instances can run again, else on a new instance. */
function runOn(loaded: LoadedModule, spare: SpareMemory | undefined, options: WasiOptions): RunResult {
  if (spare === undefined || loaded.memoryImport === undefined || loaded.resetGlobals === undefined) {
    return runCommand(loaded.module, options, loaded.memoryImport, spare?.memory);
  }
  spare.instance ??= ReusableInstance.create(loaded.module, loaded.memoryImport, spare.memory, loaded.resetGlobals);
  return spare.instance.run(options);
}

function run(message: RunMessage, loaded: LoadedModule, spare: SpareMemory | undefined): ResultMessage {
  const stdout = new CaptureSink();
  const stderr = new CaptureSink();
  const started = performance.now();
  try {
    const { exitCode, memoryBytes } = runOn(loaded, spare, { ...message.spec, stdout, stderr });
    const memoryLimitHit = exitCode !== 0 && atMemoryLimit(loaded, memoryBytes);
    return {
      jobId: message.jobId, ok: true, exitCode, memoryLimitHit, stdout: transferable(stdout.bytes()),
      stderr: transferable(stderr.bytes()), runMs: performance.now() - started,
    };
  } catch (error) {
    if (!(error instanceof WasiRunError)) throw error;
    let reason = error instanceof TrapError ? error.reason
      : error instanceof ProcRaiseError ? `signal ${error.signal}` : undefined;
    if (atMemoryLimit(loaded, error.memoryBytes)) reason = `memory limit reached (${reason ?? error.code})`;
    return {
      jobId: message.jobId, ok: false, code: error.code, message: error.message, reason,
      stderr: transferable(stderr.bytes()), runMs: performance.now() - started,
    };
  }
}

/** This thread's id in the kernel (`/proc/thread-self` is `PID/task/TID`), where Linux tells it. */
function osThreadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch {
    return undefined;
  }
}

const ready: ReadyMessage = { ready: true, osThreadId: osThreadId() };
port.postMessage(ready);

const IDLE_COLLECT_MS = 1_000;
/** Made at the end of the first job and re-armed (not made anew) at the end of each next one. */
let idleTimer: NodeJS.Timeout | undefined;

/** Counts the worker idle from now: jobs run synchronously, so the timer cannot fire during one. */
function idleFromNow(): void {
  if (idleTimer === undefined) {
    idleTimer = setTimeout(idle, IDLE_COLLECT_MS);
    idleTimer.unref();
  } else {
    idleTimer.refresh();
  }
}

/**
 * Idle a moment: kept memories go, and so does everything else the last runs left. An idle
 * worker allocates nothing, so V8 would never collect the last instance and its memory.
 */
function idle(): void {
  spares.clear();
  instantiatedBytes = 0;
  collectGarbage();
}

/**
 * A busy worker collects in full once the instances made since its last full collection add up
 * to this many bytes of module. With memories reused, nothing pushes V8 to a full collection
 * under load: instances are small in V8's heap, but each holds memory outside it (its tables,
 * its code's metadata), in proportion to its module, that only a full collection frees. Left to
 * itself, a server running the example config's Go /hello_world under load grew past 400 MB;
 * collecting every 64 MiB of module (about 20 Go runs, 10,000 of a small C module) keeps it
 * under 250 MB. It costs a Go guest's runs about 6% of their time, and a small module's nothing
 * measurable.
 */
const INSTANTIATED_BYTES_COLLECT = 64 * 2 ** 20;
let instantiatedBytes = 0;

function collectAfter(loaded: LoadedModule): void {
  instantiatedBytes += loaded.byteLength;
  if (instantiatedBytes < INSTANTIATED_BYTES_COLLECT) return;
  instantiatedBytes = 0;
  collectGarbage();
}

/**
 * Claims job `id`: the pool offers each job in a slot of `claims` before sending it, and may
 * take back one sent ahead by claiming it first, and then it is not this thread's to run.
 */
function claimed(id: number): boolean {
  for (let slot = 0; slot < claims.length; slot++) {
    if (Atomics.compareExchange(claims, slot, id, 0) === id) return true;
  }
  return false;
}

port.on('message', (message: RunMessage) => {
  if (message.module !== undefined) remember(message.moduleId, message.module);
  if (!claimed(message.jobId)) return;
  const loaded = modules.get(message.moduleId);
  const memoryImport = loaded?.memoryImport;
  const spare = memoryImport === undefined ? undefined : spares.take(message.moduleId, memoryImport);
  const instantiates = spare?.instance === undefined;
  const result: ResultMessage = loaded === undefined
    ? { jobId: message.jobId, ok: false, code: 'WASIO_ERR_MODULE_LOAD', message: 'module not present in worker', reason: undefined, stderr: new Uint8Array(0), runMs: 0 }
    : run(message, loaded, spare);
  const transfer = [result.stderr.buffer as ArrayBuffer];
  if (result.ok) transfer.push(result.stdout.buffer as ArrayBuffer);
  port.postMessage(result, transfer);
  if (spare !== undefined && memoryImport !== undefined) spares.keep(message.moduleId, spare, memoryImport);
  if (loaded !== undefined && instantiates) collectAfter(loaded);
  idleFromNow();
});
