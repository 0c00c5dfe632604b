/**
 * The `cgi` guest protocol, compatible with WAGI: the request goes in as a CGI 1.1
 * environment, argv and stdin; the guest answers with a header block, a blank line and the
 * body. Unlike WAGI, header order and repeated headers (several `Set-Cookie`) are kept, and
 * a bad header block is reported precisely instead of crashing or being half-used.
 */
import type { InstrumentRequest } from './request.js';

export const SERVER_SOFTWARE = 'WASIO';

/** Where the request was matched: the route as written and what its trailing `*` covered. */
export interface CgiRouteMatch {
  readonly route: string;
  /** The raw (still percent-encoded) remainder matched by `*`, without a leading `/`. */
  readonly rest: string;
}

/** A header block that cannot be used; the message says what is wrong, for the log and the 502. */
export class CgiOutputError extends Error {
  override readonly name = 'CgiOutputError';
  readonly code = 'WASIO_ERR_CGI_OUTPUT';
}

export interface CgiResponse {
  readonly status: number;
  /** In the order the guest wrote them, repeats kept. Names as written. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function hostAndPort(host: string | undefined, tls: boolean): [string, string] {
  const fallbackPort = tls ? '443' : '80';
  if (host === undefined || host === '') return ['localhost', fallbackPort];
  const bracket = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.lastIndexOf(':');
  if (colon > bracket && colon !== -1) return [host.slice(0, colon), host.slice(colon + 1) || fallbackPort];
  return [host, fallbackPort];
}

/**
 * The CGI environment of a request. `configured` (the route's `env`) comes first, so the
 * request's own variables always win over it, as in WAGI.
 */
export function cgiEnvironment(
  request: InstrumentRequest, match: CgiRouteMatch, configured: Readonly<Record<string, string>>,
): Record<string, string> {
  const [serverName, serverPort] = hostAndPort(request.headers['host'], request.tls);
  const rawPathInfo = match.rest === '' ? '' : `/${match.rest}`;
  // The part of the path the route matched, parameters filled in (as Spin sets it).
  const scriptName = request.path.slice(0, request.path.length - rawPathInfo.length);
  const pathInfo = safeDecode(rawPathInfo);
  const query = request.rawQuery === '' ? '' : `?${request.rawQuery}`;
  const env: Record<string, string> = { ...configured };
  for (const [name, value] of Object.entries(request.headers)) {
    env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  }
  for (const [name, value] of Object.entries(request.pathParams)) {
    env[`X_PATH_MATCH_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  }
  Object.assign(env, {
    AUTH_TYPE: '',
    CONTENT_LENGTH: String(request.body.byteLength),
    CONTENT_TYPE: request.headers['content-type'] ?? '',
    GATEWAY_INTERFACE: 'CGI/1.1',
    PATH_INFO: pathInfo,
    PATH_TRANSLATED: pathInfo,
    QUERY_STRING: request.rawQuery,
    REMOTE_ADDR: request.remoteAddress,
    REMOTE_HOST: request.remoteAddress,
    REMOTE_USER: '',
    REQUEST_METHOD: request.method,
    SCRIPT_NAME: scriptName,
    SERVER_NAME: serverName,
    SERVER_PORT: serverPort,
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
    SERVER_SOFTWARE,
    X_FULL_URL: `${request.tls ? 'https' : 'http'}://${request.headers['host'] ?? `${serverName}:${serverPort}`}${request.path}${query}`,
    X_MATCHED_ROUTE: match.route,
    X_RAW_PATH_INFO: rawPathInfo,
  });
  return env;
}

/** argv as WAGI builds it: the request path, then the query split on `&`. */
export function cgiArgs(request: InstrumentRequest): string[] {
  return request.rawQuery === '' ? [request.path] : [request.path, ...request.rawQuery.split('&')];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values: visible characters, spaces and tabs, and bytes from obs-text; no controls.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Finds the blank line that ends the header block: its start and the body's start. */
function headerEnd(output: Uint8Array): [number, number] | undefined {
  for (let i = 0; i < output.byteLength; i++) {
    if (output[i] !== 0x0a) continue;
    if (output[i + 1] === 0x0a) return [i, i + 2];
    if (output[i + 1] === 0x0d && output[i + 2] === 0x0a) return [i, i + 3];
  }
  return undefined;
}

/**
 * Splits a guest's stdout into status, headers and body. `Status` wins; `Location` alone
 * means 302; otherwise 200. Throws `CgiOutputError` naming what is missing or invalid.
 */
export function parseCgiOutput(output: Uint8Array): CgiResponse {
  const end = headerEnd(output);
  if (end === undefined) {
    throw new CgiOutputError(output.byteLength === 0
      ? 'the module wrote nothing: expected a header block (Content-Type, Status or Location), a blank line, then the body'
      : 'no header block: expected header lines (Content-Type, Status or Location) ended by a blank line before the body');
  }
  const block = Buffer.from(output.buffer, output.byteOffset, end[0]).toString('latin1');
  const headers: [string, string][] = [];
  let status: number | undefined;
  let location = false;
  let contentType = false;
  for (const rawLine of block.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CgiOutputError(`invalid header line ${JSON.stringify(line)}: expected "Name: value"`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) throw new CgiOutputError(`invalid header name ${JSON.stringify(name)}`);
    if (!FIELD_VALUE.test(value)) throw new CgiOutputError(`invalid value for header ${name}: it contains control characters`);
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const match = /^(\d{3})(?:\s.*)?$/.exec(value);
      const code = match === null ? NaN : Number(match[1]);
      if (!(code >= 100 && code <= 599)) throw new CgiOutputError(`invalid Status ${JSON.stringify(value)}: expected a code from 100 to 599`);
      status = code;
      continue;
    }
    if (lower === 'location') location = true;
    if (lower === 'content-type') contentType = true;
    headers.push([name, value]);
  }
  if (status === undefined && !location && !contentType) {
    throw new CgiOutputError('the header block has no Content-Type, Status or Location');
  }
  return { status: status ?? (location ? 302 : 200), headers, body: output.subarray(end[1]) };
}
