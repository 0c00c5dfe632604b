import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WASM_PAGE_BYTES } from '../../src/runtime/memory-limit.js';
import { zeroDirtyPages } from '../../src/runtime/page-cleaner.js';

const CLEAN_PAGE_BYTES = 4096;

/** Writes a non-zero byte at each offset; returns how many distinct 4 KiB pages that dirtied. */
function dirty(memory: WebAssembly.Memory, offsets: number[]): number {
  const bytes = new Uint8Array(memory.buffer);
  // Different bits, so a scan that tests only some bits of a word or lane misses one.
  offsets.forEach((offset, i) => (bytes[offset] = 1 << i % 8));
  return new Set(offsets.map((offset) => Math.floor(offset / CLEAN_PAGE_BYTES))).size;
}

function firstNonZero(memory: WebAssembly.Memory): number {
  return new Uint8Array(memory.buffer).findIndex((byte) => byte !== 0);
}

test('every dirty page is zeroed, and the count is of the distinct 4 KiB pages that were dirty', () => {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const last = 4 * WASM_PAGE_BYTES - 1;
  const pages = dirty(memory, [0, 4095, 4096, 10 * CLEAN_PAGE_BYTES + 1234, 20 * CLEAN_PAGE_BYTES + 2048, last - 4096, last]);
  assert.equal(pages, 6);
  assert.equal(zeroDirtyPages(memory), pages);
  assert.equal(firstNonZero(memory), -1);
  assert.equal(zeroDirtyPages(memory), 0, 'a second clean finds nothing left');
});

test('an all-zero memory is left zero and no page is counted', () => {
  const memory = new WebAssembly.Memory({ initial: 3 });
  assert.equal(zeroDirtyPages(memory), 0);
  assert.equal(firstNonZero(memory), -1);
});

test('a memory grown after its first clean is cleaned over its new size, by the same cleaner', (t) => {
  const instances = t.mock.method(WebAssembly, 'Instance');
  const memory = new WebAssembly.Memory({ initial: 1 });
  assert.equal(dirty(memory, [100]), 1);
  assert.equal(zeroDirtyPages(memory), 1);
  memory.grow(2);
  const pages = dirty(memory, [5, WASM_PAGE_BYTES, 2 * WASM_PAGE_BYTES + 4095, 3 * WASM_PAGE_BYTES - 1]);
  assert.equal(zeroDirtyPages(memory), pages);
  assert.equal(firstNonZero(memory), -1);
  assert.equal(instances.mock.callCount(), 1, 'one cleaner instantiated for the memory');
});

test('a memory declared with a maximum is cleaned', () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2 });
  const pages = dirty(memory, [7, 2 * WASM_PAGE_BYTES - 1]);
  assert.equal(zeroDirtyPages(memory), pages);
  assert.equal(firstNonZero(memory), -1);
});

test('a memory of 0 pages has nothing to zero', () => {
  assert.equal(zeroDirtyPages(new WebAssembly.Memory({ initial: 0 })), 0);
  assert.equal(zeroDirtyPages(new WebAssembly.Memory({ initial: 0, maximum: 0 })), 0);
});

test('a shared memory is refused with a TypeError', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  new Uint8Array(memory.buffer)[0] = 1;
  assert.throws(() => zeroDirtyPages(memory), TypeError);
  assert.equal(new Uint8Array(memory.buffer)[0], 1, 'left as it was');
});
