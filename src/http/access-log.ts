/**
 * The access log: one line per instrument request, written through the server's logger as
 * a structured object, and its rendering in the Apache combined format that Go WASIO printed
 * (for `--log-format apache`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ACCESS_LOG_MESSAGE, AccessLineEncoder } from './access-line-encoder.js';
import type { InstrumentTrace } from './instrument-handler.js';

export { ACCESS_LOG_MESSAGE } from './access-line-encoder.js';

/** The fields of an access-log line. Times are milliseconds rounded to 0.01. */
export interface AccessLogFields {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly path: string;
  readonly status: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly route: string | undefined;
  readonly cache: 'HIT' | 'MISS' | undefined;
  readonly instanceMs: number | undefined;
  readonly queueMs: number | undefined;
  readonly error: string | undefined;
  readonly remoteAddress: string;
  readonly httpVersion: string;
  readonly referer: string | undefined;
  readonly userAgent: string | undefined;
}

const roundMs = (ms: number): number => Math.round(ms * 100) / 100;

/** What the access log needs of a response that has been sent. */
export interface AnsweredResponse {
  readonly status: number;
  /** The Content-Length sent (0 when none). */
  readonly bytes: number;
  readonly durationMs: number;
}

/** What the access log reads of a request: `node:http`'s request has this shape, and so has the HTTP front's. */
export interface AnsweredRequest {
  readonly method?: string | undefined;
  /** The request target as sent: path and query. */
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** The access-log fields of a request that has been answered. */
export function accessLogFields(request: AnsweredRequest, response: AnsweredResponse, trace: InstrumentTrace): AccessLogFields {
  return {
    method: request.method ?? 'GET',
    path: request.url ?? '/',
    status: response.status,
    bytes: response.bytes,
    durationMs: roundMs(response.durationMs),
    route: trace.route,
    cache: trace.cache,
    instanceMs: trace.instanceMs === undefined ? undefined : roundMs(trace.instanceMs),
    queueMs: trace.queueMs === undefined ? undefined : roundMs(trace.queueMs),
    error: trace.error,
    remoteAddress: request.socket.remoteAddress ?? '',
    httpVersion: request.httpVersion,
    referer: request.headers.referer,
    userAgent: request.headers['user-agent'],
  };
}

let isoTimeMs = Number.NaN;
let isoTimeText = '';

/**
 * The time now in ISO 8601, as pino's `isoTime` writes it. Formatted once per millisecond: a
 * busy server logs many lines in the same one.
 */
export function isoTimeNow(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeText = new Date(now).toISOString();
  }
  return isoTimeText;
}

let lineEncoder: AccessLineEncoder | undefined;
let lineBytes = Buffer.alloc(0);

/**
 * The access-log line, exactly as pino writes `logger.info({ reqId, ...fields }, 'request')`
 * for the server's logger (no base fields, ISO time; fields left undefined are left out), as
 * text: what `AccessLineEncoder` writes as bytes. A test holds it to pino's own output.
 */
export function accessLogLine(time: string, requestId: string, fields: AccessLogFields): string {
  const room = AccessLineEncoder.maxBytes(requestId, fields);
  if (lineBytes.length < room) lineBytes = Buffer.allocUnsafe(room);
  lineEncoder ??= new AccessLineEncoder();
  return lineBytes.toString('utf8', 0, lineEncoder.encode(lineBytes, 0, time, requestId, fields));
}

/**
 * A log destination that writes access lines itself, as bytes into its batch
 * (`AccessLineEncoder`), rather than being handed them as text.
 */
export interface AccessLineOutput {
  /** Writes the line of `requestId` logged at `time`, in its place among the other lines. */
  writeAccessLine(time: string, requestId: string, fields: AccessLogFields): void;
}

/** True when `output` writes access lines itself (`AccessLineOutput`). */
export function writesAccessLines(output: object): output is AccessLineOutput {
  return typeof (output as Partial<AccessLineOutput>).writeAccessLine === 'function';
}

/** A log line as pino writes it, with its time and request id. */
export type LoggedAccessLine = AccessLogFields & { readonly msg: string; readonly time?: string | number; readonly reqId?: string };

/** True for the access-log lines among a log's parsed lines. */
export function isAccessLogLine(line: object): line is LoggedAccessLine {
  const fields = line as Readonly<Record<string, unknown>>;
  return fields['msg'] === ACCESS_LOG_MESSAGE && typeof fields['method'] === 'string' && typeof fields['status'] === 'number';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (value: number, width = 2): string => String(Math.trunc(value)).padStart(width, '0');

/** `10/Oct/2000:13:55:36 -0700`: Apache's `%t`, in the local time zone. */
export function apacheTime(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${pad(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${sign}${pad(Math.abs(offset) / 60)}${pad(Math.abs(offset) % 60)}`;
}

/** Quotes and backslashes escaped, control characters as `\xhh`, as Apache does, so a field cannot forge a line. */
function escapeField(text: string): string {
  return text.replace(/["\\\u0000-\u001f\u007f]/g, (char) =>
    char === '"' || char === '\\' ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The line in Apache combined format, as Go WASIO wrote it (`host - - [time] "request"
 * status bytes "referer" "user-agent"`, the time being when the request arrived), followed
 * by the quoted request id.
 */
export function combinedLogLine(line: LoggedAccessLine): string {
  const loggedAt = line.time === undefined ? Date.now() : new Date(line.time).getTime();
  const arrived = new Date(loggedAt - line.durationMs);
  const request = `${line.method} ${line.path} HTTP/${line.httpVersion}`;
  return `${line.remoteAddress} - - [${apacheTime(arrived)}] "${escapeField(request)}" ${line.status} ${line.bytes} ` +
    `"${escapeField(line.referer ?? '')}" "${escapeField(line.userAgent ?? '')}" "${escapeField(line.reqId ?? '')}"\n`;
}
