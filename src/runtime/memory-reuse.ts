/**
 * Memory reuse between runs of a module: a worker gives the next run of a module the memory
 * of its last run, cleaned, instead of a new one. A new memory costs more than its size
 * suggests: each page the guest touches is a page fault, growing it maps more, and each one
 * is external memory that brings V8's next full collection closer. A Go guest paid about half
 * of its 12 ms run for those.
 *
 * The host can only hand in a memory the module imports, so `importDefinedMemory` rewrites,
 * once at load, the memory a module defines into an import (`wasio.memory`). Only a memory
 * the module exports as "memory" (as every WASI command does), not shared, and at most
 * `REUSABLE_MEMORY_BYTES` at start. A module the rewrite does not understand is left as it is.
 *
 * A memory cannot shrink, and a guest sees its size. So that a memory grown by one run can be
 * given to the next, the module's `memory.size` and `memory.grow` are rewritten to keep a
 * size of the guest's own in a global (exported as `MEMORY_PAGES_EXPORT`, which the host
 * reads): it starts at the initial size in each instance, `memory.grow` moves it and grows the
 * real memory only past what the memory already has, and fails past the memory's maximum as
 * before. To the guest, a reused memory is then exactly a new one: its size, and every byte
 * zero but the data segments, which instantiation writes again. One difference stays: an
 * access past the guest's size but inside what an earlier run grew does not trap. It reads
 * zeros, or what this same run wrote there: `SpareMemories` zeroes every byte of the whole
 * memory before keeping it, so nothing of one request reaches the next.
 *
 * The same rewrite prepares instance reuse (`instance-reuse.ts`): it exports every mutable
 * global the module defines, notes the pages its data segments write, and offers the module
 * for reuse only when no code changes a table or drops a segment and it has no start function.
 */
import { leb, Reader, signedLeb, WASM_PAGE_BYTES, type LimitedModule, type MemoryImport } from './memory-limit.js';
import type { ReusableInstance } from './instance-reuse.js';
import { zeroDirtyPages } from './page-cleaner.js';
import { opcodeSet, UnknownInstruction, valueType, walkCode } from './wasm-instructions.js';
import {
  appended, EXTERNAL_GLOBAL, EXTERNAL_MEMORY, importCounts, name, reassembled, sectionsOf, SECTION_CODE, SECTION_EXPORT,
  SECTION_DATA, SECTION_FUNCTION, SECTION_GLOBAL, SECTION_IMPORT, SECTION_MEMORY, SECTION_START, SECTION_TYPE, type ImportCounts, type Section,
} from './wasm-sections.js';

/** The largest memory a worker keeps for a next run: cleaning costs about 0.03 ms per MiB. */
export const REUSABLE_MEMORY_BYTES = 64 * 2 ** 20;
/** Where a defined memory is imported from once rewritten. */
export const MEMORY_IMPORT: Readonly<{ module: string; name: string }> = { module: 'wasio', name: 'memory' };
/** The export of the global holding the size, in pages, that the guest sees of its memory. */
export const MEMORY_PAGES_EXPORT = 'wasio_memory_pages';

const LIMITS_HAS_MAX = 0x01;
const LIMITS_SHARED = 0x02;
const LIMITS_MEMORY64 = 0x04;
const I32 = 0x7f;
const FUNCTION_TYPE = 0x60;

const OP_MEMORY_SIZE = 0x3f;
const OP_MEMORY_GROW = 0x40;
const OP_CALL = 0x10;
const OP_GLOBAL_GET = 0x23;
const OP_GLOBAL_SET = 0x24;
const OP_TABLE_SET = 0x26;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;
const DATA_ACTIVE = 0;
const DATA_PASSIVE = 1;
const DATA_ACTIVE_INDEXED = 2;
/** The granularity of the data ranges kept for reset: the page size of the page cleaner. */
const IMAGE_PAGE_BYTES = 4096;
const PREFIX_MISC = 0xfc;
/** After 0xFC: data.drop, table.init, elem.drop, table.copy, table.grow, table.fill. */
const STATE_CHANGING_MISC = new Set([9, 12, 13, 14, 15, 17]);
/** What the code walk looks for: size instructions, and the ones that change tables or drop segments. */
const CODE_INSTRUCTIONS = opcodeSet([OP_MEMORY_SIZE, OP_MEMORY_GROW, OP_TABLE_SET, PREFIX_MISC]);
const NO_INSTRUCTIONS = opcodeSet([]);
const V128 = 0x7b;
/** Mutable globals are exported under this prefix and their index, so a used instance can be reset. */
const GLOBAL_EXPORT_PREFIX = 'wasio_global_';

/**
 * The module with a defined memory rewritten into an import where that applies (its size
 * instructions rewritten too), and the imported memory the host must then provide. Never
 * throws: what it cannot read, it leaves alone.
 */
export function importDefinedMemory(limited: LimitedModule): LimitedModule {
  if (limited.memoryImport !== undefined) return limited;
  try {
    return importMemory(limited.bytes) ?? limited;
  } catch {
    return limited;
  }
}

/** The defined memory as an import, or `undefined` when it is not one to reuse. */
function importMemory(bytes: Uint8Array): LimitedModule | undefined {
  const sections = sectionsOf(bytes);
  const find = (id: number): Section | undefined => sections.find((entry) => entry.id === id);
  const memorySection = find(SECTION_MEMORY);
  if (memorySection === undefined) return undefined;
  const reader = new Reader(bytes, memorySection.contentStart);
  if (reader.u32() !== 1) return undefined;
  const limitsStart = reader.offset;
  const flags = reader.byte();
  if ((flags & (LIMITS_SHARED | LIMITS_MEMORY64)) !== 0 || (flags & LIMITS_HAS_MAX) === 0) return undefined;
  const initial = reader.u32();
  const maximum = reader.u32();
  const limits = bytes.subarray(limitsStart, reader.offset);
  const exported = exportNames(bytes, find(SECTION_EXPORT));
  if (initial * WASM_PAGE_BYTES > REUSABLE_MEMORY_BYTES || !exported.memory || exported.names.has(MEMORY_PAGES_EXPORT)) return undefined;

  const entry = Uint8Array.from([...name(MEMORY_IMPORT.module), ...name(MEMORY_IMPORT.name), EXTERNAL_MEMORY, ...limits]);
  const importSection = find(SECTION_IMPORT);
  // Sections rewritten (memory: removed) and added, by id.
  const contents = new Map<number, readonly Uint8Array[] | undefined>([
    [SECTION_IMPORT, appended(bytes, importSection, [entry])],
    [SECTION_MEMORY, undefined],
  ]);
  const guestSize = ownSizeSections(bytes, sections, initial);
  if (guestSize === 'unknown') return undefined;
  for (const [id, content] of guestSize.contents) contents.set(id, content);
  const resettable = !guestSize.changesTablesOrSegments && find(SECTION_START) === undefined;
  const resetGlobals = resettable ? mutableGlobalExports(bytes, sections, exported.names) : undefined;
  const dataRanges = resettable ? activeDataRanges(bytes, find(SECTION_DATA)) : undefined;
  const exportEntries = [...guestSize.exportEntries, ...(resetGlobals?.entries ?? [])];
  if (exportEntries.length > 0) contents.set(SECTION_EXPORT, appended(bytes, find(SECTION_EXPORT), exportEntries));

  return {
    bytes: reassembled(bytes, sections, contents),
    memoryImport: {
      module: MEMORY_IMPORT.module, name: MEMORY_IMPORT.name, initial, maximum, shared: false,
      pagesExport: guestSize.exportEntries.length === 0 ? undefined : MEMORY_PAGES_EXPORT,
    },
    instanceReset: resetGlobals === undefined || dataRanges === undefined ? undefined : {
      globals: [...resetGlobals.names, ...(guestSize.exportEntries.length === 0 ? [] : [MEMORY_PAGES_EXPORT])],
      data: dataRanges,
    },
  };
}

/** Every export name, and whether memory 0 is exported as "memory", the name the host looks for. */
function exportNames(bytes: Uint8Array, exportSection: Section | undefined): { names: Set<string>; memory: boolean } {
  const names = new Set<string>();
  let memory = false;
  if (exportSection === undefined) return { names, memory };
  const reader = new Reader(bytes, exportSection.contentStart);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const exportName = reader.name();
    const kind = reader.byte();
    const index = reader.u32();
    names.add(exportName);
    if (exportName === 'memory' && kind === EXTERNAL_MEMORY && index === 0) memory = true;
  }
  return { names, memory };
}

/** How many functions and globals the module imports; throws when it imports a memory, as it would then have two. */
function importedCounts(bytes: Uint8Array, importSection: Section | undefined): ImportCounts {
  const counts = importCounts(bytes, importSection);
  if (counts.memories > 0) throw new UnknownInstruction('a memory import: size instructions would need their memory index');
  return counts;
}

/** What `ownSizeSections` found and made. */
interface OwnSize {
  /** The rewritten sections by id: none when the code never asks for or changes the memory's size. */
  readonly contents: Map<number, Uint8Array[]>;
  /** The entry exporting the guest's page count, when the size instructions were rewritten. */
  readonly exportEntries: Uint8Array[];
  /** Some code changes a table or drops a segment: state an instance keeps from one run to the next. */
  readonly changesTablesOrSegments: boolean;
}

/**
 * The sections that give the guest a size of its own (type, function, global and code
 * sections, by id, and an export entry), or 'unknown' when the code cannot be read. One
 * function and one global are appended, so no index the module uses changes:
 *
 *   (global $pages (mut i32) (i32.const <initial>))   exported as MEMORY_PAGES_EXPORT
 *   (func $grow (param $delta i32) (result i32)
 *     (if (i32.gt_u (local.get $delta) (i32.const 65536)) (then (return (i32.const -1))))
 *     (if (i32.gt_u (i32.add (global.get $pages) (local.get $delta)) (memory.size))
 *       (then (if (i32.eq (memory.grow (i32.sub (i32.add (global.get $pages) (local.get $delta)) (memory.size)))
 *                         (i32.const -1))
 *               (then (return (i32.const -1))))))
 *     (global.get $pages)
 *     (global.set $pages (i32.add (global.get $pages) (local.get $delta))))
 *
 * and every `memory.size` becomes `global.get $pages`, every `memory.grow` `call $grow`.
 */
function ownSizeSections(bytes: Uint8Array, sections: readonly Section[], initial: number): OwnSize | 'unknown' {
  const find = (id: number): Section | undefined => sections.find((entry) => entry.id === id);
  const codeSection = find(SECTION_CODE);
  const functionSection = find(SECTION_FUNCTION);
  if (codeSection === undefined || functionSection === undefined) {
    return { contents: new Map(), exportEntries: [], changesTablesOrSegments: false };
  }
  try {
    const imported = importedCounts(bytes, find(SECTION_IMPORT));
    const typeSection = find(SECTION_TYPE);
    const globalSection = find(SECTION_GLOBAL);
    const growType = typeSection === undefined ? 0 : new Reader(bytes, typeSection.contentStart).u32();
    const definedFunctions = new Reader(bytes, functionSection.contentStart).u32();
    const growFunction = imported.functions + definedFunctions;
    const pagesGlobal = imported.globals + (globalSection === undefined ? 0 : new Reader(bytes, globalSection.contentStart).u32());
    const pages = leb(pagesGlobal);
    const { code, changesTablesOrSegments } = rewrittenCode(
      bytes, codeSection, definedFunctions, { [OP_MEMORY_SIZE]: [OP_GLOBAL_GET, ...pages], [OP_MEMORY_GROW]: [OP_CALL, ...leb(growFunction)] },
    );
    if (code === undefined) return { contents: new Map(), exportEntries: [], changesTablesOrSegments };
    const growBody = Uint8Array.from([
      0x00, // no locals
      0x20, 0x00, 0x41, 0x80, 0x80, 0x04, 0x4b, 0x04, 0x40, 0x41, 0x7f, 0x0f, 0x0b, // delta > 65536: return -1
      OP_GLOBAL_GET, ...pages, 0x20, 0x00, 0x6a, OP_MEMORY_SIZE, 0x00, 0x4b, 0x04, 0x40, // pages + delta > memory.size:
      OP_GLOBAL_GET, ...pages, 0x20, 0x00, 0x6a, OP_MEMORY_SIZE, 0x00, 0x6b, OP_MEMORY_GROW, 0x00, //   grow by the difference,
      0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, 0x7f, 0x0f, 0x0b, 0x0b, //   and return -1 if that failed
      OP_GLOBAL_GET, ...pages, // the result: the size before
      OP_GLOBAL_GET, ...pages, 0x20, 0x00, 0x6a, OP_GLOBAL_SET, ...pages, // pages += delta
      0x0b,
    ]);
    code.push(Uint8Array.from(leb(growBody.byteLength)), growBody);
    const contents = new Map([
      [SECTION_TYPE, appended(bytes, typeSection, [Uint8Array.of(FUNCTION_TYPE, 1, I32, 1, I32)])],
      [SECTION_FUNCTION, appended(bytes, functionSection, [Uint8Array.from(leb(growType))])],
      [SECTION_GLOBAL, appended(bytes, globalSection, [Uint8Array.from([I32, 0x01, 0x41, ...signedLeb(initial), 0x0b])])],
      [SECTION_CODE, code],
    ]);
    return { contents, exportEntries: [Uint8Array.from([...name(MEMORY_PAGES_EXPORT), EXTERNAL_GLOBAL, ...pages])], changesTablesOrSegments };
  } catch {
    return 'unknown';
  }
}

/**
 * The code section's content with each size instruction replaced by the bytes `replacements`
 * gives for its opcode, the count raised by one for the function appended after it (undefined
 * when no body has a size instruction), and whether any body changes a table or drops a
 * segment. Throws on code it cannot read, or on a size instruction for another memory than
 * memory 0.
 */
function rewrittenCode(
  bytes: Uint8Array, codeSection: Section, definedFunctions: number, replacements: Readonly<Record<number, readonly number[]>>,
): { code: Uint8Array[] | undefined; changesTablesOrSegments: boolean } {
  const reader = new Reader(bytes.subarray(0, codeSection.end), codeSection.contentStart);
  const count = reader.u32();
  if (count !== definedFunctions) throw new UnknownInstruction('the code and function sections disagree');
  const parts: Uint8Array[] = [Uint8Array.from(leb(count + 1))];
  let rewritten = false;
  let changesTablesOrSegments = false;
  for (let i = 0; i < count; i++) {
    const sizeStart = reader.offset;
    const size = reader.u32();
    const bodyStart = reader.offset;
    const bodyEnd = bodyStart + size;
    const declarations = reader.u32();
    for (let d = 0; d < declarations; d++) {
      reader.u32();
      valueType(reader);
    }
    const sites: { start: number; end: number; opcode: number }[] = [];
    walkCode(reader, CODE_INSTRUCTIONS, (opcode, start, end) => {
      if (opcode === OP_TABLE_SET || (opcode === PREFIX_MISC && STATE_CHANGING_MISC.has(new Reader(bytes, start + 1).u32()))) {
        changesTablesOrSegments = true;
        return;
      }
      if (opcode === PREFIX_MISC) return;
      if (end !== start + 2 || bytes[start + 1] !== 0x00) throw new UnknownInstruction('a size instruction for another memory');
      sites.push({ start, end, opcode });
    });
    if (reader.offset !== bodyEnd) throw new UnknownInstruction('a function body does not end where its size says');
    if (sites.length === 0) {
      parts.push(bytes.subarray(sizeStart, bodyEnd));
      continue;
    }
    rewritten = true;
    const body: Uint8Array[] = [];
    let from = bodyStart;
    for (const site of sites) {
      body.push(bytes.subarray(from, site.start), Uint8Array.from(replacements[site.opcode] as number[]));
      from = site.end;
    }
    body.push(bytes.subarray(from, bodyEnd));
    parts.push(Uint8Array.from(leb(body.reduce((total, part) => total + part.byteLength, 0))), ...body);
  }
  if (reader.offset !== codeSection.end) throw new UnknownInstruction('the code section has bytes after its last function');
  return { code: rewritten ? parts : undefined, changesTablesOrSegments };
}

/**
 * The 4 KiB pages the active data segments write into memory 0 at instantiation, as runs of
 * whole pages in order; or undefined when a segment's offset is not a constant (the pages
 * could then only be found by reading the whole memory, which for a fresh memory costs a page
 * fault per page). A Go module writes its data in tens of thousands of small segments, so the
 * section is read with the offset in a local, and copying whole pages costs less than copying
 * the segments one by one.
 */
function activeDataRanges(bytes: Uint8Array, dataSection: Section | undefined): [number, number][] | undefined {
  const runs: [number, number][] = [];
  if (dataSection === undefined) return runs;
  const end = dataSection.end;
  let offset = dataSection.contentStart;
  // Unsigned LEB128 at `offset`; a read past the section gives NaN, which the checks below refuse.
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = offset < end ? bytes[offset++] as number : Number.NaN;
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return byte === byte ? result : Number.NaN;
    }
    return Number.NaN;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const mode = u32();
    if (mode === DATA_PASSIVE) {
      offset += u32();
      continue;
    }
    if (mode === DATA_ACTIVE_INDEXED && u32() !== 0) return undefined;
    if ((mode !== DATA_ACTIVE && mode !== DATA_ACTIVE_INDEXED) || bytes[offset++] !== OP_I32_CONST) return undefined;
    let address = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = offset < end ? bytes[offset++] as number : 0;
      address |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    if (shift < 32 && (byte & 0x40) !== 0) address |= -1 << shift;
    if (bytes[offset++] !== OP_END) return undefined;
    const length = u32();
    offset += length;
    if (!(offset <= end)) return undefined;
    if (length > 0) addPages(runs, address >>> 0, (address >>> 0) + length);
  }
  return runs;
}

/** Adds the pages of `[start, end)` to `runs`: extends the last run in the common, rising case. */
function addPages(runs: [number, number][], start: number, end: number): void {
  const first = start - (start % IMAGE_PAGE_BYTES);
  const last = end + ((IMAGE_PAGE_BYTES - (end % IMAGE_PAGE_BYTES)) % IMAGE_PAGE_BYTES);
  const previous = runs[runs.length - 1];
  if (previous === undefined || first > previous[1]) {
    runs.push([first, last]);
  } else if (first >= previous[0]) {
    previous[1] = Math.max(previous[1], last);
  } else {
    // Out of order: sorted in, and overlapping runs merged.
    runs.push([first, last]);
    runs.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const run of runs) {
      const before = merged[merged.length - 1];
      if (before !== undefined && run[0] <= before[1]) before[1] = Math.max(before[1], run[1]);
      else merged.push(run);
    }
    runs.splice(0, runs.length, ...merged);
  }
}

/**
 * Export entries for every mutable global the module defines (`wasio_global_<index>`), and
 * their names; or undefined when one cannot be read back and written from outside (a v128),
 * or the global section cannot be read.
 */
function mutableGlobalExports(
  bytes: Uint8Array, sections: readonly Section[], taken: ReadonlySet<string>,
): { entries: Uint8Array[]; names: string[] } | undefined {
  const find = (id: number): Section | undefined => sections.find((entry) => entry.id === id);
  const globalSection = find(SECTION_GLOBAL);
  const entries: Uint8Array[] = [];
  const names: string[] = [];
  if (globalSection === undefined) return { entries, names };
  try {
    const imported = importedCounts(bytes, find(SECTION_IMPORT)).globals;
    const reader = new Reader(bytes.subarray(0, globalSection.end), globalSection.contentStart);
    const count = reader.u32();
    for (let i = 0; i < count; i++) {
      const type = valueType(reader);
      const mutable = reader.byte() === 0x01;
      walkCode(reader, NO_INSTRUCTIONS, () => undefined);
      if (!mutable) continue;
      const exportName = `${GLOBAL_EXPORT_PREFIX}${imported + i}`;
      if (type === V128 || taken.has(exportName)) return undefined;
      entries.push(Uint8Array.from([...name(exportName), EXTERNAL_GLOBAL, ...leb(imported + i)]));
      names.push(exportName);
    }
    return { entries, names };
  } catch {
    return undefined;
  }
}

/** A memory kept for a module's next run, with the instance of its last run when that can run again. */
export interface SpareMemory {
  readonly memory: WebAssembly.Memory;
  instance: ReusableInstance | undefined;
}

/**
 * Memories of finished runs that a worker keeps for the next run of the same module, with
 * their instances when those can run again (`ReusableInstance`). At most `maxBytes` are kept,
 * the least recently used dropped first; `clear` drops them all, as an idle worker does
 * before it collects garbage.
 */
export class SpareMemories {
  /** By module id, least recently kept first. */
  private readonly spares = new Map<number, SpareMemory>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The memory a run of module `id` imports: a kept one when there is one, else a new one. */
  take(id: number, memoryImport: MemoryImport): SpareMemory {
    const spare = this.spares.get(id);
    if (spare !== undefined) {
      this.drop(id);
      return spare;
    }
    const memory = new WebAssembly.Memory({ initial: memoryImport.initial, maximum: memoryImport.maximum, shared: memoryImport.shared });
    return { memory, instance: undefined };
  }

  /**
   * Keeps the memory of a finished run of module `id` for its next run, every byte zeroed
   * (and its instance's initial state written back), if it is one to reuse: not shared, not
   * over `REUSABLE_MEMORY_BYTES`, and still its initial size unless the guest keeps a size of
   * its own. Else lets it go.
   */
  keep(id: number, spare: SpareMemory, memoryImport: MemoryImport): void {
    const size = spare.memory.buffer.byteLength;
    const sizeSeen = memoryImport.pagesExport === undefined && size !== memoryImport.initial * WASM_PAGE_BYTES;
    if (memoryImport.shared || sizeSeen || size > REUSABLE_MEMORY_BYTES || size > this.maxBytes) return;
    zeroDirtyPages(spare.memory);
    spare.instance?.restore();
    this.drop(id);
    this.spares.set(id, spare);
    this.bytes += size;
    for (const [oldest, kept] of this.spares) {
      if (this.bytes <= this.maxBytes) break;
      this.spares.delete(oldest);
      this.bytes -= kept.memory.buffer.byteLength;
    }
  }

  /** Lets go of the memory kept for module `id`, if any. */
  drop(id: number): void {
    const spare = this.spares.get(id);
    if (spare === undefined) return;
    this.spares.delete(id);
    this.bytes -= spare.memory.buffer.byteLength;
  }

  /** Lets go of every kept memory. */
  clear(): void {
    this.spares.clear();
    this.bytes = 0;
  }
}
