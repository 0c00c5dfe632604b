import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ModuleStore, type RunSpec } from '../../src/runtime/index.js';
import { leb, limitMemory, signedLeb, WASM_PAGE_BYTES } from '../../src/runtime/memory-limit.js';
import { importDefinedMemory, MEMORY_IMPORT, MEMORY_PAGES_EXPORT, REUSABLE_MEMORY_BYTES, SpareMemories, type SpareMemory } from '../../src/runtime/memory-reuse.js';
import { WorkerPool } from '../../src/runtime/worker-pool.js';
import { CaptureSink, runCommand } from '../../src/wasi/index.js';
import { repoPath } from '../helpers/repo.js';

// Modules assembled here, so the bytes under test are exactly known. `_start` exits 2 when the
// memory is not one page, exits 1 when the word at 1000 is not zero, then writes 42 there
// (and, with `grow`, grows the memory by a page): run twice on one memory, it fails unless the
// second run got a memory exactly like a new one.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function text(value: string): number[] {
  return [value.length, ...Buffer.from(value)];
}

interface Options {
  readonly pages?: number;
  readonly shared?: boolean;
  readonly exportAs?: string;
  readonly grow?: boolean;
}

function checker(options: Options = {}): Uint8Array {
  const pages = options.pages ?? 1;
  const types = section(1, [0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00]);
  const imports = section(2, [0x01, ...text('wasi_snapshot_preview1'), ...text('proc_exit'), 0x00, 0x00]);
  const functions = section(3, [0x01, 0x01]);
  const memory = section(5, [0x01, ...(options.shared === true ? [0x03, ...leb(pages), ...leb(pages)] : [0x00, ...leb(pages)])]);
  const exports = section(7, [0x02, ...text(options.exportAs ?? 'memory'), 0x02, 0x00, ...text('_start'), 0x00, 0x01]);
  const body = [
    0x00,
    0x3f, 0x00, 0x41, 0x01, 0x47, 0x04, 0x40, 0x41, 0x02, 0x10, 0x00, 0x0b, // memory.size != 1: exit(2)
    0x41, 0xe8, 0x07, 0x28, 0x02, 0x00, 0x04, 0x40, 0x41, 0x01, 0x10, 0x00, 0x0b, // load(1000) != 0: exit(1)
    0x41, 0xe8, 0x07, 0x41, 0x2a, 0x36, 0x02, 0x00, // store(1000, 42)
    ...(options.grow === true ? [0x41, 0x01, 0x40, 0x00, 0x1a] : []), // drop(memory.grow(1))
    0x0b,
  ];
  const code = section(10, [0x01, ...leb(body.length), ...body]);
  return Uint8Array.from([...HEADER, ...types, ...imports, ...functions, ...memory, ...exports, ...code]);
}

function compile(bytes: Uint8Array): WebAssembly.Module {
  return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

test('a small memory the module defines and exports becomes an import the host provides, with the same limits', () => {
  const rewritten = importDefinedMemory(limitMemory(checker(), 1, 'checker.wasm'));
  assert.deepEqual(rewritten.memoryImport, { ...MEMORY_IMPORT, initial: 1, maximum: 16, shared: false, pagesExport: MEMORY_PAGES_EXPORT });
  const module = compile(rewritten.bytes);
  assert.ok(WebAssembly.Module.imports(module).some((entry) => entry.kind === 'memory' && entry.module === MEMORY_IMPORT.module));
  assert.equal(runCommand(module, {}, rewritten.memoryImport).exitCode, 0);
});

test('a memory too large to clean cheaply, a shared one, or one not exported as "memory" stays the module\'s own', () => {
  const largePages = REUSABLE_MEMORY_BYTES / WASM_PAGE_BYTES + 1;
  for (const options of [{ pages: largePages }, { shared: true }, { exportAs: 'heap' }]) {
    const limited = limitMemory(checker(options), 256, 'checker.wasm');
    assert.equal(importDefinedMemory(limited).memoryImport, undefined, JSON.stringify(options));
  }
});

test('a kept memory is zeroed, a grown one is not kept unless the guest keeps its own size, and the least recently kept go first past the cap', () => {
  const memoryImport = { module: 'm', name: 'memory', initial: 1, maximum: 4, shared: false };
  const spares = new SpareMemories(2 * WASM_PAGE_BYTES);
  const first = spares.take(1, memoryImport);
  assert.equal(first.memory.buffer.byteLength, WASM_PAGE_BYTES);
  new Uint8Array(first.memory.buffer).fill(7);
  spares.keep(1, first, memoryImport);
  const again = spares.take(1, memoryImport);
  assert.equal(again, first);
  assert.ok(new Uint8Array(again.memory.buffer).every((byte) => byte === 0));
  again.memory.grow(1);
  spares.keep(1, again, memoryImport);
  assert.notEqual(spares.take(1, memoryImport), again, 'a grown memory is let go');
  const ownSize = { ...memoryImport, pagesExport: MEMORY_PAGES_EXPORT };
  new Uint8Array(again.memory.buffer).fill(9, WASM_PAGE_BYTES - 1);
  spares.keep(1, again, ownSize);
  const grown = spares.take(1, ownSize);
  assert.equal(grown, again, 'a grown memory of a guest that keeps its own size is kept');
  assert.ok(new Uint8Array(grown.memory.buffer).every((byte) => byte === 0), 'every byte of it, grown part included, is zero');
  const large = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
  large.grow(REUSABLE_MEMORY_BYTES / WASM_PAGE_BYTES);
  const roomy = new SpareMemories(2 * REUSABLE_MEMORY_BYTES);
  roomy.keep(5, { memory: large, instance: undefined }, { ...ownSize, maximum: 2048 });
  assert.notEqual(roomy.take(5, { ...ownSize, maximum: 2048 }).memory, large, 'a memory grown past REUSABLE_MEMORY_BYTES is let go');
  const [a, b, c] = [2, 3, 4].map((id) => spares.take(id, memoryImport)) as [SpareMemory, SpareMemory, SpareMemory];
  spares.keep(2, a, memoryImport);
  spares.keep(3, b, memoryImport);
  spares.keep(4, c, memoryImport);
  assert.notEqual(spares.take(2, memoryImport), a, 'the oldest went past two pages');
  assert.equal(spares.take(4, memoryImport), c);
});

const folder = mkdtempSync(join(tmpdir(), 'wasio-memory-reuse-'));
const pools: WorkerPool[] = [];
after(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  rmSync(folder, { recursive: true, force: true });
});

const SPEC: RunSpec = { args: ['checker'], env: {}, stdin: new Uint8Array(0), mounts: [], maxOutputBytes: 1024 };

for (const grow of [false, true]) {
  test(`one worker running a module again and again gives each run a memory like a new one (${grow ? 'it grows' : 'it stays its size'})`, async () => {
    const path = join(folder, `checker-${grow}.wasm`);
    writeFileSync(path, checker({ grow }));
    const module = await new ModuleStore({ maxModules: 4 }).get(path, 1);
    const pool = new WorkerPool({ size: 1, maxQueue: 10, maxModulesPerWorker: 4 });
    pools.push(pool);
    for (let run = 0; run < 4; run++) {
      const outcome = await pool.run(module, SPEC, { group: 'checker', timeoutMs: 5000 });
      assert.equal(outcome.exitCode, 0, `run ${run} saw what an earlier run left (exit ${outcome.exitCode})`);
    }
  });
}

/** `(memory.grow (i32.const delta))`, stored as an i32 at `address`, then `memory.size` stored at `address + 4`. */
function growAndRecord(delta: number, address: number): number[] {
  return [
    0x41, ...signedLeb(address), 0x41, ...signedLeb(delta), 0x40, 0x00, 0x36, 0x02, 0x00,
    0x41, ...signedLeb(address + 4), 0x3f, 0x00, 0x36, 0x02, 0x00,
  ];
}

/** A command whose `_start` runs `code`, with one page of memory that may grow to `maximum`, exported as "memory". */
function command(code: number[], maximum: number): Uint8Array {
  const types = section(1, [0x01, 0x60, 0x00, 0x00]);
  const functions = section(3, [0x01, 0x00]);
  const memory = section(5, [0x01, 0x01, 0x01, ...leb(maximum)]);
  const exports = section(7, [0x02, ...text('memory'), 0x02, 0x00, ...text('_start'), 0x00, 0x00]);
  const body = [0x00, ...code, 0x0b];
  return Uint8Array.from([...HEADER, ...types, ...functions, ...memory, ...exports, ...section(10, [0x01, ...leb(body.length), ...body])]);
}

function words(memory: WebAssembly.Memory, count: number): number[] {
  return [...new Int32Array(memory.buffer, 0, count)];
}

test('on a memory an earlier run grew, memory.grow and memory.size answer as on a new memory', () => {
  const code = [
    ...growAndRecord(0, 0), // [1, 1]
    ...growAndRecord(2, 8), // [1, 3]
    ...growAndRecord(5, 16), // past the maximum of 4: [-1, 3]
    ...growAndRecord(-1, 24), // 2^32 - 1 pages: [-1, 3]
    ...growAndRecord(1, 32), // [3, 4]
  ];
  const rewritten = importDefinedMemory(limitMemory(command(code, 4), 64, 'grower.wasm'));
  const memoryImport = rewritten.memoryImport;
  assert.ok(memoryImport?.pagesExport !== undefined, 'the size instructions were rewritten');
  const module = compile(rewritten.bytes);
  const expected = [1, 1, 1, 3, -1, 3, -1, 3, 3, 4];
  const fresh = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  assert.deepEqual(runCommand(module, {}, memoryImport, fresh), { exitCode: 0, memoryBytes: 4 * WASM_PAGE_BYTES });
  assert.deepEqual(words(fresh, 10), expected);

  const spares = new SpareMemories(8 * WASM_PAGE_BYTES);
  const used = spares.take(1, memoryImport);
  runCommand(module, {}, memoryImport, used.memory);
  spares.keep(1, used, memoryImport);
  const again = spares.take(1, memoryImport);
  assert.equal(again, used, 'the grown memory is given to the next run');
  assert.deepEqual(runCommand(module, {}, memoryImport, again.memory), { exitCode: 0, memoryBytes: 4 * WASM_PAGE_BYTES });
  assert.deepEqual(words(again.memory, 10), expected);
  assert.equal(again.memory.buffer.byteLength, 4 * WASM_PAGE_BYTES, 'the real memory grew no further than the guest asked');
});

test('what a run wrote past its own size is gone before the next run grows into it', () => {
  // Writes 42 at the start of page 2, then grows by 2 pages and reads the word there back at 0.
  const code = [
    0x41, ...signedLeb(2 * WASM_PAGE_BYTES), 0x41, 0x2a, 0x36, 0x02, 0x00,
    0x41, 0x02, 0x40, 0x00, 0x1a,
    0x41, 0x00, 0x41, ...signedLeb(2 * WASM_PAGE_BYTES), 0x28, 0x02, 0x00, 0x36, 0x02, 0x00,
  ];
  const rewritten = importDefinedMemory(limitMemory(command(code, 4), 64, 'stray.wasm'));
  const memoryImport = rewritten.memoryImport;
  assert.ok(memoryImport !== undefined);
  const module = compile(rewritten.bytes);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  // On a new memory the first store is out of bounds.
  assert.throws(() => runCommand(module, {}, memoryImport, memory), /out of bounds/);
  memory.grow(2);
  const spares = new SpareMemories(8 * WASM_PAGE_BYTES);
  new Uint8Array(memory.buffer).fill(0);
  spares.keep(1, { memory, instance: undefined }, memoryImport);
  const reused = spares.take(1, memoryImport);
  // Inside what an earlier run grew, the store does not trap: the guest reads back its own 42.
  assert.equal(runCommand(module, {}, memoryImport, reused.memory).exitCode, 0);
  assert.equal(words(reused.memory, 1)[0], 42);
  spares.keep(1, reused, memoryImport);
  assert.ok(new Uint8Array(spares.take(1, memoryImport).memory.buffer).every((byte) => byte === 0), 'nothing of it reaches the next run');
});

test('loads and stores of every shape are stepped over, so the size instruction after them is found', () => {
  const code = [
    0x41, 0x00, 0x28, 0x02, 0x80, 0x80, 0x04, 0x1a, // i32.load, its offset (65536) in three bytes
    0x41, 0x00, 0x28, 0x82, 0x00, 0x00, 0x1a, // its alignment in two bytes
    // Memory 0 named (the multi-memory form), offset 63: the byte of memory.size, which a walk
    // that missed the index would take for one.
    0x41, 0x00, 0x28, 0x42, 0x00, 0x3f, 0x1a,
    0x41, 0x00, 0x41, 0x07, 0x36, 0x42, 0x00, 0x84, 0x01, // i32.store, memory 0 named, offset 132
    0x3f, 0x00, 0x1a, // memory.size
  ];
  const rewritten = importDefinedMemory(limitMemory(command(code, 4), 64, 'loads.wasm'));
  assert.ok(rewritten.memoryImport?.pagesExport !== undefined, 'the module was rewritten');
  const hex = Buffer.from(rewritten.bytes).toString('hex');
  // The body's memory.size became global.get of the appended global (index 0: the module has none).
  assert.ok(hex.includes(`${Buffer.from(code.slice(0, -3)).toString('hex')}2300`), 'memory.size after the loads is rewritten');
});

test('a module whose code the rewrite cannot read, or that sizes another memory than memory 0, stays as it is', () => {
  const otherMemory = command([0x3f, 0x01, 0x1a], 4);
  const unknownOpcode = command([0xfd, 0xff, 0x7f, 0x1a], 4);
  for (const bytes of [otherMemory, unknownOpcode]) {
    const limited = limitMemory(bytes, 64, 'odd.wasm');
    assert.equal(importDefinedMemory(limited), limited);
  }
});

test('a Go instrument run again and again on one reused memory prints what it prints on a new one', () => {
  const bytes = readFileSync(repoPath('examples', 'instruments', 'hello_world.wasm'));
  const original = compile(bytes);
  const rewritten = importDefinedMemory(limitMemory(bytes, 128, 'hello_world.wasm'));
  const memoryImport = rewritten.memoryImport;
  assert.ok(memoryImport?.pagesExport !== undefined, 'the Go module keeps its own size');
  const module = compile(rewritten.bytes);
  const stdin = Buffer.from(JSON.stringify({ params: { name: 'Reuse' } }));
  const run = (target: WebAssembly.Module, memory?: WebAssembly.Memory): { output: string; memoryBytes: number } => {
    const stdout = new CaptureSink();
    const { exitCode, memoryBytes } = runCommand(target, { args: ['hello_world'], stdin, stdout }, memory === undefined ? undefined : memoryImport, memory);
    assert.equal(exitCode, 0);
    return { output: stdout.text(), memoryBytes };
  };
  const expected = run(original);
  assert.match(expected.output, /Reuse/);
  const spares = new SpareMemories(128 * 2 ** 20);
  let spare: SpareMemory | undefined;
  for (let i = 0; i < 4; i++) {
    const taken = spares.take(1, memoryImport);
    if (i > 0) assert.equal(taken, spare, `run ${i} got the memory of the run before`);
    spare = taken;
    assert.deepEqual(run(module, spare.memory), expected, `run ${i}`);
    spares.keep(1, spare, memoryImport);
  }
});
