/**
 * The memory limit, written into the module itself: the maximum of its memory (defined or
 * imported) is lowered to the limit before it is compiled, so `memory.grow` past the limit
 * fails inside the guest (malloc returns NULL, Go reports out of memory) and nothing outside
 * the guest has to watch it.
 *
 * Only the limits of the memory entries are rewritten; every other byte is copied as is.
 */
import { ModuleLoadError } from './errors.js';

export const WASM_PAGE_BYTES = 65_536;

/** An imported memory, with the limits it must be created with. */
export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly initial: number;
  readonly maximum: number;
  readonly shared: boolean;
  /** The export holding the size the guest sees, when its size instructions were rewritten (see memory-reuse). */
  readonly pagesExport?: string | undefined;
}

export interface LimitedModule {
  readonly bytes: Uint8Array;
  readonly memoryImport: MemoryImport | undefined;
  /** Set when an instance of the module can run again, put back as instantiation left it (see instance-reuse). */
  readonly instanceReset?: InstanceReset | undefined;
}

/** What to put back in an instance so it can run again as new. */
export interface InstanceReset {
  /** The exports of every mutable global. */
  readonly globals: readonly string[];
  /** Where instantiation writes the data segments: `[start, end)` byte ranges of the memory, in whole 4 KiB pages. */
  readonly data: readonly (readonly [start: number, end: number])[];
}

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const IMPORT_FUNCTION = 0;
const IMPORT_TABLE = 1;
const IMPORT_MEMORY = 2;
const IMPORT_GLOBAL = 3;
const IMPORT_TAG = 4;
const LIMITS_HAS_MAX = 0x01;
const LIMITS_SHARED = 0x02;
const LIMITS_MEMORY64 = 0x04;

/** Reads a module's bytes: bytes, unsigned LEB128 numbers, names; throws past the end. */
export class Reader {
  constructor(readonly bytes: Uint8Array, public offset: number) {}

  byte(): number {
    if (this.offset >= this.bytes.byteLength) throw new Error('unexpected end of module');
    return this.bytes[this.offset++] as number;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error('malformed LEB128 number');
    }
  }

  skip(count: number): void {
    this.offset += count;
    if (this.offset > this.bytes.byteLength) throw new Error('unexpected end of module');
  }

  name(): string {
    const length = this.u32();
    const start = this.offset;
    this.skip(length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, length).toString('utf8');
  }
}

/** `value` as unsigned LEB128. */
export function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** `value`, a 32-bit integer, as signed LEB128: the encoding of an `i32.const` immediate. */
export function signedLeb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

interface Limits {
  readonly flags: number;
  readonly initial: number;
  readonly maximum: number | undefined;
}

function readLimits(reader: Reader): Limits {
  const flags = reader.byte();
  if (flags & LIMITS_MEMORY64) throw new Error('64-bit memories are not supported');
  const initial = reader.u32();
  const maximum = flags & LIMITS_HAS_MAX ? reader.u32() : undefined;
  return { flags, initial, maximum };
}

/** The limits capped at `limitPages`; fails when the module needs more to start at all. */
function capped(limits: Limits, limitPages: number, path: string, limitMb: number): Limits {
  if (limits.initial > limitPages) {
    throw new ModuleLoadError(path, `needs ${Math.ceil((limits.initial * WASM_PAGE_BYTES) / 2 ** 20)} MiB of memory to start, over memory_limit_mb ${limitMb}`);
  }
  return { flags: limits.flags | LIMITS_HAS_MAX, initial: limits.initial, maximum: Math.min(limits.maximum ?? limitPages, limitPages) };
}

function encodeLimits(limits: Limits): number[] {
  return [limits.flags, ...leb(limits.initial), ...(limits.maximum === undefined ? [] : leb(limits.maximum))];
}

interface Patch {
  readonly start: number;
  readonly end: number;
  readonly replacement: number[];
}

/**
 * Returns the module's bytes with every memory's maximum at most `limitMb`, and the limits an
 * imported memory must be created with. Throws `ModuleLoadError` for a module that is not
 * WebAssembly or that needs more memory than the limit just to start.
 */
export function limitMemory(bytes: Uint8Array, limitMb: number, path: string): LimitedModule {
  const limitPages = Math.floor((limitMb * 2 ** 20) / WASM_PAGE_BYTES);
  const patches: Patch[] = [];
  let memoryImport: MemoryImport | undefined;
  try {
    if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
      throw new Error('not a WebAssembly binary (bad magic number)');
    }
    const reader = new Reader(bytes, 8);
    while (reader.offset < bytes.byteLength) {
      const id = reader.byte();
      const sizeStart = reader.offset;
      const size = reader.u32();
      const contentStart = reader.offset;
      const contentEnd = contentStart + size;
      if (id === SECTION_IMPORT) {
        const section = patchImports(new Reader(bytes, contentStart), limitPages, path, limitMb);
        memoryImport = section.memoryImport;
        if (section.content !== undefined) patches.push(resized(sizeStart, contentEnd, section.content));
      } else if (id === SECTION_MEMORY) {
        const section = new Reader(bytes, contentStart);
        const count = section.u32();
        const content = [...leb(count)];
        for (let i = 0; i < count; i++) content.push(...encodeLimits(capped(readLimits(section), limitPages, path, limitMb)));
        patches.push(resized(sizeStart, contentEnd, content));
      }
      reader.offset = contentEnd;
      if (contentEnd > bytes.byteLength) throw new Error('section runs past the end of the module');
    }
  } catch (error) {
    if (error instanceof ModuleLoadError) throw error;
    throw new ModuleLoadError(path, `not a valid WebAssembly module (${(error as Error).message})`, { cause: error });
  }
  return { bytes: applyPatches(bytes, patches), memoryImport };
}

/** A patch that replaces a section's size and content. */
function resized(sizeStart: number, contentEnd: number, content: number[]): Patch {
  return { start: sizeStart, end: contentEnd, replacement: [...leb(content.length), ...content] };
}

function patchImports(reader: Reader, limitPages: number, path: string, limitMb: number): { content: number[] | undefined; memoryImport: MemoryImport | undefined } {
  const start = reader.offset;
  const count = reader.u32();
  let memoryImport: MemoryImport | undefined;
  let patch: { at: number; end: number; limits: Limits } | undefined;
  for (let i = 0; i < count; i++) {
    const module = reader.name();
    const name = reader.name();
    const kind = reader.byte();
    if (kind === IMPORT_FUNCTION || kind === IMPORT_TAG) {
      if (kind === IMPORT_TAG) reader.byte();
      reader.u32();
    } else if (kind === IMPORT_TABLE) {
      reader.byte();
      readLimits(reader);
    } else if (kind === IMPORT_MEMORY) {
      const at = reader.offset;
      const limits = capped(readLimits(reader), limitPages, path, limitMb);
      patch = { at, end: reader.offset, limits };
      memoryImport = {
        module, name, initial: limits.initial, maximum: limits.maximum as number, shared: (limits.flags & LIMITS_SHARED) !== 0,
      };
    } else if (kind === IMPORT_GLOBAL) {
      reader.skip(2);
    } else {
      throw new Error(`unknown import kind ${kind}`);
    }
  }
  if (patch === undefined) return { content: undefined, memoryImport };
  const bytes = reader.bytes;
  const content = [
    ...bytes.subarray(start, patch.at),
    ...encodeLimits(patch.limits),
    ...bytes.subarray(patch.end, reader.offset),
  ];
  return { content, memoryImport };
}

function applyPatches(bytes: Uint8Array, patches: readonly Patch[]): Uint8Array {
  if (patches.length === 0) return bytes;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const patch of patches) {
    parts.push(bytes.subarray(offset, patch.start), Uint8Array.from(patch.replacement));
    offset = patch.end;
  }
  parts.push(bytes.subarray(offset));
  return Buffer.concat(parts);
}
