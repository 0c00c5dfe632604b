/**
 * Content sniffing for responses whose route names no `content_type`.
 *
 * The rules are the WHATWG MIME Sniffing standard as the Go version of WASIO applied it
 * through `net/http.DetectContentType`, byte for byte, so an instrument moved over from Go
 * is served with the same Content-Type it always had. That includes Go's own choices where
 * it departs from the standard: RAR signatures from RAR Labs' note, `image/x-icon` for
 * cursors too, WebAssembly and the font types, and no UTF-16 or UTF-8 BOM match on bodies
 * shorter than four bytes.
 *
 * The signatures are data, checked in order, first match wins; the loop reads the body in
 * place and allocates nothing, since it runs on every uncached response.
 */

/** Only this many leading bytes take part in the decision. */
const SNIFF_LENGTH = 512;

const TEXT_UTF8 = 'text/plain; charset=utf-8';
const BINARY = 'application/octet-stream';

/**
 * One byte pattern. A body byte `b` at offset `i` matches when `(b & mask[i]) === pattern[i]`;
 * a zero mask byte is a wildcard.
 */
interface PatternSignature {
  readonly kind: 'pattern';
  readonly pattern: Uint8Array;
  readonly mask: Uint8Array;
  /** Compare from the first byte that is not whitespace instead of from offset 0. */
  readonly skipWhitespace: boolean;
  /** The pattern must be followed by a tag-terminating byte (space or `>`). */
  readonly tagTerminated: boolean;
  readonly type: string;
}

/** The standard's ISO base media rule: an `ftyp` box listing an `mp4` brand. */
interface Mp4Signature {
  readonly kind: 'mp4';
  readonly type: string;
}

type Signature = PatternSignature | Mp4Signature;

/** Bytes of a string whose characters are all below U+0100 (so `\xNN` spells a byte). */
function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`signature character U+${code.toString(16)} is not a byte`);
    out[i] = code;
  }
  return out;
}

function pattern(
  pat: string,
  mask: string | null,
  type: string,
  skipWhitespace = false,
): PatternSignature {
  const patternBytes = bytes(pat);
  const maskBytes = mask === null ? new Uint8Array(patternBytes.length).fill(0xff) : bytes(mask);
  if (maskBytes.length !== patternBytes.length) {
    throw new RangeError(`signature for ${type}: mask and pattern differ in length`);
  }
  return { kind: 'pattern', pattern: patternBytes, mask: maskBytes, skipWhitespace, tagTerminated: false, type };
}

/** A prefix that must match exactly, at offset 0. */
function exact(prefix: string, type: string): PatternSignature {
  return pattern(prefix, null, type);
}

/**
 * An HTML opening: after leading whitespace, letters compared without case (mask 0xDF
 * folds ASCII lower case onto upper case), then a tag-terminating byte.
 */
function html(tag: string): PatternSignature {
  const patternBytes = bytes(tag);
  const maskBytes = new Uint8Array(patternBytes.length);
  for (let i = 0; i < patternBytes.length; i++) {
    const b = patternBytes[i]!;
    maskBytes[i] = b >= 0x41 && b <= 0x5a ? 0xdf : 0xff;
  }
  return {
    kind: 'pattern',
    pattern: patternBytes,
    mask: maskBytes,
    skipWhitespace: true,
    tagTerminated: true,
    type: 'text/html; charset=utf-8',
  };
}

/** Four bytes of "any value" (a RIFF or FORM chunk size). */
const ANY4 = '\x00\x00\x00\x00';
const FF4 = '\xFF\xFF\xFF\xFF';

/**
 * The signature table, in the order Go checks it. Order matters only where two entries
 * can match the same bytes, but it is kept whole so the table reads against the standard.
 */
const SIGNATURES: readonly Signature[] = [
  html('<!DOCTYPE HTML'),
  html('<HTML'),
  html('<HEAD'),
  html('<SCRIPT'),
  html('<IFRAME'),
  html('<H1'),
  html('<DIV'),
  html('<FONT'),
  html('<TABLE'),
  html('<A'),
  html('<STYLE'),
  html('<TITLE'),
  html('<B'),
  html('<BODY'),
  html('<BR'),
  html('<P'),
  html('<!--'),
  pattern('<?xml', null, 'text/xml; charset=utf-8', true),
  exact('%PDF-', 'application/pdf'),
  exact('%!PS-Adobe-', 'application/postscript'),

  // Byte order marks. The two bytes after the mark are wildcards, yet must be present.
  pattern('\xFE\xFF\x00\x00', '\xFF\xFF\x00\x00', 'text/plain; charset=utf-16be'),
  pattern('\xFF\xFE\x00\x00', '\xFF\xFF\x00\x00', 'text/plain; charset=utf-16le'),
  pattern('\xEF\xBB\xBF\x00', '\xFF\xFF\xFF\x00', TEXT_UTF8),

  // Images.
  exact('\x00\x00\x01\x00', 'image/x-icon'),
  exact('\x00\x00\x02\x00', 'image/x-icon'),
  exact('BM', 'image/bmp'),
  exact('GIF87a', 'image/gif'),
  exact('GIF89a', 'image/gif'),
  pattern(`RIFF${ANY4}WEBPVP`, `${FF4}${ANY4}${FF4}\xFF\xFF`, 'image/webp'),
  exact('\x89PNG\r\n\x1A\n', 'image/png'),
  exact('\xFF\xD8\xFF', 'image/jpeg'),

  // Audio and video, in the standard's order.
  pattern(`FORM${ANY4}AIFF`, `${FF4}${ANY4}${FF4}`, 'audio/aiff'),
  exact('ID3', 'audio/mpeg'),
  exact('OggS\x00', 'application/ogg'),
  exact('MThd\x00\x00\x00\x06', 'audio/midi'),
  pattern(`RIFF${ANY4}AVI `, `${FF4}${ANY4}${FF4}`, 'video/avi'),
  pattern(`RIFF${ANY4}WAVE`, `${FF4}${ANY4}${FF4}`, 'audio/wave'),
  { kind: 'mp4', type: 'video/mp4' },
  exact('\x1A\x45\xDF\xA3', 'video/webm'),

  // Fonts. Embedded OpenType: 34 bytes of anything, then "LP".
  pattern(`${'\x00'.repeat(34)}LP`, `${'\x00'.repeat(34)}\xFF\xFF`, 'application/vnd.ms-fontobject'),
  exact('\x00\x01\x00\x00', 'font/ttf'),
  exact('OTTO', 'font/otf'),
  exact('ttcf', 'font/collection'),
  exact('wOFF', 'font/woff'),
  exact('wOF2', 'font/woff2'),

  // Archives. RAR follows RAR Labs' signatures (v1.5 to v4, then v5+), not the standard's.
  exact('\x1F\x8B\x08', 'application/x-gzip'),
  exact('PK\x03\x04', 'application/zip'),
  exact('Rar!\x1A\x07\x00', 'application/x-rar-compressed'),
  exact('Rar!\x1A\x07\x01\x00', 'application/x-rar-compressed'),
  exact('\x00asm', 'application/wasm'),
];

/** Whitespace as the standard defines it: TAB, LF, FF, CR, SPACE. */
function isWhitespace(b: number): boolean {
  return b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
}

/** A byte the standard calls "binary data": controls other than TAB, LF, FF, CR and ESC. */
function isBinaryByte(b: number): boolean {
  return b < 0x20 && (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || b >= 0x1c);
}

function matchesPattern(sig: PatternSignature, body: Uint8Array, start: number, end: number): boolean {
  const { pattern: pat, mask } = sig;
  const length = pat.length;
  // A tag needs one byte past the pattern for its terminator.
  if (end - start < (sig.tagTerminated ? length + 1 : length)) return false;
  for (let i = 0; i < length; i++) {
    if ((body[start + i]! & mask[i]!) !== pat[i]) return false;
  }
  if (sig.tagTerminated) {
    const next = body[start + length];
    return next === 0x20 || next === 0x3e;
  }
  return true;
}

/**
 * The first box must be `ftyp`, fit in the sniffed bytes and have a size that is a multiple
 * of four; then the major brand, or any compatible brand (the minor version at offset 12 is
 * skipped), must start with `mp4`.
 */
function matchesMp4(body: Uint8Array, end: number): boolean {
  if (end < 12) return false;
  const boxSize = ((body[0]! << 24) | (body[1]! << 16) | (body[2]! << 8) | body[3]!) >>> 0;
  if (boxSize > end || boxSize % 4 !== 0) return false;
  // "ftyp"
  if (body[4] !== 0x66 || body[5] !== 0x74 || body[6] !== 0x79 || body[7] !== 0x70) return false;
  for (let offset = 8; offset < boxSize; offset += 4) {
    if (offset === 12) continue;
    // "mp4"
    if (body[offset] === 0x6d && body[offset + 1] === 0x70 && body[offset + 2] === 0x34) return true;
  }
  return false;
}

/**
 * Sniffs the MIME type of a response body, returning exactly what Go's
 * `net/http.DetectContentType` returns for the same bytes (WHATWG MIME Sniffing, over at
 * most the first 512 bytes).
 *
 * HTML and XML openings are recognised after leading whitespace; images, audio, video,
 * fonts, archives, PDF, PostScript and byte order marks by their signatures at offset 0.
 * Otherwise a body with no binary control bytes (empty included) is
 * `text/plain; charset=utf-8`, and anything else `application/octet-stream`, so the result
 * is always a valid MIME type. Never throws; reads `body` without copying or keeping it.
 */
export function detectContentType(body: Uint8Array): string {
  const end = body.length < SNIFF_LENGTH ? body.length : SNIFF_LENGTH;

  let firstNonWhitespace = 0;
  while (firstNonWhitespace < end && isWhitespace(body[firstNonWhitespace]!)) firstNonWhitespace++;

  for (let s = 0; s < SIGNATURES.length; s++) {
    const sig = SIGNATURES[s]!;
    if (sig.kind === 'mp4') {
      if (matchesMp4(body, end)) return sig.type;
    } else if (matchesPattern(sig, body, sig.skipWhitespace ? firstNonWhitespace : 0, end)) {
      return sig.type;
    }
  }

  for (let i = firstNonWhitespace; i < end; i++) {
    if (isBinaryByte(body[i]!)) return BINARY;
  }
  return TEXT_UTF8;
}
