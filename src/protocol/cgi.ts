/**
 * The `cgi` guest protocol, compatible with WAGI: the request goes in as a CGI 1.1
 * environment, argv and stdin; the guest answers with a header block, a blank line and the
 * body. Unlike WAGI, header order and repeated headers (several `Set-Cookie`) are kept, and
 * a bad header block is reported precisely instead of crashing or being half-used.
 */
import { CgiOutputError } from './errors.js';
import type { InstrumentRequest } from './request.js';

export const SERVER_SOFTWARE = 'WASIO';

/** Where the request was matched: the route as written and what its trailing `*` covered. */
export interface CgiRouteMatch {
  readonly route: string;
  /** The raw (still percent-encoded) remainder matched by `*`, without a leading `/`. */
  readonly rest: string;
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

const LF = 0x0a;
const CR = 0x0d;

/**
 * Headers that frame the response on the connection. The server frames the body it sends
 * itself, so a module's values could only contradict it (a `Content-Length` that is not the
 * body's, a `Transfer-Encoding` on a body that is not chunked) and are dropped, as RFC 3875
 * §6.3.4 allows.
 */
const FRAMING_HEADERS = new Set([
  'connection', 'content-length', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** Finds the blank line that ends the header block: where the block ends and the body starts. */
function headerEnd(output: Buffer): [number, number] | undefined {
  if (output[0] === LF) return [0, 1];
  if (output[0] === CR && output[1] === LF) return [0, 2];
  // indexOf finds each line end at memchr speed: the body after the block may be megabytes.
  for (let i = output.indexOf(LF); i !== -1; i = output.indexOf(LF, i + 1)) {
    if (output[i + 1] === LF) return [i, i + 2];
    if (output[i + 1] === CR && output[i + 2] === LF) return [i, i + 3];
  }
  return undefined;
}

/** The first line of `output`, shortened, for a message that shows what the module wrote. */
function firstLine(output: Buffer): string {
  const newline = output.indexOf(LF);
  const line = output.subarray(0, Math.min(newline === -1 ? output.byteLength : newline, 80)).toString('latin1');
  return JSON.stringify(line.endsWith('\r') ? line.slice(0, -1) : line);
}

/**
 * Splits a guest's stdout into status, headers and body. `Status` wins; `Location` alone
 * means 302; otherwise 200. Framing headers (`Content-Length`, `Transfer-Encoding`,
 * `Connection`, ...) are dropped: the server frames the body. Throws `CgiOutputError` naming
 * what is missing or invalid.
 */
export function parseCgiOutput(output: Uint8Array): CgiResponse {
  const bytes = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  const end = headerEnd(bytes);
  if (end === undefined) {
    throw new CgiOutputError(output.byteLength === 0
      ? 'the module wrote nothing: expected a header block (Content-Type, Status or Location), a blank line, then the body'
      : `no header block: expected header lines (Content-Type, Status or Location) ended by a blank line before the body, but the output starts with ${firstLine(bytes)} and has no blank line`);
  }
  if (end[0] === 0) {
    throw new CgiOutputError('the output starts with a blank line: the header block is empty (expected Content-Type, Status or Location before it)');
  }
  const block = bytes.subarray(0, end[0]).toString('latin1');
  const headers: [string, string][] = [];
  let status: number | undefined;
  let location = false;
  let contentType = false;
  for (const rawLine of block.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CgiOutputError(`invalid header line ${JSON.stringify(line)}: expected "Name: value"`);
    // Spaces before the colon are forgiven; before the name they would be a folded line.
    const name = line.slice(0, colon).trimEnd();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) throw new CgiOutputError(`invalid header name ${JSON.stringify(name)}: a name is letters, digits and !#$%&'*+-.^_\`|~ only`);
    if (!FIELD_VALUE.test(value)) throw new CgiOutputError(`invalid value for header ${name}: it contains control characters`);
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const match = /^(\d{3})(?:\s.*)?$/.exec(value);
      const code = match === null ? NaN : Number(match[1]);
      // 1xx are interim answers, never the final status of a response.
      if (!(code >= 200 && code <= 599)) throw new CgiOutputError(`invalid Status ${JSON.stringify(value)}: expected a code from 200 to 599`);
      status = code;
      continue;
    }
    if (lower === 'location') location = true;
    if (lower === 'content-type') contentType = true;
    if (FRAMING_HEADERS.has(lower)) continue;
    headers.push([name, value]);
  }
  if (status === undefined && !location && !contentType) {
    throw new CgiOutputError('the header block has no Content-Type, Status or Location');
  }
  return { status: status ?? (location ? 302 : 200), headers, body: output.subarray(end[1]) };
}
