/**
 * `multipart/form-data` bodies as real clients write them: fetch's own `FormData` encoder,
 * bodies written the way browsers and curl write them, and bodies that cannot be parsed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MultipartError } from '../../src/protocol/errors.js';
import { multipartBoundary, parseMultipartForm, type MultipartForm } from '../../src/protocol/multipart.js';
import { parseMediaType } from '../../src/protocol/request.js';

/** A body and its Content-Type, encoded by fetch's `FormData` (undici), as a client would. */
async function encodeFormData(form: FormData): Promise<{ body: Uint8Array<ArrayBuffer>; contentType: string }> {
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: new Uint8Array(await request.arrayBuffer()), contentType: request.headers.get('content-type') ?? '' };
}

/** A body written line by line with CRLF, the way browsers write one. */
function crlf(...lines: string[]): Uint8Array {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function parse(body: Uint8Array, contentType: string): MultipartForm {
  return parseMultipartForm(body, contentType);
}

function assertMultipartError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof MultipartError, `expected a MultipartError, got ${String(error)}`);
    assert.equal(error.code, 'WASIO_ERR_MULTIPART');
    assert.match(error.message, message);
    return true;
  });
}

describe('parseMediaType', () => {
  it('splits type and parameters, lower-casing names and the type', () => {
    const { type, parameters } = parseMediaType('Multipart/Form-Data; Boundary=abc; charset="utf-8"');
    assert.equal(type, 'multipart/form-data');
    assert.deepEqual([...parameters], [['boundary', 'abc'], ['charset', 'utf-8']]);
  });

  it('reads quoted strings with ; and = inside, and quoted pairs unless told not to', () => {
    const value = 'form-data; name="a;b=c"; filename="C:\\dir\\x\\"y.txt"';
    assert.equal(parseMediaType(value).parameters.get('name'), 'a;b=c');
    assert.equal(parseMediaType(value).parameters.get('filename'), 'C:dirx"y.txt');
    assert.equal(parseMediaType(value, { quotedPairs: false }).parameters.get('filename'), 'C:\\dir\\x\\');
  });

  it('skips malformed parameters and keeps the first of a repeated name', () => {
    const { parameters } = parseMediaType('text/plain; junk; a=1; =2; a=3; b="unterminated');
    assert.deepEqual([...parameters], [['a', '1'], ['b', 'unterminated']]);
  });

  it('gives an empty type for an empty value', () => {
    assert.equal(parseMediaType('').type, '');
  });
});

describe('multipartBoundary', () => {
  it('takes the boundary, quoted or not', () => {
    assert.equal(multipartBoundary('multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW'), '----WebKitFormBoundary7MA4YWxkTrZu0gW');
    assert.equal(multipartBoundary('multipart/form-data; boundary="with space:and=equals"'), 'with space:and=equals');
  });

  it('refuses a missing, empty, too long or invalid boundary', () => {
    assertMultipartError(() => multipartBoundary('multipart/form-data'), /no boundary parameter/);
    assertMultipartError(() => multipartBoundary('multipart/form-data; boundary=""'), /invalid boundary ""/);
    assertMultipartError(() => multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`), /1 to 70/);
    assertMultipartError(() => multipartBoundary('multipart/form-data; boundary="ends with space "'), /invalid boundary/);
    assertMultipartError(() => multipartBoundary('multipart/form-data; boundary="a\\"b"'), /invalid boundary/);
  });
});

describe('parseMultipartForm', () => {
  it('reads what fetch\'s FormData writes: text fields in order with repeats, files described', async () => {
    const form = new FormData();
    form.append('name', 'Alice');
    form.append('tag', 'a');
    form.append('note', 'line one\r\nline two\nünïcödé ✓');
    form.append('upload', new Blob([Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], { type: 'image/png' }), 'a.png');
    form.append('tag', 'b');
    form.append('empty', new Blob([]), 'empty.bin');
    const { body, contentType } = await encodeFormData(form);
    const parsed = parse(body, contentType);
    // FormData itself writes every line break of a text value as CRLF.
    assert.deepEqual(parsed.fields, [['name', 'Alice'], ['tag', 'a'], ['note', 'line one\r\nline two\r\nünïcödé ✓'], ['tag', 'b']]);
    assert.deepEqual(parsed.files, [
      { field: 'upload', filename: 'a.png', contentType: 'image/png', size: 8 },
      { field: 'empty', filename: 'empty.bin', contentType: 'application/octet-stream', size: 0 },
    ]);
  });

  it('agrees with fetch\'s own parser on random forms, binary files included', async () => {
    for (let round = 0; round < 25; round++) {
      const form = new FormData();
      const parts = 1 + (round % 6);
      for (let i = 0; i < parts; i++) {
        // Content that looks like a delimiter without being one must stay content.
        const tricky = `\r\n--${'-'.repeat(i)}x\r\n\r\n`;
        if (i % 2 === 0) form.append(`field${i}`, `${randomBytes(round).toString('hex')}${tricky}é`);
        else form.append(`file${i}`, new Blob([randomBytes(round * 37 + i), tricky]), `f${i}.bin`);
      }
      const { body, contentType } = await encodeFormData(form);
      const reference = await new Response(new Blob([body]), { headers: { 'content-type': contentType } }).formData();
      const expectedFields: [string, string][] = [];
      const expectedFiles: { field: string; filename: string; size: number }[] = [];
      reference.forEach((value, name) => {
        if (typeof value === 'string') expectedFields.push([name, value]);
        else expectedFiles.push({ field: name, filename: value.name, size: value.size });
      });
      const parsed = parse(body, contentType);
      assert.deepEqual(parsed.fields, expectedFields, `round ${round}`);
      assert.deepEqual(parsed.files.map(({ field, filename, size }) => ({ field, filename, size })), expectedFiles, `round ${round}`);
    }
  });

  it('reads a browser\'s body: escaped quotes and newlines in names, raw UTF-8 file names, an empty file input', () => {
    const boundary = '----WebKitFormBoundaryePkpFF7tjBAqx29L';
    const body = crlf(
      `--${boundary}`,
      'Content-Disposition: form-data; name="say %22hi%22%0D%0Anow"',
      '',
      'hello',
      `--${boundary}`,
      'Content-Disposition: form-data; name="photo"; filename="Été 2024.jpg"',
      'Content-Type: image/jpeg',
      '',
      'JPEGDATA',
      `--${boundary}`,
      'Content-Disposition: form-data; name="nothing"; filename=""',
      'Content-Type: application/octet-stream',
      '',
      '',
      `--${boundary}--`,
      '',
    );
    const parsed = parse(body, `multipart/form-data; boundary=${boundary}`);
    assert.deepEqual(parsed.fields, [['say "hi"\r\nnow', 'hello']]);
    assert.deepEqual(parsed.files, [
      { field: 'photo', filename: 'Été 2024.jpg', contentType: 'image/jpeg', size: 8 },
      { field: 'nothing', filename: '', contentType: 'application/octet-stream', size: 0 },
    ]);
  });

  it('ignores preamble and epilogue, and accepts padding after a boundary and any header case', () => {
    const body = crlf(
      'This is the preamble; it is ignored.',
      '--XyZ   ',
      'CONTENT-DISPOSITION: Form-Data; NAME=plain',
      '',
      'value',
      '--XyZ\t',
      'content-disposition: form-data; name="f"; filename="x.txt"',
      '',
      'no content type means text/plain',
      '--XyZ--',
      'epilogue, also ignored',
    );
    const parsed = parse(body, 'multipart/form-data; boundary=XyZ');
    assert.deepEqual(parsed.fields, [['plain', 'value']]);
    assert.deepEqual(parsed.files, [{ field: 'f', filename: 'x.txt', contentType: 'text/plain', size: 32 }]);
  });

  it('prefers RFC 5987 filename* over filename', () => {
    const body = crlf(
      '--b',
      'Content-Disposition: form-data; name="f"; filename="fallback.txt"; filename*=UTF-8\'\'na%C3%AFve%20%E2%82%AC.txt',
      '',
      'x',
      '--b--',
    );
    assert.equal(parse(body, 'multipart/form-data; boundary=b').files[0]?.filename, 'naïve €.txt');
  });

  it('skips parts that are not form-data or have no name, and reads a part with no headers as nothing', () => {
    const body = crlf(
      '--b',
      'Content-Disposition: attachment; name="a"',
      '',
      'skipped',
      '--b',
      'Content-Disposition: form-data',
      '',
      'skipped too',
      '--b',
      '',
      'no headers at all',
      '--b',
      'Content-Disposition: form-data; name="kept"',
      '',
      'kept',
      '--b--',
    );
    assert.deepEqual(parse(body, 'multipart/form-data; boundary=b'), { fields: [['kept', 'kept']], files: [] });
  });

  it('keeps a delimiter-like line inside content when more follows the boundary on that line', () => {
    const body = crlf(
      '--b',
      'Content-Disposition: form-data; name="a"',
      '',
      'first',
      '--bb is not the boundary',
      'second',
      '--b--',
    );
    assert.deepEqual(parse(body, 'multipart/form-data; boundary=b').fields, [['a', 'first\r\n--bb is not the boundary\r\nsecond']]);
  });

  it('reads an empty body as an empty form, and a body with only the closing delimiter as one too', () => {
    assert.deepEqual(parse(new Uint8Array(0), 'multipart/form-data; boundary=b'), { fields: [], files: [] });
    assert.deepEqual(parse(crlf('--b--', ''), 'multipart/form-data; boundary=b'), { fields: [], files: [] });
  });

  it('decodes text fields that are not UTF-8 with replacement characters instead of failing', () => {
    const body = Buffer.concat([crlf('--b', 'Content-Disposition: form-data; name="a"', '', ''), Buffer.from([0x41, 0xff, 0x42]), crlf('', '--b--')]);
    assert.deepEqual(parse(body, 'multipart/form-data; boundary=b').fields, [['a', 'A\ufffdB']]);
  });

  it('refuses bodies that cannot be parsed, saying what is wrong', () => {
    const type = 'multipart/form-data; boundary=b';
    assertMultipartError(() => parse(crlf('name=value'), type), /no line of the body is the boundary "--b"/);
    assertMultipartError(() => parse(crlf('--b', 'Content-Disposition: form-data; name="a"', '', 'cut short'), type), /part 1 is not followed by a boundary/);
    assertMultipartError(() => parse(crlf('--b', 'Content-Disposition: form-data; name="a"', 'no blank line', '--b--'), type), /part 1 has no blank line after its headers/);
    assertMultipartError(() => parse(crlf('--b', 'Content-Disposition: form-data; name="a"', '', 'x', '--b', 'Content-Disposition: form-data; name="b"'), type), /part 2 has no blank line/);
    assertMultipartError(() => parse(crlf('--b junk', 'Content-Disposition: form-data; name="a"', '', 'x', '--bjunk'), type), /no line of the body is the boundary/);
    // A line that only starts like the boundary belongs to the preamble: here, all there is.
    assert.deepEqual(parse(crlf('--b junk', 'x', '--b--'), type), { fields: [], files: [] });
  });

  it('stays linear on a large body of many small parts', () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push('--b', `Content-Disposition: form-data; name="f${i}"`, '', `v${i}`);
    lines.push('--b--');
    const started = performance.now();
    const parsed = parse(crlf(...lines), 'multipart/form-data; boundary=b');
    assert.equal(parsed.fields.length, 20_000);
    assert.ok(performance.now() - started < 2_000, 'parsed 20 000 parts within 2 s');
  });
});
