/**
 * The request heads the HTTP front answers itself, read strictly.
 *
 * The front takes only the simplest requests: a GET or HEAD in HTTP/1.1, in origin form,
 * whose whole head has arrived, with exactly one `Host`, no body (neither `Content-Length` nor
 * `Transfer-Encoding`), no `Expect` or `Upgrade`, no header twice, and nothing outside
 * printable ASCII. Every line must end in CRLF. Anything else, however legal, is `FOREIGN`:
 * the connection is handed to `node:http` from that byte on, and it answers (or refuses) as
 * it always does. Reading less than `node:http` would accept is what keeps the two from ever
 * disagreeing about where a request ends, which is what request smuggling needs.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A head the front may answer: what it asks for, and how many bytes it took. */
export interface RequestHead {
  readonly method: 'GET' | 'HEAD';
  /** The request target as sent: path and query. */
  readonly target: string;
  /** Lower-case names, as `node:http` gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The client asked to close the connection after the response (`Connection: close`). */
  readonly close: boolean;
  /** The head's length in bytes, its closing blank line included. */
  readonly length: number;
}

/** The head has not fully arrived. */
export const INCOMPLETE = 'incomplete';
/** Not a head the front answers: `node:http` reads it. */
export const FOREIGN = 'foreign';

export type HeadReading = RequestHead | typeof INCOMPLETE | typeof FOREIGN;

/** `node:http`'s default `maxHeaderSize`: a longer head is `node:http`'s to refuse (431). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** More header lines than any browser sends: such a head is left to `node:http`. */
export const MAX_HEADER_LINES = 100;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const HASH = 0x23;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** RFC 9110 `tchar`: the bytes of a header name. */
const TOKEN = new Uint8Array(256);
for (const char of "!#$%&'*+-.^_`|~") TOKEN[char.charCodeAt(0)] = 1;
for (let byte = 0x30; byte <= 0x39; byte++) TOKEN[byte] = 1;
for (let byte = 0x41; byte <= 0x5a; byte++) TOKEN[byte] = 1;
for (let byte = 0x61; byte <= 0x7a; byte++) TOKEN[byte] = 1;

/** Printable ASCII and tab: what the front accepts in a header value (no obs-text, no controls). */
const VALUE = new Uint8Array(256);
VALUE[HTAB] = 1;
for (let byte = 0x20; byte <= 0x7e; byte++) VALUE[byte] = 1;

/**
 * Header names most requests carry, in lower case. One of them is found in the head without
 * making a string of it and lowering its case: the constant is used, whose hash is known.
 */
const COMMON_NAMES = [
  'host', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'connection', 'cache-control', 'cookie', 'referer',
  'origin', 'pragma', 'if-none-match', 'if-modified-since', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto',
  'x-real-ip', 'authorization', 'sec-fetch-dest', 'sec-fetch-mode', 'sec-fetch-site', 'sec-fetch-user', 'sec-ch-ua',
  'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'upgrade-insecure-requests', 'priority', 'dnt', 'te',
  'content-length', 'transfer-encoding', 'expect', 'upgrade',
];
/** `COMMON_NAMES` by length. */
const COMMON_NAMES_BY_LENGTH: string[][] = [];
for (const name of COMMON_NAMES) (COMMON_NAMES_BY_LENGTH[name.length] ??= []).push(name);

/**
 * The common name `text` holds from `start` to `end`, in any case, if it is one. The bytes
 * there are token characters, for which `code | 0x20` is the lower case of a letter and
 * leaves `-` and digits as they are.
 */
function commonName(text: string, start: number, end: number): string | undefined {
  const candidates = COMMON_NAMES_BY_LENGTH[end - start];
  if (candidates === undefined) return undefined;
  candidates: for (const name of candidates) {
    for (let index = 0; index < name.length; index++) {
      if ((text.charCodeAt(start + index) | 0x20) !== name.charCodeAt(index)) continue candidates;
    }
    return name;
  }
  return undefined;
}

/** Headers that frame a body or change the connection: a head with any is `node:http`'s. */
const FOREIGN_HEADERS = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'http2-settings', '__proto__']);

/**
 * Reads the request head at the start of `bytes`. Returns the head, `INCOMPLETE` when its end
 * has not arrived (and it is not yet too long to be the front's), or `FOREIGN`.
 */
export function readRequestHead(bytes: Buffer): HeadReading {
  const end = bytes.indexOf(HEAD_END);
  if (end === -1) return bytes.length >= MAX_HEAD_BYTES ? FOREIGN : INCOMPLETE;
  const length = end + HEAD_END.length;
  if (length > MAX_HEAD_BYTES) return FOREIGN;
  // One conversion for the whole head; every byte is then a char code (latin1 maps them 1:1).
  const text = bytes.toString('latin1', 0, length);
  let method: 'GET' | 'HEAD';
  let at: number;
  if (text.startsWith('GET /')) {
    method = 'GET';
    at = 4;
  } else if (text.startsWith('HEAD /')) {
    method = 'HEAD';
    at = 5;
  } else {
    return FOREIGN;
  }
  // Origin form only: a path, then printable ASCII up to the space (no fragment).
  const targetStart = at;
  for (; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === SP) break;
    if (code < SP || code >= 0x7f || code === HASH) return FOREIGN;
  }
  if (!text.startsWith(' HTTP/1.1\r\n', at)) return FOREIGN;
  const target = text.slice(targetStart, at);
  at += 11;
  const headers: IncomingHttpHeaders = {};
  let close = false;
  let hosts = 0;
  let lines = 0;
  // Each pass reads one `name: value` line; the head's end (its blank line) is at `end + 2`.
  while (at < end + 2) {
    if (++lines > MAX_HEADER_LINES) return FOREIGN;
    const nameStart = at;
    let upper = false;
    for (let code = text.charCodeAt(at); TOKEN[code] === 1; code = text.charCodeAt(++at)) {
      if (code <= 0x5a && code >= 0x41) upper = true;
    }
    if (at === nameStart || text.charCodeAt(at) !== COLON) return FOREIGN;
    const name = commonName(text, nameStart, at) ?? (upper ? text.slice(nameStart, at).toLowerCase() : text.slice(nameStart, at));
    at++;
    let code = text.charCodeAt(at);
    while (code === SP || code === HTAB) code = text.charCodeAt(++at);
    const valueStart = at;
    let valueEnd = at;
    for (; code !== CR; code = text.charCodeAt(++at)) {
      if (VALUE[code] !== 1) return FOREIGN;
      if (code !== SP && code !== HTAB) valueEnd = at + 1;
    }
    if (text.charCodeAt(at + 1) !== LF) return FOREIGN;
    at += 2;
    if (FOREIGN_HEADERS.has(name) || headers[name] !== undefined) return FOREIGN;
    const value = text.slice(valueStart, valueEnd);
    if (name === 'host') hosts++;
    else if (name === 'connection') {
      const asked = connectionOption(value);
      if (asked === undefined) return FOREIGN;
      close = asked === 'close';
    }
    headers[name] = value;
  }
  if (hosts !== 1) return FOREIGN;
  return { method, target, headers, close, length };
}

/** `close` or `keep-alive` for a `Connection` value of only those options, else undefined. */
function connectionOption(value: string): 'close' | 'keep-alive' | undefined {
  let asked: 'close' | 'keep-alive' | undefined;
  for (const option of value.toLowerCase().split(',')) {
    const trimmed = option.trim();
    if (trimmed === 'close') asked = 'close';
    else if (trimmed === 'keep-alive') asked ??= 'keep-alive';
    else return undefined;
  }
  return asked;
}
