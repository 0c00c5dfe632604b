/**
 * Walks the instructions of a WebAssembly function body, for transforms that rewrite a few
 * kinds of instruction and must find them exactly: an opcode byte can also be part of another
 * instruction's immediates, so only decoding every instruction from the start tells them
 * apart.
 *
 * Known: the MVP, sign extension, saturating truncation, bulk memory, reference types,
 * multi-value, tail calls, exception handling (legacy `try` and `try_table`), fixed-width and
 * relaxed SIMD, threads (atomics) and multi-memory immediates. An opcode it does not know
 * fails the walk with `UnknownInstruction`: guessing its length would misread all that follows.
 */
import { Reader } from './memory-limit.js';

/** Something in a body the walker does not understand, or malformed bytes. */
export class UnknownInstruction extends Error {
  override readonly name = 'UnknownInstruction';
}

const EMPTY_BLOCK = 0x40;
/** i32, i64, f32, f64, v128, funcref, externref, exnref: the value types written as one byte. */
const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69]);
/** func, extern, exn: the heap types of `ref.null`. */
const HEAP_TYPES = new Set([0x70, 0x6f, 0x69]);

// What follows an opcode: the immediates the walker steps over.
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

const OP_END = 0x0b;
const OP_DELEGATE = 0x18;
const BLOCK_OPENERS = new Set([0x02, 0x03, 0x04, 0x06, 0x1f]);

function immediateTable(size: number, entries: ReadonlyArray<readonly [kind: number, first: number, last?: number]>): Uint8Array {
  const table = new Uint8Array(size);
  for (const [kind, first, last = first] of entries) table.fill(kind, first, last + 1);
  return table;
}

/** Single-byte opcodes, and the three prefixes. */
const OPCODES = immediateTable(256, [
  [NONE, 0x00, 0x01], [BLOCK_TYPE, 0x02, 0x04], [NONE, 0x05], [BLOCK_TYPE, 0x06], [INDEX, 0x07, 0x09], [NONE, 0x0a, 0x0b],
  [INDEX, 0x0c, 0x0d], [BRANCH_TABLE, 0x0e], [NONE, 0x0f], [INDEX, 0x10], [TWO_INDEXES, 0x11], [INDEX, 0x12],
  [TWO_INDEXES, 0x13], [INDEX, 0x18], [NONE, 0x19, 0x1b], [SELECT_TYPES, 0x1c], [TRY_TABLE, 0x1f],
  [INDEX, 0x20, 0x26], [MEMARG, 0x28, 0x3e], [INDEX, 0x3f, 0x40], [SIGNED_LEB, 0x41, 0x42], [FOUR_BYTES, 0x43],
  [EIGHT_BYTES, 0x44], [NONE, 0x45, 0xc4], [HEAP_TYPE, 0xd0], [NONE, 0xd1], [INDEX, 0xd2],
  [PREFIX_MISC, 0xfc], [PREFIX_SIMD, 0xfd], [PREFIX_ATOMIC, 0xfe],
]);

/** After 0xFC: saturating truncations, then bulk memory and table instructions. */
const MISC_OPCODES = immediateTable(18, [
  [NONE, 0, 7], [TWO_INDEXES, 8], [INDEX, 9], [TWO_INDEXES, 10], [INDEX, 11], [TWO_INDEXES, 12], [INDEX, 13],
  [TWO_INDEXES, 14], [INDEX, 15, 17],
]);

/** Numbers the SIMD opcode space leaves unassigned, between v128.any_true and the relaxed ones. */
const SIMD_GAPS = [0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee];

/** After 0xFD: fixed-width SIMD, then relaxed SIMD (0x100-0x113). */
const SIMD_OPCODES = immediateTable(0x114, [
  [MEMARG, 0x00, 0x0b], [SIXTEEN_BYTES, 0x0c, 0x0d], [NONE, 0x0e, 0x14], [LANE, 0x15, 0x22], [NONE, 0x23, 0x53],
  [MEMARG_LANE, 0x54, 0x5b], [MEMARG, 0x5c, 0x5d], [NONE, 0x5e, 0x113], ...SIMD_GAPS.map((op) => [UNKNOWN, op] as const),
]);

const ATOMIC_FENCE = 0x03;

/** After 0xFE: every atomic instruction has a memarg, except the fence. */
const ATOMIC_OPCODES = immediateTable(0x4f, [[MEMARG, 0x00, 0x02], [NONE, ATOMIC_FENCE], [MEMARG, 0x10, 0x4e]]);

/** Which single-byte opcodes a walk reports: 1 at the wanted ones' places. */
export type OpcodeSet = Uint8Array;

/** The set of `opcodes`, for `walkCode`. */
export function opcodeSet(opcodes: readonly number[]): OpcodeSet {
  const set = new Uint8Array(256);
  for (const opcode of opcodes) set[opcode] = 1;
  return set;
}

/** Called with a wanted instruction's opcode and the offsets of its first byte and of the byte after it. */
export type InstructionVisitor = (opcode: number, start: number, end: number) => void;

/**
 * Decodes the code of one function body, from `reader.offset` (just past the local
 * declarations) to its final `end`, and calls `visit` for each instruction whose opcode is one
 * in `wanted` (single-byte opcodes). Leaves the reader just past the body's final `end`.
 * Throws `UnknownInstruction` on anything it cannot decode.
 */
export function walkCode(reader: Reader, wanted: OpcodeSet, visit: InstructionVisitor): void {
  let depth = 0;
  // Most instructions have no immediate or a single number: those are stepped over here, with
  // the offset in a local (several times faster on a large module), the others by the reader.
  // A read past the end gives undefined, which ends any LEB128 number; the loop's test then
  // catches it.
  const bytes = reader.bytes;
  const limit = bytes.byteLength;
  let offset = reader.offset;
  while (offset < limit) {
    const start = offset;
    const opcode = bytes[offset++] as number;
    const kind = OPCODES[opcode] as number;
    if (kind === NONE) {
      if (opcode === OP_END && depth-- === 0) {
        reader.offset = offset;
        return;
      }
    } else if (kind === INDEX || kind === SIGNED_LEB) {
      let byte: number;
      do byte = bytes[offset++] as number; while (byte & 0x80);
      if (opcode === OP_DELEGATE && depth-- === 0) throw new UnknownInstruction('delegate outside any block');
    } else if (kind === MEMARG && (bytes[offset] as number) < 0x80) {
      // Loads and stores, the commonest instructions with two numbers: an alignment of one
      // byte (bit 6: a memory index follows), then the offset.
      let byte = bytes[offset++] as number;
      if (byte & MEMARG_HAS_MEMORY_INDEX) do byte = bytes[offset++] as number; while (byte & 0x80);
      do byte = bytes[offset++] as number; while (byte & 0x80);
    } else {
      reader.offset = offset;
      skipImmediates(reader, opcode, kind);
      if (BLOCK_OPENERS.has(opcode)) depth++;
      offset = reader.offset;
    }
    if (wanted[opcode] === 1) visit(opcode, start, offset);
  }
  throw new UnknownInstruction('a function body runs past the end of its section');
}

function skipImmediates(reader: Reader, opcode: number, kind: number): void {
  switch (kind) {
    case BLOCK_TYPE:
      skipBlockType(reader);
      return;
    case TRY_TABLE:
      skipBlockType(reader);
      skipCatchClauses(reader);
      return;
    case PREFIX_MISC: {
      const sub = reader.u32();
      skipImmediates(reader, opcode, sub < MISC_OPCODES.length ? MISC_OPCODES[sub] as number : UNKNOWN);
      return;
    }
    case PREFIX_SIMD: {
      const sub = reader.u32();
      skipImmediates(reader, opcode, sub < SIMD_OPCODES.length ? SIMD_OPCODES[sub] as number : UNKNOWN);
      return;
    }
    case PREFIX_ATOMIC: {
      const sub = reader.u32();
      if (sub === ATOMIC_FENCE && reader.byte() !== 0x00) throw new UnknownInstruction('an atomic fence with an unknown flag');
      skipImmediates(reader, opcode, sub < ATOMIC_OPCODES.length ? ATOMIC_OPCODES[sub] as number : UNKNOWN);
      return;
    }
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
      if (!HEAP_TYPES.has(reader.byte())) throw new UnknownInstruction('unknown heap type');
      return;
    case LANE:
      reader.skip(1);
      return;
    case MEMARG_LANE:
      skipMemarg(reader);
      reader.skip(1);
      return;
    default:
      throw new UnknownInstruction(`unknown opcode 0x${opcode.toString(16)}`);
  }
}

/** A value type written as one byte. */
export function valueType(reader: Reader): number {
  const type = reader.byte();
  if (!VALUE_TYPES.has(type)) throw new UnknownInstruction(`unknown value type 0x${type.toString(16)}`);
  return type;
}

const MEMARG_HAS_MEMORY_INDEX = 0x40;

/** Alignment (with a memory index after it when bit 6 is set: multi-memory), then offset. */
function skipMemarg(reader: Reader): void {
  const align = reader.u32();
  if (align & MEMARG_HAS_MEMORY_INDEX) skipU32(reader);
  skipU32(reader);
}

/** Skips a LEB128 number of up to 32 bits (33 for a block type) and returns its last byte. */
function skipU32(reader: Reader): number {
  let byte = reader.byte();
  for (let count = 1; byte & 0x80; count++) {
    if (count === 5) throw new UnknownInstruction('malformed LEB128 number');
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
  if (skipU32(reader) & 0x40) throw new UnknownInstruction('unknown block type');
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
    else if (kind !== CATCH_ALL && kind !== CATCH_ALL_REF) throw new UnknownInstruction('unknown catch clause');
    skipU32(reader);
  }
}
