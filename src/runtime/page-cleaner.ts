/**
 * Zeroing a memory for its next run by writing only the pages that need it. A memory handed
 * to the next run must be all zero, but a run typically leaves little of it non-zero: of a
 * 26 MB memory, about 2 MB. `Uint8Array.fill(0)` writes all 26 MB (about 4.3 ms); reading is
 * cheaper than writing, so a small WebAssembly module reads each 4 KiB page with 16-byte SIMD
 * loads and runs `memory.fill` only on a page holding a non-zero byte: 0.8 to 1.8 ms for 26 MB
 * with 1.7 MB non-zero, the more the less of it is in the CPU's caches.
 *
 * The module is assembled below, instruction by instruction, so its bytes are exactly those
 * read here; it is compiled once per thread and instantiated once per memory it cleans.
 */

import { leb, signedLeb } from './memory-limit.js';
import {
  EXTERNAL_FUNCTION, EXTERNAL_MEMORY, name, SECTION_CODE, SECTION_EXPORT, SECTION_FUNCTION, SECTION_IMPORT, SECTION_TYPE, WASM_HEADER,
} from './wasm-sections.js';

const TYPE_FUNC = 0x60;
const TYPE_I32 = 0x7f;
const TYPE_V128 = 0x7b;
const BLOCK_EMPTY = 0x40;
const LIMITS_MIN_ONLY = 0x00;

const OP_BLOCK = 0x02;
const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_END = 0x0b;
const OP_BR = 0x0c;
const OP_BR_IF = 0x0d;
const OP_LOCAL_GET = 0x20;
const OP_LOCAL_SET = 0x21;
const OP_MEMORY_SIZE = 0x3f;
const OP_I32_CONST = 0x41;
const OP_I32_EQZ = 0x45;
const OP_I32_ADD = 0x6a;
const OP_I32_SUB = 0x6b;
const OP_I32_AND = 0x71;
const OP_I32_SHL = 0x74;
const PREFIX_MISC = 0xfc;
const MISC_MEMORY_FILL = 0x0b;
const PREFIX_SIMD = 0xfd;
const SIMD_V128_LOAD = 0x00;
const SIMD_V128_CONST = 0x0c;
const SIMD_V128_OR = 0x50;
const SIMD_V128_ANY_TRUE = 0x53;
/** log2 of a v128's natural alignment (16 bytes). */
const V128_ALIGN = 4;
const MEMORY_0 = 0x00;

/** The unit the cleaner scans and zeroes. A memory's length is a multiple of 64 KiB, so of this too. */
const CLEAN_PAGE_BYTES = 4096;
/** log2(64 KiB / 4 KiB): `memory.size` shifted left by this is the memory's length in 4 KiB pages. */
const CLEAN_PAGES_PER_WASM_PAGE_LOG2 = 4;
/** Bytes read per turn of the inner loop: four v128 loads. */
const SCAN_STRIDE = 64;

// Locals of `clean`, by index.
const $p = 0; // i32: address of the page being scanned, then of the page after it
const $pages = 1; // i32: 4 KiB pages left to scan
const $n = 2; // i32: pages zeroed
const $acc = 3; // v128: OR of every 16 bytes of the page read so far

function vector(items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

function sized(content: number[]): number[] {
  return [...leb(content.length), ...content];
}

function section(id: number, content: number[]): number[] {
  return [id, ...sized(content)];
}

const i32Const = (value: number): number[] => [OP_I32_CONST, ...signedLeb(value)];
const get = (local: number): number[] => [OP_LOCAL_GET, local];
const set = (local: number): number[] => [OP_LOCAL_SET, local];
const v128Load = (offset: number): number[] => [PREFIX_SIMD, SIMD_V128_LOAD, V128_ALIGN, ...leb(offset)];
const v128Or: number[] = [PREFIX_SIMD, SIMD_V128_OR];

/**
 * The body of `clean`. Pages are counted rather than compared with an end address: the end
 * of a 4 GiB memory (2^32) does not fit in an i32, and a count of 0 covers a 0-page memory.
 */
const CLEAN_BODY: number[] = [
  // (local.set $pages (i32.shl (memory.size) (i32.const 4)))  ;; 64 KiB pages -> 4 KiB pages
  OP_MEMORY_SIZE, MEMORY_0, ...i32Const(CLEAN_PAGES_PER_WASM_PAGE_LOG2), OP_I32_SHL, ...set($pages),
  // (block $done (loop $page
  OP_BLOCK, BLOCK_EMPTY, OP_LOOP, BLOCK_EMPTY,
  //   (br_if $done (i32.eqz (local.get $pages)))
  ...get($pages), OP_I32_EQZ, OP_BR_IF, 1,
  //   (local.set $acc (v128.const i64x2 0 0))
  PREFIX_SIMD, SIMD_V128_CONST, ...new Array<number>(16).fill(0), ...set($acc),
  //   (loop $words
  OP_LOOP, BLOCK_EMPTY,
  //     (local.set $acc (v128.or (local.get $acc) (v128.or
  //       (v128.or (v128.load (local.get $p)) (v128.load offset=16 (local.get $p)))
  //       (v128.or (v128.load offset=32 (local.get $p)) (v128.load offset=48 (local.get $p))))))
  ...get($acc),
  ...get($p), ...v128Load(0), ...get($p), ...v128Load(16), ...v128Or,
  ...get($p), ...v128Load(32), ...get($p), ...v128Load(48), ...v128Or,
  ...v128Or, ...v128Or, ...set($acc),
  //     (local.set $p (i32.add (local.get $p) (i32.const 64)))
  ...get($p), ...i32Const(SCAN_STRIDE), OP_I32_ADD, ...set($p),
  //     (br_if $words (i32.and (local.get $p) (i32.const 4095))))  ;; until $p is on the next page
  //     (no end address to compare with: after the last page of a 4 GiB memory, $p wraps to 0)
  ...get($p), ...i32Const(CLEAN_PAGE_BYTES - 1), OP_I32_AND, OP_BR_IF, 0,
  OP_END,
  //   (if (v128.any_true (local.get $acc)) (then
  ...get($acc), PREFIX_SIMD, SIMD_V128_ANY_TRUE, OP_IF, BLOCK_EMPTY,
  //     (memory.fill (i32.sub (local.get $p) (i32.const 4096)) (i32.const 0) (i32.const 4096))
  ...get($p), ...i32Const(CLEAN_PAGE_BYTES), OP_I32_SUB, ...i32Const(0), ...i32Const(CLEAN_PAGE_BYTES),
  PREFIX_MISC, ...leb(MISC_MEMORY_FILL), MEMORY_0,
  //     (local.set $n (i32.add (local.get $n) (i32.const 1)))))
  ...get($n), ...i32Const(1), OP_I32_ADD, ...set($n),
  OP_END,
  //   (local.set $pages (i32.sub (local.get $pages) (i32.const 1)))
  ...get($pages), ...i32Const(1), OP_I32_SUB, ...set($pages),
  //   (br $page)))
  OP_BR, 0, OP_END, OP_END,
  // (local.get $n)
  ...get($n),
  OP_END,
];

/**
 * (module
 *   (import "wasio" "memory" (memory 0))
 *   (func (export "clean") (result i32) (local $p i32) (local $pages i32) (local $n i32) (local $acc v128) ...))
 *
 * An imported memory of at least 0 pages and no maximum links with any memory that is not
 * shared, whatever its size or maximum.
 */
const CLEANER_BYTES = new Uint8Array([
  ...WASM_HEADER,
  // (type (func (result i32)))
  ...section(SECTION_TYPE, vector([[TYPE_FUNC, ...vector([]), ...vector([[TYPE_I32]])]])),
  // (import "wasio" "memory" (memory 0))
  ...section(SECTION_IMPORT, vector([[...name('wasio'), ...name('memory'), EXTERNAL_MEMORY, LIMITS_MIN_ONLY, ...leb(0)]])),
  // (func (type 0))
  ...section(SECTION_FUNCTION, vector([[0]])),
  // (export "clean" (func 0))
  ...section(SECTION_EXPORT, vector([[...name('clean'), EXTERNAL_FUNCTION, 0]])),
  // the body of func 0, sized: (local i32 i32 i32) (local v128), then its instructions
  ...section(SECTION_CODE, vector([sized([...vector([[...leb(3), TYPE_I32], [...leb(1), TYPE_V128]]), ...CLEAN_BODY])])),
]);

let cleanerModule: WebAssembly.Module | undefined;
const cleaners = new WeakMap<WebAssembly.Memory, () => number>();

/**
 * Zeroes every 4 KiB page of `memory` that holds a non-zero byte, over the memory's current
 * size, and returns how many pages it zeroed; afterwards every byte of `memory` is zero. The
 * first call for a memory instantiates a cleaner for it, later calls reuse that cleaner.
 *
 * @throws TypeError if `memory` is shared: another thread could write to it while it is cleaned.
 */
export function zeroDirtyPages(memory: WebAssembly.Memory): number {
  let clean = cleaners.get(memory);
  if (clean === undefined) {
    if (memory.buffer instanceof SharedArrayBuffer) throw new TypeError('zeroDirtyPages: a shared memory cannot be cleaned');
    cleanerModule ??= new WebAssembly.Module(CLEANER_BYTES);
    const instance = new WebAssembly.Instance(cleanerModule, { wasio: { memory } });
    clean = instance.exports['clean'] as () => number;
    cleaners.set(memory, clean);
  }
  return clean();
}
