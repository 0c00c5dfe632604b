/**
 * A worker thread of the pool: keeps the modules it has been sent and runs one job at a
 * time on the WASI host. Output goes back as transferred buffers, never copied twice. The
 * memory of a run is cleaned after the result is sent, while the pool takes the result, and
 * given to the module's next run (`SpareMemories`), with the run's instance put back as new
 * when the module allows it (`ReusableInstance`).
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { collectGarbage } from './collect-garbage.js';
import type { LoadedModule, ReadyMessage, ResultMessage, RunMessage, RunResultMessage } from './messages.js';
import { SpareMemories } from './memory-reuse.js';
import { runJob } from './run-job.js';

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

/** The result to post for job `jobId`, its output in buffers of its own. */
function withTransferableOutput(jobId: number, result: RunResultMessage): ResultMessage {
  return result.ok
    ? { ...result, jobId, stdout: transferable(result.stdout), stderr: transferable(result.stderr) }
    : { ...result, jobId, stderr: transferable(result.stderr) };
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
    : withTransferableOutput(message.jobId, runJob(loaded, message.spec, spare));
  const transfer = [result.stderr.buffer as ArrayBuffer];
  if (result.ok) transfer.push(result.stdout.buffer as ArrayBuffer);
  port.postMessage(result, transfer);
  if (spare !== undefined && memoryImport !== undefined) spares.keep(message.moduleId, spare, memoryImport);
  if (loaded !== undefined && instantiates) collectAfter(loaded);
  idleFromNow();
});
