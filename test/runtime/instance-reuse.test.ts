import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ModuleStore, type RunSpec } from '../../src/runtime/index.js';
import { ReusableInstance } from '../../src/runtime/instance-reuse.js';
import { leb, limitMemory, signedLeb, type LimitedModule } from '../../src/runtime/memory-limit.js';
import { importDefinedMemory, MEMORY_PAGES_EXPORT, SpareMemories } from '../../src/runtime/memory-reuse.js';
import { WorkerPool } from '../../src/runtime/worker-pool.js';
import { exampleInstrument } from '../helpers/server.js';

// A module assembled here, so the bytes under test are exactly known. Its `_start` exits with
// a code naming the first thing that is not as a new instance has it: 2 its memory's size,
// 3 and 4 its two mutable globals, 1 a word of memory, 5 a byte of its data segment. Then it
// changes all of them (and grows its memory by a page) and returns: run twice on one
// instance, it exits non-zero unless the instance was put back as new in between.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, content: readonly number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function text(value: string): number[] {
  return [value.length, ...Buffer.from(value)];
}

/** `if (condition on the stack) exit(code)`. */
function exitIf(code: number): number[] {
  return [0x04, 0x40, 0x41, code, 0x10, 0x00, 0x0b];
}

interface Variant {
  /** Code that sets a table entry. */
  readonly tableSet?: boolean;
  /** Code that drops a data segment, its opcode written in two bytes (a valid, longer LEB128). */
  readonly dataDrop?: boolean;
  /** A start function. */
  readonly start?: boolean;
  /** A mutable v128 global, which JavaScript can neither read nor write. */
  readonly v128Global?: boolean;
  /** More active data segments, one byte each: [address, byte]. */
  readonly moreData?: readonly (readonly [number, number])[];
}

function detector(variant: Variant = {}): Uint8Array {
  const types = section(1, [0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00]);
  const imports = section(2, [0x01, ...text('wasi_snapshot_preview1'), ...text('proc_exit'), 0x00, 0x00]);
  const functions = section(3, variant.start === true ? [0x02, 0x01, 0x01] : [0x01, 0x01]);
  const table = variant.tableSet === true ? section(4, [0x01, 0x70, 0x00, 0x01]) : [];
  const memory = section(5, [0x01, 0x01, 0x01, 0x04]);
  const globals = section(6, [
    variant.v128Global === true ? 0x03 : 0x02,
    0x7f, 0x01, 0x41, 0x00, 0x0b, // (mut i32) 0
    0x7e, 0x01, 0x42, 0x05, 0x0b, // (mut i64) 5
    ...(variant.v128Global === true ? [0x7b, 0x01, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b] : []),
  ]);
  const exports = section(7, [0x02, ...text('memory'), 0x02, 0x00, ...text('_start'), 0x00, 0x01]);
  const start = variant.start === true ? section(8, [0x02]) : [];
  const dataCount = variant.dataDrop === true ? section(12, [0x01]) : [];
  const body = [
    0x00,
    0x3f, 0x00, 0x41, 0x01, 0x47, ...exitIf(2), // memory.size != 1
    0x23, 0x00, ...exitIf(3), // global 0 != 0
    0x23, 0x01, 0x42, 0x05, 0x52, ...exitIf(4), // global 1 != 5
    0x41, 0xe8, 0x07, 0x28, 0x02, 0x00, ...exitIf(1), // load(1000) != 0
    0x41, 0xd0, 0x0f, 0x2d, 0x00, 0x00, 0x41, 0x07, 0x47, ...exitIf(5), // load8(2000) != 7
    0x41, 0x01, 0x24, 0x00, // global 0 = 1
    0x42, 0x09, 0x24, 0x01, // global 1 = 9
    0x41, 0xe8, 0x07, 0x41, 0x2a, 0x36, 0x02, 0x00, // store(1000, 42)
    0x41, 0xd0, 0x0f, 0x41, 0x00, 0x3a, 0x00, 0x00, // store8(2000, 0)
    0x41, 0x01, 0x40, 0x00, 0x1a, // drop(memory.grow(1))
    ...(variant.tableSet === true ? [0x41, 0x00, 0xd0, 0x70, 0x26, 0x00] : []), // table.set 0 (ref.null func)
    ...(variant.dataDrop === true ? [0xfc, 0x89, 0x00, 0x00] : []), // data.drop 0
    0x0b,
  ];
  const bodies = variant.start === true ? [0x02, ...leb(body.length), ...body, 0x02, 0x00, 0x0b] : [0x01, ...leb(body.length), ...body];
  const code = section(10, bodies);
  const moreData = (variant.moreData ?? []).map(([address, byte]) => [0x00, 0x41, ...signedLeb(address), 0x0b, 0x01, byte]);
  const data = section(11, [1 + moreData.length, 0x00, 0x41, 0xd0, 0x0f, 0x0b, 0x01, 0x07, ...moreData.flat()]); // byte 7 at 2000
  return Uint8Array.from([...HEADER, ...types, ...imports, ...functions, ...table, ...memory, ...globals, ...exports, ...start, ...dataCount, ...code, ...data]);
}

function rewritten(variant: Variant = {}): LimitedModule {
  return importDefinedMemory(limitMemory(detector(variant), 1, 'detector.wasm'));
}

function compile(bytes: Uint8Array): WebAssembly.Module {
  return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

test('every mutable global of a module is exported for reset, the guest\'s own page count with them, and its data segments\' ranges noted', () => {
  const limited = rewritten();
  assert.deepEqual(limited.instanceReset, { globals: ['wasio_global_0', 'wasio_global_1', MEMORY_PAGES_EXPORT], data: [[0, 4096]] });
  const exported = WebAssembly.Module.exports(compile(limited.bytes)).filter((entry) => entry.kind === 'global').map((entry) => entry.name);
  assert.deepEqual(exported.sort(), [...(limited.instanceReset?.globals ?? [])].sort());
});

test('a module whose data sits at an offset known only when instantiated is not offered for reuse', () => {
  // (import "env" "base" (global i32)) (memory 1 4) (func $_start) (data (global.get 0) "x")
  const bytes = Uint8Array.from([
    ...HEADER,
    ...section(1, [0x01, 0x60, 0x00, 0x00]),
    ...section(2, [0x01, ...text('env'), ...text('base'), 0x03, 0x7f, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x01, 0x01, 0x04]),
    ...section(7, [0x02, ...text('memory'), 0x02, 0x00, ...text('_start'), 0x00, 0x00]),
    ...section(10, [0x01, 0x02, 0x00, 0x0b]),
    ...section(11, [0x01, 0x00, 0x23, 0x00, 0x0b, 0x01, 0x78]),
  ]);
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  const limited = importDefinedMemory(limitMemory(bytes, 1, 'offset.wasm'));
  assert.ok(limited.memoryImport !== undefined, 'its memory is still reused');
  assert.equal(limited.instanceReset, undefined);
});

test('the pages of data segments in any order are noted as merged runs of whole pages', () => {
  const limited = importDefinedMemory(limitMemory(detector({ moreData: [[70_000, 1], [65_540, 2], [100, 3], [69_631, 4]] }), 2, 'detector.wasm'));
  assert.deepEqual(limited.instanceReset?.data, [[0, 4096], [65_536, 73_728]]);
});

test('an instance put back after a run is, to the guest, a new instance', () => {
  const limited = rewritten();
  const memoryImport = limited.memoryImport;
  assert.ok(memoryImport !== undefined && limited.instanceReset !== undefined);
  const module = compile(limited.bytes);
  const spares = new SpareMemories(16 * 2 ** 16);
  const spare = spares.take(1, memoryImport);
  const instance = ReusableInstance.create(module, memoryImport, spare.memory, limited.instanceReset);
  spare.instance = instance;
  assert.equal(instance.run({}).exitCode, 0);
  assert.equal(instance.run({}).exitCode, 2, 'run again as it was left, the guest sees the last run (so this test can fail)');
  spares.keep(1, spare, memoryImport);
  for (let run = 0; run < 3; run++) {
    const again = spares.take(1, memoryImport);
    assert.equal(again.instance, instance, 'the next run gets the same instance');
    assert.deepEqual(instance.run({}), { exitCode: 0, memoryBytes: 2 * 2 ** 16 }, `run ${run}`);
    spares.keep(1, again, memoryImport);
  }
});

test('modules that change a table, drop a segment, start themselves or hold a v128 global are not offered for reuse; their memory still is', () => {
  const variants: Variant[] = [{ tableSet: true }, { dataDrop: true }, { start: true }, { v128Global: true }];
  for (const variant of variants) {
    const limited = rewritten(variant);
    assert.ok(WebAssembly.validate(limited.bytes as Uint8Array<ArrayBuffer>), JSON.stringify(variant));
    assert.equal(limited.instanceReset, undefined, JSON.stringify(variant));
    assert.ok(limited.memoryImport?.pagesExport !== undefined, JSON.stringify(variant));
  }
});

const pools: WorkerPool[] = [];
after(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

function spec(name: string): RunSpec {
  return { args: ['guest'], env: {}, stdin: Buffer.from(JSON.stringify({ params: { name } })), mounts: [], maxOutputBytes: 1 << 20 };
}

for (const [instrument, runs] of [['tiny_hello', 50], ['hello_world', 3]] as const) {
  test(`a worker serves run after run of ${instrument} on one instance, each answering its own request`, async () => {
    const module = await new ModuleStore({ maxModules: 4 }).get(exampleInstrument(instrument), 64);
    assert.ok(module.instanceReset !== undefined, `${instrument} is offered for reuse`);
    const pool = new WorkerPool({ size: 1, maxQueue: 10, maxModulesPerWorker: 4 });
    pools.push(pool);
    for (let run = 0; run < runs; run++) {
      const name = run % 2 === 0 ? `a-much-longer-name-${run}` : `n${run}`;
      const outcome = await pool.run(module, spec(name), { group: instrument, timeoutMs: 10_000 });
      assert.equal(outcome.exitCode, 0);
      const output = Buffer.from(outcome.stdout).toString();
      assert.match(output, new RegExp(`Hello, ${name}!`), `run ${run}`);
      assert.doesNotMatch(output, new RegExp(`a-much-longer-name-${run - 1}`), `run ${run}`);
    }
  });
}
