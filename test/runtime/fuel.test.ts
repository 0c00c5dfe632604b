/**
 * Fuel metering on real modules (the example and test instruments, C, Go and Rust) and on
 * modules assembled here: what a metered run prints, when it runs out, and what is charged.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FUEL_EXPORT, meterFuel, type MeteredModule } from '../../src/runtime/fuel.js';
import { CaptureSink, instantiateCommand, runCommand, runInstance, TrapError } from '../../src/wasi/index.js';
import { repoPath } from '../helpers/repo.js';

const EXAMPLES = repoPath('examples', 'instruments');
const TEST_INSTRUMENTS = repoPath('test', 'instruments');
const MAX_FUEL = 2 ** 31 - 1;

function wasmFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.wasm')).map((name) => join(dir, name));
}

function compile(bytes: Uint8Array): WebAssembly.Module {
  return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

function metered(bytes: Uint8Array): MeteredModule {
  const result = meterFuel(bytes);
  assert.ok(result !== undefined, 'the module is metered');
  return result;
}

interface ExampleModules {
  readonly original: WebAssembly.Module;
  readonly metered: WebAssembly.Module;
}

const examples = new Map<string, ExampleModules>();

/** An example instrument compiled as it is and metered, once per test process. */
function example(name: string): ExampleModules {
  let modules = examples.get(name);
  if (modules === undefined) {
    const bytes = readFileSync(join(EXAMPLES, `${name}.wasm`));
    modules = { original: compile(bytes), metered: compile(metered(bytes).bytes) };
    examples.set(name, modules);
  }
  return modules;
}

interface FueledRun {
  /** The exit code, or undefined when the guest trapped. */
  readonly exitCode: number | undefined;
  readonly trap: unknown;
  readonly stdout: string;
  readonly fuelLeft: number;
}

/** Runs a metered WASI command the way a host does: the fuel set after instantiating, before `_start`. */
function runWithFuel(module: WebAssembly.Module, fuel: number, stdin: string): FueledRun {
  const stdout = new CaptureSink();
  const command = instantiateCommand(module);
  const fuelGlobal = command.instance.exports[FUEL_EXPORT] as WebAssembly.Global;
  fuelGlobal.value = fuel;
  const ended = (exitCode: number | undefined, trap: unknown): FueledRun => ({ exitCode, trap, stdout: stdout.text(), fuelLeft: fuelGlobal.value as number });
  try {
    const { exitCode } = runInstance(command, { args: ['guest'], stdin: Buffer.from(stdin), stdout });
    return ended(exitCode, undefined);
  } catch (error) {
    if (!(error instanceof TrapError)) throw error;
    return ended(undefined, error.cause);
  }
}

function runUnmetered(module: WebAssembly.Module, stdin: string): { exitCode: number; stdout: string } {
  const stdout = new CaptureSink();
  const { exitCode } = runCommand(module, { args: ['guest'], stdin: Buffer.from(stdin), stdout });
  return { exitCode, stdout: stdout.text() };
}

/** The trap a guest out of fuel ends with, and the fuel it leaves. */
function assertOutOfFuel(run: { readonly trap: unknown; readonly fuelLeft: number }): void {
  assert.ok(run.trap instanceof WebAssembly.RuntimeError, `a trap, not ${String(run.trap)}`);
  assert.match(run.trap.message, /unreachable/);
  assert.ok(run.fuelLeft < 0, `fuel left ${run.fuelLeft} is below zero`);
}

// Modules assembled here, so the bytes under test are exactly known; each function's text
// format is in a comment beside its bytes.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const I32 = 0x7f;
const I64 = 0x7e;
const F64 = 0x7c;
const V128 = 0x7b;
const FUNCREF = 0x70;
const SECTION = { custom: 0, type: 1, function: 3, table: 4, memory: 5, export: 7, start: 8, element: 9, code: 10, data: 11, dataCount: 12, tag: 13 };

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

function vector(items: readonly (readonly number[])[]): number[] {
  return [...leb(items.length), ...items.flat()];
}

function section(id: number, content: readonly number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function text(value: string): number[] {
  return [value.length, ...Buffer.from(value)];
}

function functionType(params: readonly number[], results: readonly number[]): number[] {
  return [0x60, ...vector(params.map((type) => [type])), ...vector(results.map((type) => [type]))];
}

/** A function body: one declaration for each local, then the instructions. */
function body(locals: readonly number[], ...instructions: (readonly number[])[]): number[] {
  const content = [...vector(locals.map((type) => [0x01, type])), ...instructions.flat()];
  return [...leb(content.length), ...content];
}

function exportFunction(name: string, index: number): number[] {
  return [...text(name), 0x00, ...leb(index)];
}

function wasm(...sections: (readonly number[])[]): Uint8Array {
  return Uint8Array.from([...HEADER, ...sections.flat()]);
}

/** Functions of type 0 (given), exported by name, with one page of memory. */
function moduleOf(type: readonly number[], exports: readonly (readonly number[])[], ...bodies: (readonly number[])[]): Uint8Array {
  return wasm(
    section(SECTION.type, vector([type])),
    section(SECTION.function, vector(bodies.map(() => [0x00]))),
    section(SECTION.memory, vector([[0x00, 0x01]])),
    section(SECTION.export, vector(exports)),
    section(SECTION.code, vector(bodies)),
  );
}

function instantiateMetered(bytes: Uint8Array): { exports: WebAssembly.Exports; fuel: WebAssembly.Global } {
  const module = compile(metered(bytes).bytes);
  const instance = new WebAssembly.Instance(module);
  return { exports: instance.exports, fuel: instance.exports[FUEL_EXPORT] as WebAssembly.Global };
}

/** The fuel `call` spends, given `start` to spend. */
function fuelSpent(fuel: WebAssembly.Global, start: number, call: () => void): number {
  fuel.value = start;
  call();
  return start - (fuel.value as number);
}

// The naive Fibonacci: a great deal of work, all of it recursion, no loop anywhere.
const FIBONACCI = moduleOf(functionType([I32], [I32]), [exportFunction('fib', 0)], body([],
  [0x20, 0x00, 0x41, 0x02, 0x49], // (i32.lt_u (local.get 0) (i32.const 2))
  [0x04, I32, 0x20, 0x00], //        (if (result i32) (then (local.get 0))
  [0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00], // (else (call 0 (i32.sub (local.get 0) (i32.const 1)))
  [0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 0x00], //                (call 0 (i32.sub (local.get 0) (i32.const 2)))
  [0x6a, 0x0b, 0x0b], //                                         i32.add))
));

// fill(n, times): memory.fill of n bytes, `times` times over, in a loop.
const FILL_LOOP = moduleOf(functionType([I32, I32], []), [exportFunction('fill', 0)], body([],
  [0x03, 0x40], //                                        (loop
  [0x41, 0x00, 0x41, 0x00, 0x20, 0x00, 0xfc, 0x0b, 0x00], // (memory.fill (i32.const 0) (i32.const 0) (local.get 0))
  [0x20, 0x01, 0x41, 0x01, 0x6b, 0x22, 0x01, 0x0d, 0x00], // (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1))))
  [0x0b, 0x0b], //                                        ))
));

test('every example and test instrument, the 3 MB Go ones included, is metered into a module WebAssembly accepts', () => {
  const files = [...wasmFiles(EXAMPLES), ...wasmFiles(TEST_INSTRUMENTS)];
  assert.ok(files.length >= 20, 'the instruments are where the test looks for them');
  for (const file of files) {
    const result = meterFuel(readFileSync(file));
    assert.ok(result !== undefined, `${file} is metered`);
    assert.equal(result.fuelExport, FUEL_EXPORT);
    assert.ok(WebAssembly.validate(result.bytes as Uint8Array<ArrayBuffer>), `metered ${file} is valid`);
  }
});

test('metered C, Go and Rust commands print exactly what they print unmetered', () => {
  const runs = [
    ['tiny_hello', '{"params":{"name":"Ada"}}'],
    ['hello_world', '{"params":{"name":"Ada"},"seed":42}'],
    ['fibonacci', '{"params":{"n":"500"}}'],
  ] as const;
  for (const [name, stdin] of runs) {
    const modules = example(name);
    const expected = runUnmetered(modules.original, stdin);
    const run = runWithFuel(modules.metered, MAX_FUEL, stdin);
    assert.equal(run.trap, undefined, `${name} does not trap`);
    assert.deepEqual({ exitCode: run.exitCode, stdout: run.stdout }, expected, name);
    assert.ok(expected.stdout.length > 0, `${name} printed something`);
    assert.ok(run.fuelLeft >= 0 && run.fuelLeft < MAX_FUEL, `${name} spent some fuel, not all of it`);
  }
});

test('the metered module keeps its imports, exports and custom sections, and adds only the fuel global', () => {
  const { original, metered: withFuel } = example('hello_world');
  assert.deepEqual(WebAssembly.Module.imports(withFuel), WebAssembly.Module.imports(original));
  assert.deepEqual(WebAssembly.Module.exports(withFuel), [...WebAssembly.Module.exports(original), { name: FUEL_EXPORT, kind: 'global' }]);
  for (const name of ['go:buildid', 'producers']) {
    const contents = (module: WebAssembly.Module): Buffer[] => WebAssembly.Module.customSections(module, name).map((bytes) => Buffer.from(bytes));
    assert.equal(contents(original).length, 1, `Go wrote a ${name} section`);
    assert.deepEqual(contents(withFuel), contents(original), name);
  }
});

test('an endless loop runs out of fuel and traps', () => {
  const module = compile(metered(readFileSync(join(TEST_INSTRUMENTS, 'loop.wasm'))).bytes);
  const run = runWithFuel(module, 1_000_000, '');
  assertOutOfFuel(run);
  assert.equal(run.exitCode, undefined);
});

test('recursion is charged at every function entry, so deep recursion without loops runs out of fuel too', () => {
  const { exports, fuel } = instantiateMetered(FIBONACCI);
  const fib = exports['fib'] as (n: number) => number;
  fuel.value = 1_000_000;
  assert.equal(fib(15), 610, 'a small recursion finishes');
  fuel.value = 1_000_000;
  assert.throws(() => fib(40), (error: unknown) => {
    assertOutOfFuel({ trap: error, fuelLeft: fuel.value as number });
    return true;
  });
});

test('a run given exactly the fuel it spends finishes; with one unit less it traps', () => {
  const { metered: module } = example('tiny_hello');
  const stdin = '{"params":{"name":"Ada"}}';
  const full = runWithFuel(module, MAX_FUEL, stdin);
  const spent = MAX_FUEL - full.fuelLeft;
  assert.equal(runWithFuel(module, MAX_FUEL, stdin).fuelLeft, full.fuelLeft, 'the same run spends the same fuel');

  const exact = runWithFuel(module, spent, stdin);
  assert.deepEqual({ exitCode: exact.exitCode, stdout: exact.stdout, fuelLeft: exact.fuelLeft }, { exitCode: full.exitCode, stdout: full.stdout, fuelLeft: 0 });
  const short = runWithFuel(module, spent - 1, stdin);
  assertOutOfFuel(short);
  assert.equal(short.fuelLeft, -1, 'it traps at the last charge of the full run');
});

test('memory.fill is charged by its length: one unit for each KiB, on top of one for the instruction', () => {
  const { exports, fuel } = instantiateMetered(FILL_LOOP);
  const fill = exports['fill'] as (length: number, times: number) => void;
  const empty = fuelSpent(fuel, 1_000_000, () => fill(0, 10));
  const wholePage = fuelSpent(fuel, 1_000_000, () => fill(65_536, 10));
  assert.equal(wholePage - empty, 10 * 64);
  fuel.value = 500;
  assert.throws(() => fill(65_536, 100), /unreachable/);
});

test('modules the transform does not understand are left unmetered', () => {
  const nothing = functionType([], []);
  const start = exportFunction('_start', 0);
  // (func) with a 0xFF prefix opcode, which no proposal defines
  assert.equal(meterFuel(moduleOf(nothing, [start], body([], [0xff, 0x00, 0x0b]))), undefined);
  // (memory i64 1): lengths would be i64, which the charge cannot read
  assert.equal(meterFuel(wasm(
    section(SECTION.type, vector([nothing])),
    section(SECTION.function, vector([[0x00]])),
    section(SECTION.memory, vector([[0x04, 0x01]])),
    section(SECTION.code, vector([body([], [0x0b])])),
  )), undefined);
  // an export of that name already
  assert.equal(meterFuel(moduleOf(nothing, [start, exportFunction(FUEL_EXPORT, 0)], body([], [0x0b]))), undefined);
  // not WebAssembly at all, and a module cut short
  assert.equal(meterFuel(Buffer.from('#!/bin/sh\n')), undefined);
  assert.equal(meterFuel(FIBONACCI.subarray(0, FIBONACCI.byteLength - 3)), undefined);
});

test('modules whose run fuel cannot bound are left unmetered: a start function, an atomic wait', () => {
  const nothing = functionType([], []);
  // (start 0): it runs while instantiating, before the host can set the fuel
  assert.equal(meterFuel(wasm(
    section(SECTION.type, vector([nothing])),
    section(SECTION.function, vector([[0x00]])),
    section(SECTION.start, [0x00]),
    section(SECTION.code, vector([body([], [0x0b])])),
  )), undefined);
  // (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))): it may block for ever
  const wait = moduleOf(nothing, [exportFunction('_start', 0)], body([], [0x41, 0x00, 0x41, 0x00, 0x42, 0x7f, 0xfe, 0x01, 0x02, 0x00, 0x1a, 0x0b]));
  assert.ok(WebAssembly.validate(wait as Uint8Array<ArrayBuffer>), 'the wait module is valid WebAssembly');
  assert.equal(meterFuel(wait), undefined);
});

test('a loop that takes a parameter, its block type a type index, still validates and runs', () => {
  // Types 0-63 are () -> (); type 64, (i32) -> (i32), makes the loop's block type two bytes long.
  const types = [...Array.from({ length: 64 }, () => functionType([], [])), functionType([I32], [I32])];
  const bytes = wasm(
    section(SECTION.type, vector(types)),
    section(SECTION.function, vector([leb(64)])),
    section(SECTION.export, vector([exportFunction('countdown', 0)])),
    section(SECTION.code, vector([body([],
      [0x20, 0x00], //                   local.get 0
      [0x03, 0xc0, 0x00], //             loop (type 64)        ;; the count is the loop's parameter
      [0x41, 0x01, 0x6b, 0x22, 0x00], //   i32.const 1  i32.sub  local.tee 0
      [0x20, 0x00, 0x0d, 0x00], //         local.get 0  br_if 0  ;; again, with the count, while it is not 0
      [0x0b, 0x0b], //                   end end
    )])),
  );
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), 'the module is valid before');
  const { exports, fuel } = instantiateMetered(bytes);
  const countdown = exports['countdown'] as (n: number) => number;
  const once = fuelSpent(fuel, 1_000, () => assert.equal(countdown(1), 0));
  const tenTimes = fuelSpent(fuel, 1_000, () => assert.equal(countdown(10), 0));
  assert.equal(tenTimes - once, 9 * 7, 'each turn of the loop is charged its 7 instructions');
});

test('a module without globals or exports gets both sections, in their places, its custom section kept', () => {
  const note = section(SECTION.custom, [...text('note'), 0x01, 0x02, 0x03]);
  const bytes = wasm(
    section(SECTION.type, vector([functionType([], [])])),
    section(SECTION.function, vector([[0x00]])),
    note,
    section(SECTION.code, vector([body([], [0x0b])])),
  );
  const module = compile(metered(bytes).bytes);
  assert.deepEqual(WebAssembly.Module.exports(module), [{ name: FUEL_EXPORT, kind: 'global' }]);
  assert.deepEqual(WebAssembly.Module.customSections(module, 'note').map((content) => [...new Uint8Array(content)]), [[0x01, 0x02, 0x03]]);
  const fuel = new WebAssembly.Instance(module).exports[FUEL_EXPORT] as WebAssembly.Global;
  assert.equal(fuel.value, 0, 'the fuel starts empty until the host sets it');
});

test('instructions with every kind of immediate are decoded exactly: bulk memory, tables, SIMD, atomics, exceptions, tail calls', () => {
  const ii = functionType([I32], [I32]);
  const bytes = wasm(
    section(SECTION.type, vector([ii, functionType([I32], [])])),
    section(SECTION.function, vector([[0x00], [0x00], [0x00]])),
    section(SECTION.table, vector([[FUNCREF, 0x00, 0x04]])),
    section(SECTION.memory, vector([[0x00, 0x01]])),
    section(SECTION.tag, vector([[0x00, 0x01]])), // (tag $boom (param i32))
    section(SECTION.export, vector([exportFunction('mix', 2)])),
    section(SECTION.element, vector([[0x01, 0x00, ...vector([[0x00], [0x00]])]])), // (elem $seg func 0 0)
    section(SECTION.dataCount, [0x01]),
    section(SECTION.code, vector([
      // (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      body([], [0x20, 0x00, 0x41, 0x02, 0x6c, 0x0b]),
      // (func $tail (param i32) (result i32) (return_call_indirect (type 0) (local.get 0) (i32.const 3)))
      body([], [0x20, 0x00, 0x41, 0x03, 0x13, 0x00, 0x00, 0x0b]),
      body([V128, I64, F64],
        [0x41, 0x10, 0x41, 0x00, 0x41, 0x08, 0xfc, 0x08, 0x00, 0x00], // (memory.init 0 (i32.const 16) (i32.const 0) (i32.const 8))
        [0xfc, 0x09, 0x00], //                                          (data.drop 0)
        [0x41, 0x20, 0x41, 0x10, 0x41, 0x08, 0xfc, 0x0a, 0x00, 0x00], // (memory.copy (i32.const 32) (i32.const 16) (i32.const 8))
        [0x41, 0x30, 0x41, 0x09, 0x41, 0x04, 0xfc, 0x0b, 0x00], //       (memory.fill (i32.const 48) (i32.const 9) (i32.const 4))
        [0x41, 0x00, 0x41, 0x00, 0x41, 0x02, 0xfc, 0x0c, 0x00, 0x00], // (table.init 0 0 (i32.const 0) (i32.const 0) (i32.const 2))
        [0xfc, 0x0d, 0x00], //                                          (elem.drop 0)
        [0x41, 0x02, 0x41, 0x00, 0x41, 0x02, 0xfc, 0x0e, 0x00, 0x00], // (table.copy 0 0 (i32.const 2) (i32.const 0) (i32.const 2))
        [0xd0, FUNCREF, 0x41, 0x01, 0xfc, 0x0f, 0x00, 0x1a], //          (drop (table.grow 0 (ref.null func) (i32.const 1)))
        [0x41, 0x04, 0xd2, 0x00, 0x41, 0x01, 0xfc, 0x11, 0x00], //       (table.fill 0 (i32.const 4) (ref.func 0) (i32.const 1))
        [0xfc, 0x10, 0x00, 0x1a], //                                    (drop (table.size 0))
        [0x41, 0x01, 0x25, 0x00, 0xd1, 0x1a], //                        (drop (ref.is_null (table.get 0 (i32.const 1))))
        [0x41, 0x03, 0xd2, 0x00, 0x26, 0x00], //                        (table.set 0 (i32.const 3) (ref.func 0))
        [0x41, 0x00, 0xfd, 0x00, 0x04, 0x10, 0x21, 0x01], //            (local.set 1 (v128.load offset=16 (i32.const 0)))
        [0x20, 0x01, 0xfd, 0x0c, ...Array<number>(16).fill(0)], //     (local.get 1) (v128.const i32x4 0 0 0 0)
        [0xfd, 0x0d, ...Array.from({ length: 16 }, (_, i) => 15 - i), 0x21, 0x01], // (local.set 1 (i8x16.shuffle 15 14 ... 0))
        [0x41, 0x30, 0x20, 0x01, 0xfd, 0x54, 0x00, 0x00, 0x00, 0x21, 0x01], // (local.set 1 (v128.load8_lane 0 (i32.const 48) (local.get 1)))
        [0x41, 0x00, 0x20, 0x01, 0xfd, 0x0b, 0x04, 0x40], //            (v128.store offset=64 (i32.const 0) (local.get 1))
        [0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x21, 0x02], // (local.set 2 (i64.const -2^63))
        [0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x21, 0x03], // (local.set 3 (f64.const 1.5))
        [0x43, 0x00, 0x00, 0x20, 0x40, 0x1a], //                        (drop (f32.const 2.5))
        [0x41, 0x00, 0x41, 0x00, 0xfe, 0x10, 0x02, 0x10, 0xfe, 0x17, 0x02, 0x50], // (i32.atomic.store offset=80 (i32.const 0) (i32.atomic.load offset=16 (i32.const 0)))
        [0xfe, 0x03, 0x00], //                                          (atomic.fence)
        [0x20, 0x03, 0xfc, 0x02, 0x1a], //                              (drop (i32.trunc_sat_f64_s (local.get 3)))
        [0x20, 0x02, 0xc2, 0x1a], //                                    (drop (i64.extend8_s (local.get 2)))
        [0x02, 0x40, 0x02, 0x40, 0x20, 0x00, 0x0e, 0x02, 0x01, 0x00, 0x01, 0x0b, 0x0b], // (block (block (br_table 1 0 1 (local.get 0))))
        [0x06, 0x40, 0x41, 0x07, 0x08, 0x00, 0x07, 0x00, 0x1a, 0x0b], // (try (do (throw 0 (i32.const 7))) (catch 0 (drop)))
        [0x06, 0x40, 0x06, 0x40, 0x41, 0x01, 0x08, 0x00, 0x19, 0x09, 0x00, 0x0b, 0x19, 0x0b], // (try (do (try (do (throw 0 (i32.const 1))) (catch_all (rethrow 0)))) (catch_all))
        [0x06, 0x40, 0x06, 0x40, 0x01, 0x18, 0x00, 0x19, 0x0b], //       (try (do (try (do (nop)) (delegate 0))) (catch_all))
        [0x20, 0x01, 0xfd, 0x16, 0x00], //                              (i8x16.extract_lane_u 0 (local.get 1))
        [0x41, 0x00, 0x28, 0x02, 0x50, 0x20, 0x00, 0x1c, 0x01, I32], //   (select (result i32) ... (i32.load offset=80 (i32.const 0)) (local.get 0))
        [0x20, 0x00, 0x10, 0x01, 0x6a, 0x0b], //                        (i32.add ... (call $tail (local.get 0))))
      ),
    ])),
    section(SECTION.data, vector([[0x01, ...vector([[1], [2], [3], [4], [5], [6], [7], [8]])]])), // (data passive "\01...\08")
  );
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), 'the module is valid before');
  const original = compile(bytes);
  for (let x = 0; x < 4; x++) {
    // A fresh instance each time: the run drops its segments and grows its table.
    const expected = (new WebAssembly.Instance(original).exports['mix'] as (x: number) => number)(x);
    const { exports, fuel } = instantiateMetered(bytes);
    fuel.value = 1_000;
    assert.equal((exports['mix'] as (x: number) => number)(x), expected, `mix(${x})`);
  }
});
