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
import { leb, Reader, signedLeb } from './memory-limit.js';
import { opcodeSet, UnknownInstruction, valueType, walkCode } from './wasm-instructions.js';
import {
  appended, EXTERNAL_GLOBAL, importCounts, name, reassembled, sectionsOf, skipLimits, SECTION_CODE, SECTION_EXPORT,
  SECTION_FUNCTION, SECTION_GLOBAL, SECTION_IMPORT, SECTION_MEMORY, SECTION_START, SECTION_TABLE, SECTION_TYPE, WASM_HEADER, type Section,
} from './wasm-sections.js';

export interface MeteredModule {
  readonly bytes: Uint8Array;
  /** Name of the exported mutable i32 global holding the fuel left. */
  readonly fuelExport: string;
}

/** The name the fuel global is exported under. */
export const FUEL_EXPORT = 'wasio_fuel';

const LIMITS_64_BIT = 0x04;
const FUNCTION_TYPE = 0x60;
const EMPTY_BLOCK = 0x40;
const I32 = 0x7f;
const MAX_FUEL_CONSTANT = 2 ** 31 - 1;

const OP_IF = 0x04;
const OP_LOOP = 0x03;
const OP_END = 0x0b;
const OP_DELEGATE = 0x18;
const PREFIX_MISC = 0xfc;
const PREFIX_ATOMIC = 0xfe;
const BLOCK_OPENERS = new Set([0x02, OP_LOOP, OP_IF, 0x06, 0x1f]);
/** The metering walk sees every instruction. */
const EVERY_INSTRUCTION = opcodeSet(Array.from({ length: 256 }, (_, opcode) => opcode));

/** After 0xFC: the bulk memory and table instructions whose work grows with the length on top of the stack. */
const BY_LENGTH = new Set([8, 10, 11, 12, 14, 15, 17]);
/** After 0xFE: the waits, which block for as long as their timeout says while spending no fuel. */
const ATOMIC_WAITS = new Set([1, 2]);

/** Something in the module the transform does not understand. */
class NotMeterable extends Error {}

/**
 * Returns the module with fuel checks added, or undefined when it uses anything the transform
 * does not understand (the caller then simply never runs it metered): an instruction or type
 * the walk cannot decode, a start function (it would run before the host can set the fuel),
 * an atomic wait (it blocks without spending fuel), or an export already named `wasio_fuel`.
 * Malformed bytes give undefined too; what else is wrong with an invalid module is left for its
 * compile to report. Never throws.
 *
 * The host sets the exported global to the fuel allowed (0 to 2^31-1) before calling
 * `_start`; when the guest traps with `unreachable` and the global is below zero, the fuel ran
 * out.
 */
export function meterFuel(bytes: Uint8Array): MeteredModule | undefined {
  try {
    return { bytes: meter(bytes), fuelExport: FUEL_EXPORT };
  } catch {
    // NotMeterable, UnknownInstruction, or a read past the end of malformed bytes.
    return undefined;
  }
}

function meter(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength < 8 || WASM_HEADER.some((byte, i) => bytes[i] !== byte)) throw new NotMeterable('not a WebAssembly module');
  const sections = sectionsOf(bytes);
  const find = (id: number): Section | undefined => sections.find((candidate) => candidate.id === id);
  if (find(SECTION_START) !== undefined) throw new NotMeterable('a start function runs before the fuel is set');
  for (const id of [SECTION_TABLE, SECTION_MEMORY]) {
    const section = find(id);
    if (section !== undefined) checkLimits(readerAt(bytes, section), id === SECTION_TABLE);
  }
  const typeSection = find(SECTION_TYPE);
  const paramCounts = typeSection === undefined ? [] : readParamCounts(readerAt(bytes, typeSection));
  const imported = importCounts(bytes, find(SECTION_IMPORT));
  if (imported.wide) throw new NotMeterable('a 64-bit table or memory');
  const importedGlobals = imported.globals;
  const functionSection = find(SECTION_FUNCTION);
  const functionTypes = functionSection === undefined ? [] : readFunctionTypes(readerAt(bytes, functionSection), paramCounts.length);
  const globalSection = find(SECTION_GLOBAL);
  const exportSection = find(SECTION_EXPORT);
  const codeSection = find(SECTION_CODE);
  if (exportNames(bytes, exportSection).includes(FUEL_EXPORT)) throw new NotMeterable(`the module already exports ${FUEL_EXPORT}`);
  // Appended after every global there is, so that no global index changes.
  const fuelGlobal = importedGlobals + (globalSection === undefined ? 0 : readerAt(bytes, globalSection).u32());
  const contents = new Map<number, Uint8Array[]>([
    [SECTION_GLOBAL, appended(bytes, globalSection, [Uint8Array.from([I32, 0x01, 0x41, 0x00, OP_END])])],
    [SECTION_EXPORT, appended(bytes, exportSection, [Uint8Array.from([...name(FUEL_EXPORT), EXTERNAL_GLOBAL, ...leb(fuelGlobal)])])],
  ]);
  if (codeSection !== undefined) {
    contents.set(SECTION_CODE, meterCode(bytes, codeSection, functionTypes.map((type) => paramCounts[type] as number), fuelGlobal));
  } else if (functionTypes.length > 0) {
    throw new NotMeterable('functions without a code section');
  }
  return reassembled(bytes, sections, contents);
}

function readerAt(bytes: Uint8Array, section: Section): Reader {
  return new Reader(bytes.subarray(0, section.end), section.contentStart);
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

/** The tables or memories of a section: a 64-bit one would take i64 lengths, which the charge cannot read. */
function checkLimits(reader: Reader, tables: boolean): void {
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    if (tables) reader.byte();
    if (skipLimits(reader) & LIMITS_64_BIT) throw new NotMeterable('a 64-bit table or memory');
  }
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

function exportNames(bytes: Uint8Array, section: Section | undefined): string[] {
  if (section === undefined) return [];
  const reader = readerAt(bytes, section);
  const names: string[] = [];
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    names.push(reader.name());
    reader.byte();
    reader.u32();
  }
  return names;
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
    parts.push(Uint8Array.from(leb(body.reduce((total, part) => total + part.byteLength, 0))), ...body);
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
  const bytes = reader.bytes;
  const offsets: number[] = [];
  const costs: number[] = [];
  // For each open block: the index of its charge point when it is a loop, else -1. While a
  // loop is open, its cost holds the instruction count at the loop, made the loop's length at its end.
  const open: number[] = [];
  let instructions = 0;
  const close = (): void => {
    const point = open.pop();
    if (point !== undefined && point >= 0) costs[point] = instructions - (costs[point] as number) + 1;
  };
  walkCode(reader, EVERY_INSTRUCTION, (opcode, start, end) => {
    instructions++;
    if (opcode === OP_END || opcode === OP_DELEGATE) {
      close();
    } else if (BLOCK_OPENERS.has(opcode)) {
      if (opcode === OP_LOOP) {
        open.push(offsets.length);
        offsets.push(end);
        costs.push(instructions);
      } else {
        open.push(-1);
      }
    } else if (opcode === PREFIX_MISC) {
      if (BY_LENGTH.has(new Reader(bytes, start + 1).u32())) {
        offsets.push(start);
        costs.push(CHARGE_BY_LENGTH);
      }
    } else if (opcode === PREFIX_ATOMIC && ATOMIC_WAITS.has(new Reader(bytes, start + 1).u32())) {
      throw new UnknownInstruction('an atomic wait');
    }
  });
  return { instructions: instructions + 1, offsets, costs };
}
