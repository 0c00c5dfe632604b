/**
 * `multipart/form-data` request bodies (RFC 7578), parsed in memory. The body is already
 * whole and bounded by the route's `max_body_bytes`, so a streaming parser would buy nothing;
 * this one is a handful of `indexOf` calls over the buffer, linear in its size, and copies
 * only the text fields it decodes.
 *
 * What browsers, curl and fetch's `FormData` send is accepted: a preamble and epilogue, CRLF
 * line ends, transport padding after a boundary, part header names in any case, raw UTF-8 in
 * names and file names, the `%22`/`%0D`/`%0A` escapes of the HTML standard, and RFC 5987's
 * `filename*`. What cannot be read as a form (no boundary, a missing closing delimiter, a
 * part whose headers never end) is a `MultipartError`.
 */
import { MultipartError } from './errors.js';
import { parseMediaType } from './request.js';

/** A file part, described rather than carried: the bytes stay in the request body. */
export interface FormFile {
  /** The form field's name. */
  readonly field: string;
  /** The file name as the client sent it ('' for a file input left empty). */
  readonly filename: string;
  /** The part's Content-Type; `text/plain` when absent, the default of RFC 7578. */
  readonly contentType: string;
  /** Size of the file's content in bytes. */
  readonly size: number;
}

/** The parts of a form, in the order the client sent them. */
export interface MultipartForm {
  /** Text fields as `[name, value]`, repeats kept. */
  readonly fields: readonly (readonly [string, string])[];
  readonly files: readonly FormFile[];
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
// RFC 2046 `bchars`: digits, letters, '()+_,-./:=? and space (never last); 1 to 70 of them.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const text = new TextDecoder('utf-8');

/**
 * The boundary of a `multipart/form-data` Content-Type header value. Throws `MultipartError`
 * when it has none or an invalid one, since no part could then be found.
 */
export function multipartBoundary(contentType: string): string {
  const boundary = parseMediaType(contentType).parameters.get('boundary');
  if (boundary === undefined) throw new MultipartError('the Content-Type header has no boundary parameter');
  if (!BOUNDARY.test(boundary)) {
    throw new MultipartError(`invalid boundary ${JSON.stringify(boundary)}: expected 1 to 70 letters, digits or '()+_,-./:=? (RFC 2046)`);
  }
  return boundary;
}

/** Whether a transport padding (spaces, tabs) and a CRLF, or `--`, follow `at`: a boundary line's end. */
function boundaryLineEnd(body: Buffer, at: number): number | 'close' | undefined {
  if (body[at] === DASH && body[at + 1] === DASH) return 'close';
  let i = at;
  while (body[i] === 0x20 || body[i] === 0x09) i++;
  return body[i] === CR && body[i + 1] === LF ? i + 2 : undefined;
}

/**
 * The next `CRLF--boundary` at or after `from` that really ends a part (a boundary line, not
 * the same bytes inside the content followed by something else), or undefined.
 */
function nextDelimiter(body: Buffer, delimiter: Buffer, from: number): { at: number; end: number | 'close' } | undefined {
  let at = body.indexOf(delimiter, from);
  while (at !== -1) {
    const end = boundaryLineEnd(body, at + delimiter.byteLength);
    if (end !== undefined) return { at, end };
    at = body.indexOf(delimiter, at + 1);
  }
  return undefined;
}

/** HTML's escapes in form-data names: the three characters that would break the header. */
function unescapeName(name: string): string {
  return name.replace(/%0A/gi, '\n').replace(/%0D/gi, '\r').replace(/%22/g, '"');
}

/** An RFC 5987 ext-value (`UTF-8''na%C3%AFve.txt`), or undefined when it cannot be decoded. */
function decodeExtendedValue(value: string): string | undefined {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (match === null) return undefined;
  const charset = (match[1] as string).toLowerCase();
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') return undefined;
  const bytes: number[] = [];
  const encoded = match[2] as string;
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded[i] === '%' ? encoded.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(encoded[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString(charset === 'utf-8' ? 'utf8' : 'latin1');
}

/** The part's header fields by lower-case name; the first of a repeated name wins. */
function partHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Parses a `multipart/form-data` body whose Content-Type header value is `contentType`.
 * Parts without a filename are text fields, decoded as UTF-8 (invalid bytes become U+FFFD);
 * parts with one, even an empty one, are files, described by their size. Parts that are not
 * `form-data` or have no name are skipped, as RFC 7578 requires both. An empty body is an
 * empty form. Throws `MultipartError` saying what is wrong when the body cannot be parsed.
 */
export function parseMultipartForm(body: Uint8Array, contentType: string): MultipartForm {
  const boundary = multipartBoundary(contentType);
  const fields: [string, string][] = [];
  const files: FormFile[] = [];
  if (body.byteLength === 0) return { fields, files };
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');

  // The first boundary opens the body, or ends a preamble that the parser ignores.
  let boundaryEnd = bytes.subarray(0, dashBoundary.byteLength).equals(dashBoundary)
    ? boundaryLineEnd(bytes, dashBoundary.byteLength) : undefined;
  boundaryEnd ??= nextDelimiter(bytes, delimiter, 0)?.end;
  if (boundaryEnd === undefined) throw new MultipartError(`no line of the body is the boundary ${JSON.stringify(`--${boundary}`)} that the Content-Type header announces`);

  let partNumber = 0;
  while (boundaryEnd !== 'close') {
    partNumber++;
    const headersStart: number = boundaryEnd;
    let contentStart: number;
    let block: string;
    if (bytes[headersStart] === CR && bytes[headersStart + 1] === LF) {
      block = '';
      contentStart = headersStart + 2;
    } else {
      const headersEnd = bytes.indexOf(CRLF_CRLF, headersStart);
      const nextBoundary = bytes.indexOf(delimiter, headersStart);
      if (headersEnd === -1 || (nextBoundary !== -1 && nextBoundary < headersEnd)) throw new MultipartError(`part ${partNumber} has no blank line after its headers`);
      block = text.decode(bytes.subarray(headersStart, headersEnd));
      contentStart = headersEnd + CRLF_CRLF.byteLength;
    }
    const next = nextDelimiter(bytes, delimiter, contentStart);
    if (next === undefined) {
      throw new MultipartError(`part ${partNumber} is not followed by a boundary: the body is cut short or its closing "--${boundary}--" is missing`);
    }
    addPart(partHeaders(block), bytes.subarray(contentStart, next.at), fields, files);
    boundaryEnd = next.end;
  }
  return { fields, files };
}

function addPart(headers: Map<string, string>, content: Buffer, fields: [string, string][], files: FormFile[]): void {
  const disposition = parseMediaType(headers.get('content-disposition') ?? '', { quotedPairs: false });
  const name = disposition.parameters.get('name');
  if (disposition.type !== 'form-data' || name === undefined) return;
  const field = unescapeName(name);
  const extended = disposition.parameters.get('filename*');
  const filename = (extended === undefined ? undefined : decodeExtendedValue(extended)) ?? disposition.parameters.get('filename');
  if (filename === undefined) {
    fields.push([field, text.decode(content)]);
    return;
  }
  files.push({
    field,
    filename: unescapeName(filename),
    contentType: headers.get('content-type') || 'text/plain',
    size: content.byteLength,
  });
}
