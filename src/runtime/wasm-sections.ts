/**
 * The sections of a WebAssembly module, for the load-time rewrites: where each one is, and a
 * module put back together with some of them replaced, added or removed. Every byte of a
 * section not replaced is copied as it was.
 */
import { leb, Reader } from './memory-limit.js';
import { valueType } from './wasm-instructions.js';

/** The magic number and version every module starts with. */
export const WASM_HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const SECTION_CUSTOM = 0;
export const SECTION_TYPE = 1;
export const SECTION_IMPORT = 2;
export const SECTION_FUNCTION = 3;
export const SECTION_TABLE = 4;
export const SECTION_MEMORY = 5;
export const SECTION_GLOBAL = 6;
export const SECTION_EXPORT = 7;
export const SECTION_START = 8;
export const SECTION_CODE = 10;
export const SECTION_DATA = 11;

/** Where each section must sit among the others; custom sections may sit anywhere. */
const SECTION_ORDER = new Map<number, number>([
  [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [13, 6], [6, 7], [7, 8], [8, 9], [9, 10], [12, 11], [10, 12], [11, 13],
]);

export interface Section {
  readonly id: number;
  /** Offset of the section's id byte. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** The module's sections, in order. Throws on bytes that end inside one. */
export function sectionsOf(bytes: Uint8Array): Section[] {
  const reader = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (reader.offset < bytes.byteLength) {
    const start = reader.offset;
    const id = reader.byte();
    const size = reader.u32();
    const contentStart = reader.offset;
    reader.skip(size);
    sections.push({ id, start, contentStart, end: reader.offset });
  }
  return sections;
}

/** A section's id and size, then its content. */
function section(id: number, content: readonly Uint8Array[]): Uint8Array[] {
  const size = content.reduce((sum, part) => sum + part.byteLength, 0);
  return [Uint8Array.from([id, ...leb(size)]), ...content];
}

/** A name as the binary format writes it: its UTF-8 length, then its bytes. */
export function name(value: string): number[] {
  const encoded = Buffer.from(value, 'utf8');
  return [...leb(encoded.byteLength), ...encoded];
}

/** A vector section's content with `entries` appended, or made of them alone when it is missing. */
export function appended(bytes: Uint8Array, existing: Section | undefined, entries: readonly Uint8Array[]): Uint8Array[] {
  if (existing === undefined) return [Uint8Array.from(leb(entries.length)), ...entries];
  const reader = new Reader(bytes, existing.contentStart);
  const count = reader.u32();
  return [Uint8Array.from(leb(count + entries.length)), bytes.subarray(reader.offset, existing.end), ...entries];
}

/**
 * The module with the sections of `contents` (new content by section id; undefined removes the
 * section) in place of its own, a section it lacks put where the format wants it.
 */
export function reassembled(bytes: Uint8Array, sections: readonly Section[], contents: ReadonlyMap<number, readonly Uint8Array[] | undefined>): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const placed = new Set<number>();
  const placeMissingBefore = (order: number): void => {
    for (const [id, content] of contents) {
      if (placed.has(id) || (SECTION_ORDER.get(id) as number) >= order) continue;
      placed.add(id);
      if (content !== undefined) parts.push(...section(id, content));
    }
  };
  for (const current of sections) {
    if (current.id !== SECTION_CUSTOM) placeMissingBefore(SECTION_ORDER.get(current.id) ?? Number.POSITIVE_INFINITY);
    if (!contents.has(current.id) || current.id === SECTION_CUSTOM) {
      parts.push(bytes.subarray(current.start, current.end));
      continue;
    }
    placed.add(current.id);
    const content = contents.get(current.id);
    if (content !== undefined) parts.push(...section(current.id, content));
  }
  placeMissingBefore(Number.POSITIVE_INFINITY);
  return Buffer.concat(parts);
}

export const EXTERNAL_FUNCTION = 0;
export const EXTERNAL_TABLE = 1;
export const EXTERNAL_MEMORY = 2;
export const EXTERNAL_GLOBAL = 3;
export const EXTERNAL_TAG = 4;
const LIMITS_HAS_MAX = 0x01;
const LIMITS_64_BIT = 0x04;

/** What a module imports, counted by kind, and whether a table or memory of them is 64-bit. */
export interface ImportCounts {
  readonly functions: number;
  readonly globals: number;
  readonly memories: number;
  readonly wide: boolean;
}

/** Reads the import section (absent: nothing imported). Throws on an import of an unknown kind or type. */
export function importCounts(bytes: Uint8Array, importSection: Section | undefined): ImportCounts {
  let functions = 0;
  let globals = 0;
  let memories = 0;
  let wide = false;
  if (importSection === undefined) return { functions, globals, memories, wide };
  const reader = new Reader(bytes.subarray(0, importSection.end), importSection.contentStart);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    reader.name();
    reader.name();
    const kind = reader.byte();
    if (kind === EXTERNAL_FUNCTION) {
      functions++;
      reader.u32();
    } else if (kind === EXTERNAL_GLOBAL) {
      globals++;
      valueType(reader);
      reader.byte();
    } else if (kind === EXTERNAL_TABLE || kind === EXTERNAL_MEMORY) {
      if (kind === EXTERNAL_TABLE) reader.byte();
      else memories++;
      if (skipLimits(reader) & LIMITS_64_BIT) wide = true;
    } else if (kind === EXTERNAL_TAG) {
      reader.byte();
      reader.u32();
    } else {
      throw new RangeError(`an import of unknown kind ${kind}`);
    }
  }
  return { functions, globals, memories, wide };
}

/** Steps over a table's or memory's limits and returns their flags. */
export function skipLimits(reader: Reader): number {
  const flags = reader.byte();
  reader.u32();
  if (flags & LIMITS_HAS_MAX) reader.u32();
  return flags;
}
