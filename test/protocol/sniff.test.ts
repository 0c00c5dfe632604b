import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectContentType } from '../../src/protocol/sniff.js';

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const XML = 'text/xml; charset=utf-8';
const BINARY = 'application/octet-stream';

/** Bytes from a string whose characters are all below U+0100, so `\xNN` spells one byte. */
function b(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`test input character U+${code.toString(16)} is not a byte`);
    out[i] = code;
  }
  return out;
}

/** UTF-8 bytes of a string. */
function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Vector = readonly [description: string, body: Uint8Array, expected: string];

function check(vectors: readonly Vector[]): void {
  for (const [description, body, expected] of vectors) {
    it(description, () => {
      assert.equal(detectContentType(body), expected);
    });
  }
}

// The reference vectors of Go's net/http sniffing tests, the same bytes and answers.
const REFERENCE: readonly Vector[] = [
  ['empty', new Uint8Array(0), TEXT],
  ['binary', new Uint8Array([1, 2, 3]), BINARY],

  ['HTML document, mixed case', b('<HtMl><bOdY>blah blah blah</body></html>'), HTML],
  ['HTML document, upper case', b('<HTML></HTML>'), HTML],
  ['HTML doctype after spaces', b('   <!DOCTYPE HTML>...'), HTML],
  ['HTML after CRLF', b('\r\n<html>...'), HTML],
  ['HTML after LF with nested tags', b('\n<html>\n\t<head>\n'), HTML],
  ['HTML without a doctype', b('<html><head></head><body>hi</body></html>'), HTML],

  ['plain text with a non-ASCII character', utf8('This is not HTML. It has ☃ though.'), TEXT],

  ['XML declaration after LF', b('\n<?xml!'), XML],

  ['Windows icon', b('\x00\x00\x01\x00'), 'image/x-icon'],
  ['Windows cursor', b('\x00\x00\x02\x00'), 'image/x-icon'],
  ['BMP', b('BM...'), 'image/bmp'],
  ['GIF 87a', b('GIF87a'), 'image/gif'],
  ['GIF 89a', b('GIF89a...'), 'image/gif'],
  ['WEBP', b('RIFF\x00\x00\x00\x00WEBPVP'), 'image/webp'],
  ['PNG signature', b('\x89PNG\r\n\x1A\n'), 'image/png'],
  ['JPEG', b('\xFF\xD8\xFF'), 'image/jpeg'],

  ['MIDI', b('MThd\x00\x00\x00\x06\x00\x01'), 'audio/midi'],
  ['MP3 with an ID3 tag', b('ID3\x03\x00\x00\x00\x00\x0f'), 'audio/mpeg'],
  ['WAVE, first sample', b('RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06'), 'audio/wave'],
  ['WAVE, second sample', b('RIFF,\x00\x00\x00WAVEfmt \x12\x00\x00\x00\x06'), 'audio/wave'],
  [
    'AIFF',
    b('FORM\x00\x00\x00\x00AIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x57\x55\x00\x10\x40\x0d\xf3\x34'),
    'audio/aiff',
  ],
  [
    'OGG',
    b(
      'OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46\x00\x00\x00\x00\x00\x00\x1f\xf6\xb4\xfc' +
        '\x01\x1e\x01\x76\x6f\x72',
    ),
    'application/ogg',
  ],
  ['not OGG: owow', b('owow\x00'), BINARY],
  ['not OGG: oooS', b('oooS\x00'), BINARY],
  ['not OGG: lower-case oggS', b('oggS\x00'), BINARY],

  ['MP4', b('\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom<\x06t\xbfmdat'), 'video/mp4'],
  // "À" in the original is UTF-8, two bytes.
  ['AVI, first sample', b('RIFF,O\n\x00AVI LIST\xC3\x80'), 'video/avi'],
  ['AVI, second sample', b('RIFF,\n\x00\x00AVI LIST\xC3\x80'), 'video/avi'],

  ['TrueType, first sample', b('\x00\x01\x00\x00\x00\x17\x01\x00\x00\x04\x01\x60\x4f'), 'font/ttf'],
  ['TrueType, second sample', b('\x00\x01\x00\x00\x00\x0e\x00\x80\x00\x03\x00\x60\x46'), 'font/ttf'],
  ['OpenType', b('\x4f\x54\x54\x4f\x00\x0e\x00\x80\x00\x03\x00\x60\x42\x41\x53\x45'), 'font/otf'],
  ['WOFF', b('\x77\x4f\x46\x46\x00\x01\x00\x00\x00\x00\x30\x54\x00\x0d\x00\x00'), 'font/woff'],
  ['WOFF2', b('\x77\x4f\x46\x32\x00\x01\x00\x00\x00'), 'font/woff2'],
  ['WebAssembly', b('\x00\x61\x73\x6d\x01\x00'), 'application/wasm'],

  ['RAR 1.5 to 4.0', b('Rar!\x1A\x07\x00'), 'application/x-rar-compressed'],
  ['RAR 5', b('Rar!\x1A\x07\x01\x00'), 'application/x-rar-compressed'],
  ['the standard\'s RAR 1.5 signature, which Go rejects', b('Rar \x1A\x07\x00'), BINARY],
  ['the standard\'s RAR 5 signature, which Go rejects', b('Rar \x1A\x07\x01\x00'), BINARY],

  ...[0, 1, 200, 600, 999, 1000, 1023, 1024, 512 << 10, 1 << 20].map(
    (size): Vector => [`${size} bytes of "a"`, b('a'.repeat(size)), TEXT],
  ),
];

// A real 1x1 PNG, as an instrument would write it.
const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

const PAGE = `

  <!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Instruments</title></head>
<body><h1>Instruments</h1><p>${'All of them. '.repeat(60)}</p></body>
</html>
`;

// Bodies WASIO instruments actually produce, and the edges of each rule.
const OURS: readonly Vector[] = [
  ['a real PNG file', PNG_1X1, 'image/png'],
  ['an HTML page with a lower-case doctype after blank lines', utf8(PAGE), HTML],
  ['a JSON object', utf8('{"hello":"world","n":[1,2,3]}\n'), TEXT],
  ['a JSON array after whitespace', utf8('  \n[{"a":null}]'), TEXT],
  ['plain text output', utf8('Hello, Alice!\n'), TEXT],
  ['random-looking binary', new Uint8Array([0x93, 0x00, 0x7f, 0x12, 0xfe, 0x01]), BINARY],
  ['a gzip stream', b('\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\x03'), 'application/x-gzip'],
  ['a zip archive', b('PK\x03\x04\x14\x00\x00\x00'), 'application/zip'],
  ['a PDF', b('%PDF-1.7\n%\xE2\xE3\xCF\xD3\n'), 'application/pdf'],
  ['PostScript', b('%!PS-Adobe-3.0\n'), 'application/postscript'],
  ['WEBM', b('\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01'), 'video/webm'],
  ['font collection', b('ttcf\x00\x01\x00\x00'), 'font/collection'],
  [
    'Embedded OpenType: "LP" at offset 34',
    concat(new Uint8Array(34).fill(0x41), b('LP\x00\x00')),
    'application/vnd.ms-fontobject',
  ],
  ['Embedded OpenType signature one byte short', concat(new Uint8Array(34).fill(0x41), b('L')), TEXT],

  // HTML: each tag needs a space or ">" after it, and only those.
  ['every HTML tag, lower case, then ">"', b('<p>hi</p>'), HTML],
  ['a comment opening', b('<!-- note -->'), HTML],
  ['a tag with attributes', b('<div class="x">'), HTML],
  ['a tag followed by a newline is not HTML', b('<html\n>'), TEXT],
  ['a tag followed by "/" is not HTML', b('<br/>'), TEXT],
  ['a tag at the very end is not HTML', b('<html'), TEXT],
  ['a tag name that only starts like one is not HTML', b('<abbr>x</abbr>'), TEXT],
  ['a tag after a form feed and tab', b('\x0c\t<TABLE border=1>'), HTML],
  ['vertical tab is not whitespace', b('\x0b<html>'), BINARY],
  ['a tag after non-breaking space is not HTML', b('\xA0<html>'), TEXT],
  ['"<?xml" is case-sensitive', b('<?XML version="1.0"?>'), TEXT],
  ['an XML document', b('<?xml version="1.0"?><svg/>'), XML],

  // Byte order marks need four bytes, because the pattern ends with two wildcards.
  ['UTF-16BE BOM with text', b('\xFE\xFF\x00h\x00i'), 'text/plain; charset=utf-16be'],
  ['UTF-16LE BOM with text', b('\xFF\xFEh\x00i\x00'), 'text/plain; charset=utf-16le'],
  ['UTF-8 BOM with text', b('\xEF\xBB\xBFhi'), TEXT],
  ['UTF-8 BOM then HTML is not HTML', b('\xEF\xBB\xBF<html>'), TEXT],
  ['a bare UTF-16LE BOM is too short to match', b('\xFF\xFE'), TEXT],
  ['UTF-16LE BOM and one byte is too short to match', b('\xFF\xFE\x00'), BINARY],

  // Only the first 512 bytes are read.
  ['a binary byte at offset 511', concat(b('a'.repeat(511)), b('\x00')), BINARY],
  ['a binary byte at offset 512', concat(b('a'.repeat(512)), b('\x00')), TEXT],
  ['whitespace filling the window before a tag', b(`${' '.repeat(512)}<html>`), TEXT],
  ['a tag ending exactly at byte 512', b(`${' '.repeat(506)}<html>`), HTML],
  ['a tag whose terminator falls past byte 512', b(`${' '.repeat(507)}<html>`), TEXT],

  // The text rule: controls except TAB, LF, FF, CR and ESC are binary; DEL and high bytes are not.
  ['ESC sequences are text', b('\x1b[31mred\x1b[0m'), TEXT],
  ['DEL is text', b('a\x7fb'), TEXT],
  ['invalid UTF-8 is still text', b('\xC3\x28\xFF\xFE\xFD'), TEXT],
  ['a NUL after text', b('abc\x00'), BINARY],
  ['a 0x1C after text', b('abc\x1c'), BINARY],
  ['only whitespace', b(' \t\r\n\x0c'), TEXT],

  // The MP4 rule: an "ftyp" box whose size is a multiple of four, fits the data, and names
  // an "mp4" brand anywhere except at the minor version.
  ['MP4 with the brand among the compatible ones', b('\x00\x00\x00\x14ftypisom\x00\x00\x02\x00mp41'), 'video/mp4'],
  ['MP4 brand only in the minor version', b('\x00\x00\x00\x10ftypisommp41'), BINARY],
  ['ftyp box larger than the data', b('\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00mp42'), BINARY],
  ['ftyp box size not a multiple of four', b('\x00\x00\x00\x11ftypmp42\x00\x00\x00\x00m'), BINARY],
  ['ftyp box of size zero', b('\x00\x00\x00\x00ftypmp42\x00\x00\x00\x00'), BINARY],
  ['ftyp box under 12 bytes of data', b('\x00\x00\x00\x08ftyp'), BINARY],
  [
    'ftyp box with a size above 2^31',
    b('\x80\x00\x00\x00ftypmp42\x00\x00\x00\x00mp42'),
    BINARY,
  ],

  // RIFF chunk sizes are wildcards.
  ['WAVE with any chunk size', b('RIFF\xff\xff\xff\xffWAVE'), 'audio/wave'],
  ['RIFF of another form', b('RIFF\x00\x00\x00\x00ABCD'), BINARY],
  ['WEBP needs "VP" after the form', b('RIFF\x10\x00\x00\x00WEBPXX'), BINARY],
  ['AIFF-C is not AIFF', b('FORM\x00\x00\x00\x00AIFC'), BINARY],
  ['MIDI header needs its length field', b('MThd\x00\x00\x00\x07'), BINARY],
  ['signature in a subarray view', new Uint8Array(b('xx\x89PNG\r\n\x1A\nyy').buffer, 2, 10), 'image/png'],
];

describe('detectContentType', () => {
  describe("net/http's reference vectors", () => check(REFERENCE));
  describe('instrument bodies and rule edges', () => check(OURS));

  it('accepts a Buffer', () => {
    assert.equal(detectContentType(Buffer.from('<!DOCTYPE html>\n<html></html>')), HTML);
  });

  it('does not modify its input', () => {
    const body = b('\n <HTML>');
    const before = Array.from(body);
    detectContentType(body);
    assert.deepEqual(Array.from(body), before);
  });
});
