/**
 * Memory reuse between runs of a module: a worker gives the next run of a module the memory
 * of its last run, zeroed, instead of a new one, so that run needs no new mapping, takes no
 * page faults and leaves V8 nothing more to collect (each new memory is external memory that
 * brings the next full garbage collection closer).
 *
 * The host can only hand in a memory the module imports, so `importDefinedMemory` rewrites,
 * once at load, a small memory the module defines into an import (`wasio.memory`), changing
 * nothing the guest can observe. Only a memory the module exports as "memory" (as every WASI
 * command does), not shared, and at most `REUSABLE_MEMORY_BYTES` at start: zeroing costs per
 * byte, so a large memory a guest barely touches is cheaper new. A module the rewrite does
 * not understand is left as it is.
 *
 * What the next guest gets must be exactly what a new memory would be, so that nothing of one
 * request can reach the next: `SpareMemories` keeps a memory only while it is still its
 * initial size (memories only grow, and a guest sees their size), and only once every byte
 * of it is zero again.
 */
import { leb, Reader, WASM_PAGE_BYTES, type LimitedModule, type MemoryImport } from './memory-limit.js';

/** The largest initial memory a worker reuses between runs. */
export const REUSABLE_MEMORY_BYTES = 2 * 2 ** 20;
/** Where a defined memory is imported from once rewritten. */
export const MEMORY_IMPORT: Readonly<{ module: string; name: string }> = { module: 'wasio', name: 'memory' };

const SECTION_CUSTOM = 0;
const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;
const EXTERNAL_MEMORY = 2;
const LIMITS_HAS_MAX = 0x01;
const LIMITS_SHARED = 0x02;
const LIMITS_MEMORY64 = 0x04;

interface Section {
  readonly id: number;
  /** Offset of the section's id byte. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/**
 * The module with a defined memory rewritten into an import where that applies, and the
 * imported memory the host must then provide. Never throws: what it cannot read, it leaves
 * alone.
 */
export function importDefinedMemory(limited: LimitedModule): LimitedModule {
  if (limited.memoryImport !== undefined) return limited;
  try {
    return importMemory(limited.bytes) ?? limited;
  } catch {
    return limited;
  }
}

/** Whether a worker hands this imported memory from one run to the next. */
export function isReusable(memory: MemoryImport): boolean {
  return !memory.shared && memory.initial * WASM_PAGE_BYTES <= REUSABLE_MEMORY_BYTES;
}

function sectionsOf(bytes: Uint8Array): Section[] {
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

function section(id: number, content: readonly Uint8Array[]): Uint8Array[] {
  const size = content.reduce((sum, part) => sum + part.byteLength, 0);
  return [Uint8Array.from([id, ...leb(size)]), ...content];
}

function name(value: string): number[] {
  const encoded = Buffer.from(value, 'utf8');
  return [...leb(encoded.byteLength), ...encoded];
}

/** The defined memory as an import, or `undefined` when it is not one to reuse. */
function importMemory(bytes: Uint8Array): LimitedModule | undefined {
  const sections = sectionsOf(bytes);
  const memorySection = sections.find((entry) => entry.id === SECTION_MEMORY);
  if (memorySection === undefined) return undefined;
  const reader = new Reader(bytes, memorySection.contentStart);
  if (reader.u32() !== 1) return undefined;
  const limitsStart = reader.offset;
  const flags = reader.byte();
  if ((flags & (LIMITS_SHARED | LIMITS_MEMORY64)) !== 0 || (flags & LIMITS_HAS_MAX) === 0) return undefined;
  const initial = reader.u32();
  const maximum = reader.u32();
  const limits = bytes.subarray(limitsStart, reader.offset);
  if (initial * WASM_PAGE_BYTES > REUSABLE_MEMORY_BYTES || !exportsMemory(bytes, sections)) return undefined;

  const entry = Uint8Array.from([...name(MEMORY_IMPORT.module), ...name(MEMORY_IMPORT.name), EXTERNAL_MEMORY, ...limits]);
  const importSection = sections.find((candidate) => candidate.id === SECTION_IMPORT);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  // The import section follows the type section; a module without one gets it there.
  const before = importSection ?? sections.find((candidate) => candidate.id !== SECTION_CUSTOM && candidate.id !== SECTION_TYPE);
  for (const current of sections) {
    if (current === before && importSection === undefined) parts.push(...section(SECTION_IMPORT, [Uint8Array.from(leb(1)), entry]));
    if (current.id === SECTION_MEMORY) continue;
    if (current === importSection) {
      const imports = new Reader(bytes, current.contentStart);
      const count = imports.u32();
      parts.push(...section(SECTION_IMPORT, [Uint8Array.from(leb(count + 1)), bytes.subarray(imports.offset, current.end), entry]));
      continue;
    }
    parts.push(bytes.subarray(current.start, current.end));
  }
  if (before === undefined) parts.push(...section(SECTION_IMPORT, [Uint8Array.from(leb(1)), entry]));
  return {
    bytes: Buffer.concat(parts),
    memoryImport: { module: MEMORY_IMPORT.module, name: MEMORY_IMPORT.name, initial, maximum, shared: false },
  };
}

/** Whether memory 0 is exported as "memory", the name the host looks for. */
function exportsMemory(bytes: Uint8Array, sections: readonly Section[]): boolean {
  const exportSection = sections.find((entry) => entry.id === SECTION_EXPORT);
  if (exportSection === undefined) return false;
  const reader = new Reader(bytes, exportSection.contentStart);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const exportName = reader.name();
    const kind = reader.byte();
    const index = reader.u32();
    if (exportName === 'memory' && kind === EXTERNAL_MEMORY && index === 0) return true;
  }
  return false;
}

/**
 * Memories of finished runs that a worker keeps for the next run of the same module. At most
 * `maxBytes` are kept, the least recently used dropped first; `clear` drops them all, as an
 * idle worker does before it collects garbage.
 */
export class SpareMemories {
  /** By module id, least recently kept first. */
  private readonly spares = new Map<number, WebAssembly.Memory>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The memory a run of module `id` imports: a kept one when there is one, else a new one. */
  take(id: number, memoryImport: MemoryImport): WebAssembly.Memory {
    const spare = this.spares.get(id);
    if (spare !== undefined) {
      this.drop(id);
      return spare;
    }
    return new WebAssembly.Memory({ initial: memoryImport.initial, maximum: memoryImport.maximum, shared: memoryImport.shared });
  }

  /**
   * Keeps the memory of a finished run of module `id` for its next run, zeroed, if it is one
   * to reuse and is still its initial size; else lets it go.
   */
  keep(id: number, memory: WebAssembly.Memory, memoryImport: MemoryImport): void {
    const size = memory.buffer.byteLength;
    if (!isReusable(memoryImport) || size !== memoryImport.initial * WASM_PAGE_BYTES || size > this.maxBytes) return;
    new Uint8Array(memory.buffer).fill(0);
    this.drop(id);
    this.spares.set(id, memory);
    this.bytes += size;
    for (const [oldest, spare] of this.spares) {
      if (this.bytes <= this.maxBytes) break;
      this.spares.delete(oldest);
      this.bytes -= spare.buffer.byteLength;
    }
  }

  /** Lets go of the memory kept for module `id`, if any. */
  drop(id: number): void {
    const spare = this.spares.get(id);
    if (spare === undefined) return;
    this.spares.delete(id);
    this.bytes -= spare.buffer.byteLength;
  }

  /** Lets go of every kept memory. */
  clear(): void {
    this.spares.clear();
    this.bytes = 0;
  }
}
