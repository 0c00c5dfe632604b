/**
 * Runs a WASI command module once: link, instantiate, call `_start`, and turn whatever
 * happened into an exit code or a typed `WasiRunError`. Nothing a guest does ends the host.
 */
import { LinkError, NotCommandError, ProcExit, TrapError, WasiRunError } from './errors.js';
import { WASI_FUNCTION_NAMES, WasiHost, type WasiOptions } from './host.js';

export interface RunResult {
  /** The `proc_exit` code, or 0 when `_start` returned. */
  readonly exitCode: number;
  /** Size of the guest's memory when the run ended (memories only grow, so also its peak). */
  readonly memoryBytes: number;
}

/** A memory the module imports, to be created by the host with these limits (in pages). */
export interface ProvidedMemory {
  readonly module: string;
  readonly name: string;
  readonly initial: number;
  readonly maximum: number;
  readonly shared: boolean;
  /**
   * The export of a mutable i32 global that holds the size, in pages, the guest sees of this
   * memory, for a module whose `memory.size` and `memory.grow` were rewritten to keep a size of
   * their own (a memory used again after an earlier run grew it). The memory given may then be
   * larger than `initial` pages.
   */
  readonly pagesExport?: string | undefined;
}

const WASI_MODULE = 'wasi_snapshot_preview1';
const PROVIDED = new Set<string>(WASI_FUNCTION_NAMES);
const PAGE_BYTES = 65_536;
const IMPORTS = new WeakMap<WebAssembly.Module, readonly WebAssembly.ModuleImportDescriptor[]>();

/**
 * The host of the run in progress on this thread. Instances call WASI through one set of
 * functions per thread that forward to it (`forwarders`), not through functions bound to each
 * run's host: V8 keeps instances in the old generation, so whatever an instance references
 * lives until the next full collection, and a host bound into it (with the run's input and
 * output) would outlive its run by that much, promoted at a cost by every young collection
 * in between.
 */
let activeHost: WasiHost | undefined;
let forwarders: Record<string, (...args: never[]) => number> | undefined;

function currentHost(): WasiHost {
  if (activeHost === undefined) throw new WasiRunError('WASIO_ERR_LINK', 'WASI called outside a run');
  activeHost.checkDeadline();
  return activeHost;
}

/** The `wasi_snapshot_preview1` namespace every instance of this thread imports. */
function wasiForwarders(): Record<string, (...args: never[]) => number> {
  if (forwarders !== undefined) return forwarders;
  forwarders = {};
  for (const name of WASI_FUNCTION_NAMES) {
    const method = (WasiHost.prototype as unknown as Record<string, (...args: unknown[]) => number>)[name] as (...args: unknown[]) => number;
    forwarders[name] = forwarder(method);
  }
  return forwarders;
}

/** A function of the method's arity (so V8 calls it directly) that calls it on the current host. */
function forwarder(method: (...args: unknown[]) => number): (...args: never[]) => number {
  switch (method.length) {
    case 0: return () => method.call(currentHost());
    case 1: return (a: unknown) => method.call(currentHost(), a);
    case 2: return (a: unknown, b: unknown) => method.call(currentHost(), a, b);
    case 3: return (a: unknown, b: unknown, c: unknown) => method.call(currentHost(), a, b, c);
    case 4: return (a: unknown, b: unknown, c: unknown, d: unknown) => method.call(currentHost(), a, b, c, d);
    case 5: return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => method.call(currentHost(), a, b, c, d, e);
    case 6: return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) => method.call(currentHost(), a, b, c, d, e, f);
    case 7: return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown) =>
      method.call(currentHost(), a, b, c, d, e, f, g);
    default: return (...args: unknown[]) => method.apply(currentHost(), args);
  }
}

/** The module's imports, read once per module: a run of a small module is short enough to notice. */
function importsOf(module: WebAssembly.Module): readonly WebAssembly.ModuleImportDescriptor[] {
  let imports = IMPORTS.get(module);
  if (imports === undefined) {
    imports = WebAssembly.Module.imports(module);
    IMPORTS.set(module, imports);
  }
  return imports;
}

function isWasiFunction(entry: WebAssembly.ModuleImportDescriptor): boolean {
  return entry.module === WASI_MODULE && entry.kind === 'function' && PROVIDED.has(entry.name);
}

/**
 * Lists the imports of `module` that this host cannot satisfy, as `module.name` strings.
 * An empty list means the module links.
 */
export function missingImports(module: WebAssembly.Module, memory?: ProvidedMemory): string[] {
  return importsOf(module)
    .filter((entry) => !isWasiFunction(entry))
    .filter((entry) => !(memory !== undefined && entry.kind === 'memory' && entry.module === memory.module && entry.name === memory.name))
    .map((entry) => `${entry.module}.${entry.name} (${entry.kind})`);
}

/** Names a trap the way people say it; V8's messages differ a little between versions. */
export function trapReason(error: unknown): string | undefined {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'stack overflow';
  if (!(error instanceof WebAssembly.RuntimeError)) return undefined;
  const message = error.message;
  if (/unreachable/i.test(message)) return 'unreachable';
  if (/out of bounds/i.test(message) && /memory/i.test(message)) return 'out of bounds memory access';
  return message;
}

/** An instance of a WASI command, ready for `runInstance`: linked, its memory found. */
export interface CommandInstance {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  readonly start: () => void;
  /** The size of the guest's memory as the guest sees it. */
  readonly guestBytes: () => number;
}

/**
 * Instantiates `module` with a fresh WASI host and runs its `_start`.
 * Returns the exit code; throws `WasiRunError` (trap, `proc_raise`, output limit, link
 * failure, not a command), with `memoryBytes` set. `memory` provides a memory the module
 * imports: made here from its limits, or `memoryObject` when given, which must be what a new
 * one would be to the guest: every byte zero, and `memory.initial` pages, or at least that many
 * with `pagesExport` (its size is checked, its bytes are the caller's promise). Every
 * descriptor the guest opened is closed before it returns.
 */
export function runCommand(
  module: WebAssembly.Module, options: WasiOptions = {}, memory?: ProvidedMemory, memoryObject?: WebAssembly.Memory,
): RunResult {
  // The host is active while the module is instantiated: a start function may call WASI.
  return withHost(options, () => startCommand(instantiateCommand(module, memory, memoryObject)));
}

/**
 * Runs `_start` of an instance made by `instantiateCommand` with a fresh WASI host, as
 * `runCommand` does. Run again, an instance starts from whatever its last run left in its
 * memory and globals: putting those back is the caller's business.
 */
export function runInstance(command: CommandInstance, options: WasiOptions = {}): RunResult {
  return withHost(options, () => startCommand(command));
}

/**
 * Links and instantiates a WASI command on this thread's WASI functions, with `memory` as in
 * `runCommand`. A WASI call made while it instantiates (by a start function) fails unless a
 * run is in progress. Throws `LinkError`, `NotCommandError`, or `WasiRunError` for a trap
 * while it instantiates.
 */
export function instantiateCommand(module: WebAssembly.Module, memory?: ProvidedMemory, memoryObject?: WebAssembly.Memory): CommandInstance {
  const missing = missingImports(module, memory);
  if (missing.length > 0) {
    throw new LinkError(`module needs imports this host does not provide: ${missing.join(', ')}`, missing);
  }
  if (memoryObject !== undefined && !fits(memoryObject, memory)) {
    throw new RangeError('memoryObject must be a memory of the imported memory\'s initial size (or more, with pagesExport)');
  }
  let instanceMemory: WebAssembly.Memory | undefined;
  const imports: WebAssembly.Imports = { [WASI_MODULE]: wasiForwarders() };
  if (memory !== undefined) {
    instanceMemory = memoryObject ?? new WebAssembly.Memory({ initial: memory.initial, maximum: memory.maximum, shared: memory.shared });
    imports[memory.module] = { ...imports[memory.module], [memory.name]: instanceMemory };
  }
  const instance = instantiate(module, imports);
  const exported = instance.exports['memory'];
  if (exported instanceof WebAssembly.Memory) instanceMemory = exported;
  if (instanceMemory === undefined) throw new LinkError('module has no memory: it neither exports "memory" nor imports one');
  const start = instance.exports['_start'];
  if (typeof start !== 'function') throw new NotCommandError();
  return { instance, memory: instanceMemory, start: start as () => void, guestBytes: guestMemoryBytes(instance, instanceMemory, memory?.pagesExport) };
}

/** Calls `run` with a WASI host made from `options` as this thread's active one, and disposes of it after. */
function withHost(options: WasiOptions, run: () => RunResult): RunResult {
  const host = new WasiHost(options);
  const outerHost = activeHost;
  activeHost = host;
  try {
    return run();
  } finally {
    activeHost = outerHost;
    host.dispose();
  }
}

function startCommand(command: CommandInstance): RunResult {
  currentHost().attachMemory(command.memory);
  try {
    command.start();
    return { exitCode: 0, memoryBytes: command.guestBytes() };
  } catch (error) {
    return { exitCode: exitCodeOrThrow(error, command.guestBytes), memoryBytes: command.guestBytes() };
  }
}

function fits(memoryObject: WebAssembly.Memory, memory: ProvidedMemory | undefined): boolean {
  if (memory === undefined) return false;
  const bytes = memoryObject.buffer.byteLength;
  return memory.pagesExport === undefined ? bytes === memory.initial * PAGE_BYTES : bytes >= memory.initial * PAGE_BYTES;
}

/** The size of the guest's memory as the guest sees it: its own count of pages when it keeps one. */
function guestMemoryBytes(instance: WebAssembly.Instance, memory: WebAssembly.Memory, pagesExport: string | undefined): () => number {
  const pages = pagesExport === undefined ? undefined : instance.exports[pagesExport];
  if (pages instanceof WebAssembly.Global) return () => (pages.value as number) * PAGE_BYTES;
  return () => memory.buffer.byteLength;
}

function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(module, imports);
  } catch (error) {
    if (error instanceof WebAssembly.LinkError) throw new LinkError(error.message, [], { cause: error });
    exitCodeOrThrow(error, () => 0);
    throw error;
  }
}

function exitCodeOrThrow(error: unknown, memoryBytes: () => number): number {
  if (error instanceof ProcExit) return error.code;
  let failure: WasiRunError | undefined;
  if (error instanceof WasiRunError) failure = error;
  else {
    const reason = trapReason(error);
    if (reason !== undefined) failure = new TrapError(reason, { cause: error });
  }
  if (failure === undefined) throw error;
  failure.memoryBytes = memoryBytes();
  throw failure;
}
