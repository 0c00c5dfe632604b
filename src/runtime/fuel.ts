/**
 * Fuel metering, written into the module itself: a run can then be bounded in work by the
 * guest's own code, cheaply and without a thread watching the clock. A guest that would run
 * long traps quickly instead, and can be run again where a real timeout watches it.
 *
 * One mutable i32 global is added and exported as `wasio_fuel`; the host sets it before
 * `_start`. Each function entry and each loop header subtracts a constant from it, and the
 * guest traps (`unreachable`) as soon as it is below zero. The constant of a function is the
 * number of its instructions, that of a loop the number from `loop` to its `end`. Execution
 * only moves backwards by a branch to a loop header, so between two runs of any instruction
 * a loop around it is entered again, and charged for it: the fuel spent bounds the
 * instructions run. Bulk memory and table instructions, whose work grows with their length
 * operand, are charged for that length as well.
 *
 * No function is added (an imported "charge" function would shift every function index in
 * the code, the elements and the names), no index changes, and every byte outside the
 * function bodies, the global section and the export section is copied as it was.
 */
import { leb, Reader } from './memory-limit.js';

export interface MeteredModule {
  readonly bytes: Uint8Array;
  /** Name of the exported mutable i32 global holding the fuel left. */
  readonly fuelExport: string;
}

/** The name the fuel global is exported under. */
export const FUEL_EXPORT = 'wasio_fuel';

/** Something in the module the transform does not understand (or malformed bytes). */
class NotMeterable extends Error {}

const SECTION_CUSTOM = 0;
const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const SECTION_START = 8;
const SECTION_CODE = 10;

/** Where each section must sit among the others; custom sections may sit anywhere. */
const SECTION_ORDER = new Map<number, number>([
  [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [13, 6], [6, 7], [7, 8], [8, 9], [9, 10], [12, 11], [10, 12], [11, 13],
]);
const GLOBAL_ORDER = 7;
const EXPORT_ORDER = 8;

const IMPORT_FUNCTION = 0;
const IMPORT_TABLE = 1;
const IMPORT_MEMORY = 2;
const IMPORT_GLOBAL = 3;
const IMPORT_TAG = 4;
const EXPORT_GLOBAL = 3;

const LIMITS_HAS_MAX = 0x01;
const LIMITS_SHARED = 0x02;
const FUNCTION_TYPE = 0x60;
const EMPTY_BLOCK = 0x40;
const I32 = 0x7f;
/** i32, i64, f32, f64, v128, funcref, externref, exnref: the value types written as one byte. */
const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69]);
/** func, extern, exn: the heap types of `ref.null` that go with those value types. */
const HEAP_TYPES = new Set([0x70, 0x6f, 0x69]);
const MAX_FUEL_CONSTANT = 2 ** 31 - 1;

// What follows an opcode: the immediates the decoder skips.
const UNKNOWN = 0;
const NONE = 1;
const INDEX = 2;
const TWO_INDEXES = 3;
const MEMARG = 4;
const BLOCK_TYPE = 5;
const BRANCH_TABLE = 6;
const SIGNED_LEB = 7;
const FOUR_BYTES = 8;
const EIGHT_BYTES = 9;
const SIXTEEN_BYTES = 10;
const SELECT_TYPES = 11;
const HEAP_TYPE = 12;
const TRY_TABLE = 13;
const LANE = 14;
const MEMARG_LANE = 15;
const PREFIX_MISC = 16;
const PREFIX_SIMD = 17;
const PREFIX_ATOMIC = 18;

const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_END = 0x0b;
const OP_DELEGATE = 0x18;

function immediateTable(size: number, entries: ReadonlyArray<readonly [kind: number, first: number, last?: number]>): Uint8Array {
  const table = new Uint8Array(size);
  for (const [kind, first, last = first] of entries) table.fill(kind, first, last + 1);
  return table;
}

/**
 * Single-byte opcodes: MVP, sign extension, reference types, tail calls and exception
 * handling (both the legacy `try` and `try_table`). Anything else is unknown, and an unknown
 * opcode means the module is not metered: guessing its length would misread everything after.
 */
const OPCODES = immediateTable(256, [
  [NONE, 0x00, 0x01], [BLOCK_TYPE, 0x02, 0x04], [NONE, 0x05], [BLOCK_TYPE, 0x06], [INDEX, 0x07, 0x09], [NONE, 0x0a, 0x0b],
  [INDEX, 0x0c, 0x0d], [BRANCH_TABLE, 0x0e], [NONE, 0x0f], [INDEX, 0x10], [TWO_INDEXES, 0x11], [INDEX, 0x12],
  [TWO_INDEXES, 0x13], [INDEX, 0x18], [NONE, 0x19, 0x1b], [SELECT_TYPES, 0x1c], [TRY_TABLE, 0x1f],
  [INDEX, 0x20, 0x26], [MEMARG, 0x28, 0x3e], [INDEX, 0x3f, 0x40], [SIGNED_LEB, 0x41, 0x42], [FOUR_BYTES, 0x43],
  [EIGHT_BYTES, 0x44], [NONE, 0x45, 0xc4], [HEAP_TYPE, 0xd0], [NONE, 0xd1], [INDEX, 0xd2],
  [PREFIX_MISC, 0xfc], [PREFIX_SIMD, 0xfd], [PREFIX_ATOMIC, 0xfe],
]);

const MEMORY_INIT = 8;
const MEMORY_COPY = 10;
const MEMORY_FILL = 11;
const TABLE_INIT = 12;
const TABLE_COPY = 14;
const TABLE_GROW = 15;
const TABLE_FILL = 17;

/** After 0xFC: saturating truncations, then bulk memory and table instructions. */
const MISC_OPCODES = immediateTable(18, [
  [NONE, 0, 7], [TWO_INDEXES, 8], [INDEX, 9], [TWO_INDEXES, 10], [INDEX, 11], [TWO_INDEXES, 12], [INDEX, 13],
  [TWO_INDEXES, 14], [INDEX, 15, 17],
]);

/** The 0xFC instructions whose work grows with the length operand on top of the stack. */
const BY_LENGTH = new Set([MEMORY_INIT, MEMORY_COPY, MEMORY_FILL, TABLE_INIT, TABLE_COPY, TABLE_GROW, TABLE_FILL]);

/** Numbers the SIMD opcode space leaves unassigned, between v128.any_true and the relaxed ones. */
const SIMD_GAPS = [0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee];

/** After 0xFD: fixed-width SIMD, then relaxed SIMD (0x100-0x113). */
const SIMD_OPCODES = immediateTable(0x114, [
  [MEMARG, 0x00, 0x0b], [SIXTEEN_BYTES, 0x0c, 0x0d], [NONE, 0x0e, 0x14], [LANE, 0x15, 0x22], [NONE, 0x23, 0x53],
  [MEMARG_LANE, 0x54, 0x5b], [MEMARG, 0x5c, 0x5d], [NONE, 0x5e, 0x113], ...SIMD_GAPS.map((op) => [UNKNOWN, op] as const),
]);

const ATOMIC_FENCE = 0x03;
const ATOMIC_WAIT32 = 0x01;
const ATOMIC_WAIT64 = 0x02;

/** After 0xFE: every atomic instruction has a memarg, except the fence. */
const ATOMIC_OPCODES = immediateTable(0x4f, [[MEMARG, 0x00, 0x02], [NONE, ATOMIC_FENCE], [MEMARG, 0x10, 0x4e]]);

interface Section {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/**
 * Returns the module with fuel checks added, or undefined when it uses anything the transform
 * does not understand (the caller then simply never runs it metered): an unknown opcode or
 * type, a 64-bit memory or table, a start function (it would run before the host can set the
 * fuel), an atomic wait (it blocks without spending fuel), or an export already named
 * `wasio_fuel`. Bytes that are not WebAssembly, or malformed where the transform reads them,
 * give undefined too; what else is wrong with an invalid module is kept for its compile to
 * report. Never throws.
 *
 * The host sets the exported global to the fuel allowed (0 to 2^31-1) before calling
 * `_start`; when the guest traps with `unreachable` and the global is below zero, the fuel ran
 * out. What the run spent is the value set minus the value left.
 */
export function meterFuel(bytes: Uint8Array): MeteredModule | undefined {
  try {
    return { bytes: meter(bytes), fuelExport: FUEL_EXPORT };
  } catch {
    // NotMeterable, or a read past the end of malformed bytes: either way the module is not
    // metered, and compiling it unchanged reports whatever is wrong with it.
    return undefined;
  }
}

function meter(bytes: Uint8Array): Uint8Array {
  const sections = sectionsOf(bytes);
  const section = (id: number): Section | undefined => sections.find((candidate) => candidate.id === id);
  if (section(SECTION_START) !== undefined) throw new NotMeterable('a start function runs before the fuel is set');

  const typeSection = section(SECTION_TYPE);
  const paramCounts = typeSection === undefined ? [] : readParamCounts(readerAt(bytes, typeSection));
  const importSection = section(SECTION_IMPORT);
  const importedGlobals = importSection === undefined ? 0 : readImports(readerAt(bytes, importSection));
  const tableSection = section(SECTION_TABLE);
  if (tableSection !== undefined) checkTables(readerAt(bytes, tableSection));
  const memorySection = section(SECTION_MEMORY);
  if (memorySection !== undefined) checkMemories(readerAt(bytes, memorySection));
  const functionSection = section(SECTION_FUNCTION);
  const functionTypes = functionSection === undefined ? [] : readFunctionTypes(readerAt(bytes, functionSection), paramCounts.length);

  const globalSection = section(SECTION_GLOBAL);
  const exportSection = section(SECTION_EXPORT);
  const codeSection = section(SECTION_CODE);
  // Appended after every global there is, so that no global index changes.
  const fuelGlobal = importedGlobals + (globalSection === undefined ? 0 : readerAt(bytes, globalSection).u32());
  const newGlobals = withFuelGlobal(bytes, globalSection);
  const newExports = withFuelExport(bytes, exportSection, fuelGlobal);

  const replacements = new Map<Section, Uint8Array[]>();
  if (globalSection !== undefined) replacements.set(globalSection, newGlobals);
  if (exportSection !== undefined) replacements.set(exportSection, newExports);
  if (codeSection !== undefined) {
    const parts = meterCode(bytes, codeSection, functionTypes.map((type) => paramCounts[type] as number), fuelGlobal);
    replacements.set(codeSection, sectionParts(SECTION_CODE, parts));
  } else if (functionTypes.length > 0) {
    throw new NotMeterable('functions without a code section');
  }

  // A section the module lacks goes before the first one that must follow it.
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let globalsPlaced = globalSection !== undefined;
  let exportsPlaced = exportSection !== undefined;
  const placeMissing = (order: number): void => {
    if (!globalsPlaced && order > GLOBAL_ORDER) {
      parts.push(...newGlobals);
      globalsPlaced = true;
    }
    if (!exportsPlaced && order > EXPORT_ORDER) {
      parts.push(...newExports);
      exportsPlaced = true;
    }
  };
  for (const current of sections) {
    if (current.id !== SECTION_CUSTOM) placeMissing(SECTION_ORDER.get(current.id) as number);
    const replacement = replacements.get(current);
    if (replacement === undefined) parts.push(bytes.subarray(current.start, current.end));
    else parts.push(...replacement);
  }
  placeMissing(Number.POSITIVE_INFINITY);
  return Buffer.concat(parts);
}

/** The module's sections, in order; fails on a section it does not know or out of place. */
function sectionsOf(bytes: Uint8Array): Section[] {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.byteLength < 8 || header.some((byte, i) => bytes[i] !== byte)) throw new NotMeterable('not a WebAssembly module');
  const reader = new Reader(bytes, 8);
  const sections: Section[] = [];
  let lastOrder = 0;
  while (reader.offset < bytes.byteLength) {
    const start = reader.offset;
    const id = reader.byte();
    const size = reader.u32();
    const contentStart = reader.offset;
    reader.skip(size);
    if (id !== SECTION_CUSTOM) {
      const order = SECTION_ORDER.get(id);
      if (order === undefined || order <= lastOrder) throw new NotMeterable(`section ${id} is unknown or out of place`);
      lastOrder = order;
    }
    sections.push({ id, start, contentStart, end: reader.offset });
  }
  return sections;
}

function readerAt(bytes: Uint8Array, section: Section): Reader {
  return new Reader(bytes.subarray(0, section.end), section.contentStart);
}

/** A section's id and size, then its content. */
function sectionParts(id: number, content: readonly Uint8Array[]): Uint8Array[] {
  const size = content.reduce((total, part) => total + part.byteLength, 0);
  return [Uint8Array.from([id, ...leb(size)]), ...content];
}

function valueType(reader: Reader): number {
  const type = reader.byte();
  if (!VALUE_TYPES.has(type)) throw new NotMeterable(`unknown value type 0x${type.toString(16)}`);
  return type;
}

/** The number of parameters of each type. */
function readParamCounts(reader: Reader): number[] {
  const counts: number[] = [];
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== FUNCTION_TYPE) throw new NotMeterable('a type that is not a function type');
    const params = reader.u32();
    for (let p = 0; p < params; p++) valueType(reader);
    const results = reader.u32();
    for (let r = 0; r < results; r++) valueType(reader);
    counts.push(params);
  }
  return counts;
}

/** Checks every import is understood and returns the number of imported globals. */
function readImports(reader: Reader): number {
  let globals = 0;
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    reader.name();
    reader.name();
    const kind = reader.byte();
    if (kind === IMPORT_FUNCTION) {
      reader.u32();
    } else if (kind === IMPORT_TABLE) {
      tableType(reader);
    } else if (kind === IMPORT_MEMORY) {
      memoryLimits(reader);
    } else if (kind === IMPORT_GLOBAL) {
      valueType(reader);
      reader.byte();
      globals++;
    } else if (kind === IMPORT_TAG) {
      reader.byte();
      reader.u32();
    } else {
      throw new NotMeterable(`unknown import kind ${kind}`);
    }
  }
  return globals;
}

/** A table's element type and limits; a 64-bit table would take i64 lengths the charge cannot read. */
function tableType(reader: Reader): void {
  if (!HEAP_TYPES.has(reader.byte())) throw new NotMeterable('unknown table element type');
  const flags = reader.byte();
  if ((flags & ~LIMITS_HAS_MAX) !== 0) throw new NotMeterable('a 64-bit or shared table');
  reader.u32();
  if (flags & LIMITS_HAS_MAX) reader.u32();
}

/** A memory's limits; a 64-bit memory would take i64 lengths the charge cannot read. */
function memoryLimits(reader: Reader): void {
  const flags = reader.byte();
  if ((flags & ~(LIMITS_HAS_MAX | LIMITS_SHARED)) !== 0) throw new NotMeterable('a 64-bit memory, or limits of an unknown kind');
  reader.u32();
  if (flags & LIMITS_HAS_MAX) reader.u32();
}

function checkTables(reader: Reader): void {
  const count = reader.u32();
  for (let i = 0; i < count; i++) tableType(reader);
}

function checkMemories(reader: Reader): void {
  const count = reader.u32();
  for (let i = 0; i < count; i++) memoryLimits(reader);
}

/** The type index of each defined function. */
function readFunctionTypes(reader: Reader, typeCount: number): number[] {
  const types: number[] = [];
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const type = reader.u32();
    if (type >= typeCount) throw new NotMeterable('a function of an unknown type');
    types.push(type);
  }
  return types;
}

/** The global section with `(global (mut i32) (i32.const 0))` appended, or made of it alone. */
function withFuelGlobal(bytes: Uint8Array, section: Section | undefined): Uint8Array[] {
  const fuel = Uint8Array.from([I32, 0x01, 0x41, 0x00, OP_END]);
  if (section === undefined) return sectionParts(SECTION_GLOBAL, [Uint8Array.of(0x01), fuel]);
  const reader = readerAt(bytes, section);
  const count = reader.u32();
  return sectionParts(SECTION_GLOBAL, [Uint8Array.from(leb(count + 1)), bytes.subarray(reader.offset, section.end), fuel]);
}

/** The export section with the fuel global appended, or made of it alone. */
function withFuelExport(bytes: Uint8Array, section: Section | undefined, fuelGlobal: number): Uint8Array[] {
  const fuel = Uint8Array.from([FUEL_EXPORT.length, ...Buffer.from(FUEL_EXPORT), EXPORT_GLOBAL, ...leb(fuelGlobal)]);
  if (section === undefined) return sectionParts(SECTION_EXPORT, [Uint8Array.of(0x01), fuel]);
  const reader = readerAt(bytes, section);
  const count = reader.u32();
  const entries = reader.offset;
  for (let i = 0; i < count; i++) {
    if (reader.name() === FUEL_EXPORT) throw new NotMeterable(`the module already exports ${FUEL_EXPORT}`);
    reader.byte();
    reader.u32();
  }
  return sectionParts(SECTION_EXPORT, [Uint8Array.from(leb(count + 1)), bytes.subarray(entries, section.end), fuel]);
}

/** `value`, a 32-bit integer, as signed LEB128: the encoding of an `i32.const` immediate. */
function signedLeb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** The instruction sequences a charge is made of, for one fuel global. */
class Charges {
  private readonly fuel: number[];
  /** `global.get $fuel; i32.const 0; i32.lt_s; if unreachable end`: stack-neutral, like the whole charge. */
  private readonly trapIfNegative: number[];
  /** Loops of the same length are common: one charge for each length is made once. */
  private readonly fixedByCost = new Map<number, Uint8Array>();

  constructor(fuelGlobal: number) {
    this.fuel = leb(fuelGlobal);
    this.trapIfNegative = [0x23, ...this.fuel, 0x41, 0x00, 0x48, OP_IF, EMPTY_BLOCK, 0x00, OP_END];
  }

  /** `fuel -= cost`, then trap when it went below zero. */
  fixed(cost: number): Uint8Array {
    let charge = this.fixedByCost.get(cost);
    if (charge === undefined) {
      const constant = Math.min(Math.max(cost, 1), MAX_FUEL_CONSTANT);
      charge = Uint8Array.from([0x23, ...this.fuel, 0x41, ...signedLeb(constant), 0x6b, 0x24, ...this.fuel, ...this.trapIfNegative]);
      this.fixedByCost.set(cost, charge);
    }
    return charge;
  }

  /**
   * `fuel -= (n >>> 10) + 1` for the length n on top of the stack, which is kept there: it is
   * parked in `scratch` while the charge runs.
   */
  byLength(scratch: number): Uint8Array {
    const local = leb(scratch);
    return Uint8Array.from([
      0x21, ...local, 0x23, ...this.fuel, 0x20, ...local, 0x41, 0x0a, 0x76, 0x41, 0x01, 0x6a, 0x6b, 0x24, ...this.fuel,
      ...this.trapIfNegative, 0x20, ...local,
    ]);
  }
}

/** The code section's content with every function body metered. */
function meterCode(bytes: Uint8Array, section: Section, paramCounts: readonly number[], fuelGlobal: number): Uint8Array[] {
  const reader = readerAt(bytes, section);
  const count = reader.u32();
  if (count !== paramCounts.length) throw new NotMeterable('the code and function sections disagree');
  const charges = new Charges(fuelGlobal);
  const parts: Uint8Array[] = [Uint8Array.from(leb(count))];
  for (let i = 0; i < count; i++) {
    const size = reader.u32();
    const body = meterBody(reader, reader.offset + size, paramCounts[i] as number, charges);
    parts.push(Uint8Array.from(leb(body.reduce((total, part) => total + part.byteLength, 0))));
    for (const part of body) parts.push(part);
  }
  if (reader.offset !== section.end) throw new NotMeterable('the code section has bytes after its last function');
  return parts;
}

/** Marks a charge point as charged by length rather than by a constant. */
const CHARGE_BY_LENGTH = -1;

/** Where a body is charged, in order of offset, and what each point charges. */
interface ChargePoints {
  /** Instructions in the body, its final `end` included. */
  readonly instructions: number;
  /** Offsets just past a loop's block type, or at a bulk instruction. */
  readonly offsets: number[];
  /** The constant charged at each offset, or `CHARGE_BY_LENGTH`. */
  readonly costs: number[];
}

/** The function body (locals and code) at the reader, which must end at `end`, metered, in parts. */
function meterBody(reader: Reader, end: number, params: number, charges: Charges): Uint8Array[] {
  const bytes = reader.bytes;
  const start = reader.offset;
  const declarations = reader.u32();
  const declarationsStart = reader.offset;
  let locals = params;
  for (let i = 0; i < declarations; i++) {
    locals += reader.u32();
    valueType(reader);
  }
  const codeStart = reader.offset;
  const points = chargePoints(reader);
  if (reader.offset !== end) throw new NotMeterable('a function body does not end where its size says');
  const byLength = points.costs.includes(CHARGE_BY_LENGTH);
  const parts = byLength
    ? [Uint8Array.from(leb(declarations + 1)), bytes.subarray(declarationsStart, codeStart), Uint8Array.of(0x01, I32)]
    : [bytes.subarray(start, codeStart)];
  parts.push(charges.fixed(points.instructions));
  let from = codeStart;
  for (let i = 0; i < points.offsets.length; i++) {
    const offset = points.offsets[i] as number;
    const cost = points.costs[i] as number;
    parts.push(bytes.subarray(from, offset), cost === CHARGE_BY_LENGTH ? charges.byLength(locals) : charges.fixed(cost));
    from = offset;
  }
  parts.push(bytes.subarray(from, end));
  return parts;
}

/** Decodes every instruction from the reader's offset to the body's final `end`, and returns where to charge. */
function chargePoints(reader: Reader): ChargePoints {
  const offsets: number[] = [];
  const costs: number[] = [];
  // For each open block: the index of its charge point when it is a loop, else -1. While a
  // loop is open, its cost holds the instruction count at the loop, made the loop's length at its end.
  const open: number[] = [];
  let instructions = 0;
  // Most instructions have no immediate or a single number: those are stepped over here, with
  // the offset in a local (several times faster on a large module), the others by the reader.
  // A read past the end gives undefined, which ends any LEB128 number; the loop's test then
  // catches it.
  const bytes = reader.bytes;
  const limit = bytes.byteLength;
  let offset = reader.offset;
  while (offset < limit) {
    const at = offset;
    const opcode = bytes[offset++] as number;
    instructions++;
    const kind = OPCODES[opcode] as number;
    if (kind === NONE) {
      if (opcode !== OP_END) continue;
      const point = open.pop();
      if (point === undefined) {
        reader.offset = offset;
        return { instructions, offsets, costs };
      }
      if (point >= 0) costs[point] = instructions - (costs[point] as number) + 1;
      continue;
    }
    if (kind === INDEX || kind === SIGNED_LEB) {
      let byte: number;
      do byte = bytes[offset++] as number; while (byte & 0x80);
      if (opcode === OP_DELEGATE) {
        const point = open.pop();
        if (point === undefined) throw new NotMeterable('delegate outside any block');
        if (point >= 0) costs[point] = instructions - (costs[point] as number) + 1;
      }
      continue;
    }
    reader.offset = offset;
    if (kind === BLOCK_TYPE) {
      skipBlockType(reader);
      if (opcode === OP_LOOP) {
        open.push(offsets.length);
        offsets.push(reader.offset);
        costs.push(instructions);
      } else {
        open.push(-1);
      }
    } else if (kind === TRY_TABLE) {
      skipBlockType(reader);
      skipCatchClauses(reader);
      open.push(-1);
    } else if (kind === PREFIX_MISC) {
      const sub = reader.u32();
      skipImmediates(reader, sub < MISC_OPCODES.length ? MISC_OPCODES[sub] as number : UNKNOWN);
      if (BY_LENGTH.has(sub)) {
        offsets.push(at);
        costs.push(CHARGE_BY_LENGTH);
      }
    } else if (kind === PREFIX_SIMD) {
      const sub = reader.u32();
      skipImmediates(reader, sub < SIMD_OPCODES.length ? SIMD_OPCODES[sub] as number : UNKNOWN);
    } else if (kind === PREFIX_ATOMIC) {
      const sub = reader.u32();
      // A wait can block for as long as its timeout says while spending no fuel.
      if (sub === ATOMIC_WAIT32 || sub === ATOMIC_WAIT64) throw new NotMeterable('an atomic wait');
      if (sub === ATOMIC_FENCE && reader.byte() !== 0x00) throw new NotMeterable('an atomic fence with an unknown flag');
      skipImmediates(reader, sub < ATOMIC_OPCODES.length ? ATOMIC_OPCODES[sub] as number : UNKNOWN);
    } else {
      skipImmediates(reader, kind);
    }
    offset = reader.offset;
  }
  throw new NotMeterable('a function body runs past the end of the code section');
}

function skipImmediates(reader: Reader, kind: number): void {
  switch (kind) {
    case NONE:
      return;
    case INDEX:
      skipU32(reader);
      return;
    case TWO_INDEXES:
      skipU32(reader);
      skipU32(reader);
      return;
    case MEMARG:
      skipMemarg(reader);
      return;
    case BRANCH_TABLE: {
      const count = reader.u32();
      for (let i = 0; i <= count; i++) skipU32(reader);
      return;
    }
    case FOUR_BYTES:
      reader.skip(4);
      return;
    case EIGHT_BYTES:
      reader.skip(8);
      return;
    case SIXTEEN_BYTES:
      reader.skip(16);
      return;
    case SELECT_TYPES: {
      const count = reader.u32();
      for (let i = 0; i < count; i++) valueType(reader);
      return;
    }
    case HEAP_TYPE:
      if (!HEAP_TYPES.has(reader.byte())) throw new NotMeterable('unknown heap type');
      return;
    case LANE:
      reader.skip(1);
      return;
    case MEMARG_LANE:
      skipMemarg(reader);
      reader.skip(1);
      return;
    default:
      throw new NotMeterable('unknown opcode');
  }
}

const MEMARG_HAS_MEMORY_INDEX = 0x40;

/** Alignment (with a memory index after it when bit 6 is set: multi-memory), then offset. */
function skipMemarg(reader: Reader): void {
  const align = reader.u32();
  if (align & MEMARG_HAS_MEMORY_INDEX) skipU32(reader);
  skipU32(reader);
}

/**
 * Skips a LEB128 number of up to 32 bits (33 for a block type) and returns its last byte:
 * most immediates are only stepped over, and working out their value would cost.
 */
function skipU32(reader: Reader): number {
  let byte = reader.byte();
  for (let count = 1; byte & 0x80; count++) {
    if (count === 5) throw new NotMeterable('malformed LEB128 number');
    byte = reader.byte();
  }
  return byte;
}

/** 0x40 (no values), a value type, or a type index as a non-negative signed 33-bit number. */
function skipBlockType(reader: Reader): void {
  const first = reader.bytes[reader.offset] as number;
  if (first === EMPTY_BLOCK || VALUE_TYPES.has(first)) {
    reader.skip(1);
    return;
  }
  if (skipU32(reader) & 0x40) throw new NotMeterable('unknown block type');
}

const CATCH = 0x00;
const CATCH_REF = 0x01;
const CATCH_ALL = 0x02;
const CATCH_ALL_REF = 0x03;

/** The catch clauses of `try_table`: a tag and a label, or only a label for the catch-alls. */
function skipCatchClauses(reader: Reader): void {
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const kind = reader.byte();
    if (kind === CATCH || kind === CATCH_REF) skipU32(reader);
    else if (kind !== CATCH_ALL && kind !== CATCH_ALL_REF) throw new NotMeterable('unknown catch clause');
    skipU32(reader);
  }
}
