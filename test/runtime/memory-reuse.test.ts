import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ModuleStore, type RunSpec } from '../../src/runtime/index.js';
import { limitMemory, WASM_PAGE_BYTES } from '../../src/runtime/memory-limit.js';
import { importDefinedMemory, MEMORY_IMPORT, REUSABLE_MEMORY_BYTES, SpareMemories } from '../../src/runtime/memory-reuse.js';
import { WorkerPool } from '../../src/runtime/worker-pool.js';
import { runCommand } from '../../src/wasi/index.js';

// Modules assembled here, so the bytes under test are exactly known. `_start` exits 2 when the
// memory is not one page, exits 1 when the word at 1000 is not zero, then writes 42 there
// (and, with `grow`, grows the memory by a page): run twice on one memory, it fails unless the
// second run got a memory exactly like a new one.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
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
  assert.deepEqual(rewritten.memoryImport, { ...MEMORY_IMPORT, initial: 1, maximum: 16, shared: false });
  const module = compile(rewritten.bytes);
  assert.ok(WebAssembly.Module.imports(module).some((entry) => entry.kind === 'memory' && entry.module === MEMORY_IMPORT.module));
  assert.equal(runCommand(module, {}, rewritten.memoryImport).exitCode, 0);
});

test('a memory too large to zero cheaply, a shared one, or one not exported as "memory" stays the module\'s own', () => {
  const largePages = REUSABLE_MEMORY_BYTES / WASM_PAGE_BYTES + 1;
  for (const options of [{ pages: largePages }, { shared: true }, { exportAs: 'heap' }]) {
    const limited = limitMemory(checker(options), 64, 'checker.wasm');
    assert.equal(importDefinedMemory(limited).memoryImport, undefined, JSON.stringify(options));
  }
});

test('a kept memory is zeroed, a grown one is not kept, and the least recently kept go first past the cap', () => {
  const memoryImport = { module: 'm', name: 'memory', initial: 1, maximum: 4, shared: false };
  const spares = new SpareMemories(2 * WASM_PAGE_BYTES);
  const first = spares.take(1, memoryImport);
  assert.equal(first.buffer.byteLength, WASM_PAGE_BYTES);
  new Uint8Array(first.buffer).fill(7);
  spares.keep(1, first, memoryImport);
  const again = spares.take(1, memoryImport);
  assert.equal(again, first);
  assert.ok(new Uint8Array(again.buffer).every((byte) => byte === 0));
  again.grow(1);
  spares.keep(1, again, memoryImport);
  assert.notEqual(spares.take(1, memoryImport), again, 'a grown memory is let go');
  const [a, b, c] = [2, 3, 4].map((id) => spares.take(id, memoryImport)) as [WebAssembly.Memory, WebAssembly.Memory, WebAssembly.Memory];
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
