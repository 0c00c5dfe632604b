import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModuleLoadError } from '../../src/runtime/index.js';
import { limitMemory, WASM_PAGE_BYTES } from '../../src/runtime/memory-limit.js';
import { runCommand } from '../../src/wasi/index.js';

// Tiny modules assembled here, so the bytes under test are exactly known: a `_start` that does
// nothing and a `grow(pages) -> old size or -1`, with a memory either defined or imported.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, content: number[]): number[] {
  return [id, content.length, ...content];
}

function text(value: string): number[] {
  return [value.length, ...Buffer.from(value)];
}

function moduleWithMemory(memory: 'defined' | 'imported', initialPages: number, maximumPages?: number): Uint8Array {
  const limits = maximumPages === undefined ? [0x00, initialPages] : [0x01, initialPages, maximumPages];
  const types = section(1, [0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f]);
  const imports = memory === 'imported' ? section(2, [0x01, ...text('env'), ...text('memory'), 0x02, ...limits]) : [];
  const functions = section(3, [0x02, 0x00, 0x01]);
  const memories = memory === 'defined' ? section(5, [0x01, ...limits]) : [];
  const exportList = [...text('_start'), 0x00, 0x00, ...text('grow'), 0x00, 0x01];
  const exports = memory === 'defined'
    ? section(7, [0x03, ...exportList, ...text('memory'), 0x02, 0x00])
    : section(7, [0x02, ...exportList]);
  const code = section(10, [0x02, 0x02, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b]);
  return Uint8Array.from([...HEADER, ...types, ...imports, ...functions, ...memories, ...exports, ...code]);
}

const ONE_MIB_PAGES = 2 ** 20 / WASM_PAGE_BYTES;

test('a defined memory cannot grow past the limit once the module is patched', () => {
  const limited = limitMemory(moduleWithMemory('defined', 1), 1, 'defined.wasm');
  assert.equal(limited.memoryImport, undefined);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(limited.bytes as Uint8Array<ArrayBuffer>));
  const grow = instance.exports['grow'] as (pages: number) => number;
  assert.equal(grow(ONE_MIB_PAGES), -1, 'growing past 1 MiB fails inside the guest');
  assert.equal(grow(ONE_MIB_PAGES - 1), 1, 'growing up to the limit still works');
  assert.equal(grow(1), -1);
});

test('a lower maximum the module already declares is kept', () => {
  const limited = limitMemory(moduleWithMemory('defined', 1, 2), 256, 'small.wasm');
  const instance = new WebAssembly.Instance(new WebAssembly.Module(limited.bytes as Uint8Array<ArrayBuffer>));
  const grow = instance.exports['grow'] as (pages: number) => number;
  assert.equal(grow(2), -1);
  assert.equal(grow(1), 1);
});

test('an imported memory is created by the host with the limit as its maximum', () => {
  const limited = limitMemory(moduleWithMemory('imported', 1), 1, 'imported.wasm');
  assert.deepEqual(limited.memoryImport, { module: 'env', name: 'memory', initial: 1, maximum: ONE_MIB_PAGES, shared: false });
  const module = new WebAssembly.Module(limited.bytes as Uint8Array<ArrayBuffer>);
  const result = runCommand(module, {}, limited.memoryImport);
  assert.equal(result.exitCode, 0);
  assert.equal(result.memoryBytes, WASM_PAGE_BYTES);
});

test('a module that needs more memory than the limit to start fails to load, naming both', () => {
  assert.throws(() => limitMemory(moduleWithMemory('defined', 32), 1, 'big.wasm'), (error: unknown) => {
    assert.ok(error instanceof ModuleLoadError);
    assert.equal(error.code, 'WASIO_ERR_MODULE_LOAD');
    assert.match(error.message, /big\.wasm.*needs 2 MiB of memory to start, over memory_limit_mb 1/);
    return true;
  });
});

test('bytes that are not WebAssembly fail to load with a clear reason', () => {
  assert.throws(() => limitMemory(Buffer.from('#!/bin/sh\necho hi\n'), 16, 'script.wasm'), /script\.wasm: not a valid WebAssembly module \(not a WebAssembly binary/);
  assert.throws(() => limitMemory(Uint8Array.from([...HEADER, 0x05, 0x09, 0x01]), 16, 'cut.wasm'), /cut\.wasm: not a valid WebAssembly module/);
});

test('every byte outside the memory section is left as it was', () => {
  const original = moduleWithMemory('defined', 1);
  const limited = limitMemory(original, 1, 'defined.wasm').bytes;
  const before = Buffer.from([0x05, 0x03, 0x01, 0x00, 0x01]);
  const after = Buffer.from([0x05, 0x04, 0x01, 0x01, 0x01, ONE_MIB_PAGES]);
  const at = Buffer.from(original).indexOf(before);
  assert.ok(at > 0, 'the test module has the memory section it was built with');
  assert.deepEqual(Buffer.from(limited), Buffer.concat([original.subarray(0, at), after, original.subarray(at + before.length)]));
});

test('an imported memory may be handed in ready-made, of exactly its initial size', () => {
  const limited = limitMemory(moduleWithMemory('imported', 1), 1, 'imported.wasm');
  const module = new WebAssembly.Module(limited.bytes as Uint8Array<ArrayBuffer>);
  const memoryImport = limited.memoryImport;
  assert.ok(memoryImport !== undefined);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: memoryImport.maximum });
  assert.equal(runCommand(module, {}, memoryImport, memory).memoryBytes, WASM_PAGE_BYTES);
  const grown = new WebAssembly.Memory({ initial: 2, maximum: memoryImport.maximum });
  assert.throws(() => runCommand(module, {}, memoryImport, grown), RangeError);
});
