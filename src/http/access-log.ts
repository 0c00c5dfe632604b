/**
 * The access log: one line per instrument request, written through the server's logger as
 * a structured object, and its rendering in the Apache combined format that Go WASIO printed
 * (for `--log-format apache`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { InstrumentTrace } from './instrument-handler.js';

/** The message of every access-log line. */
export const ACCESS_LOG_MESSAGE = 'request';

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

/** pino's number for `info`, the level of every access line. */
const INFO_LEVEL = 30;

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

const jsonField = (name: string, value: string | number | undefined): string =>
  value === undefined ? '' : `,"${name}":${typeof value === 'number' ? String(value) : JSON.stringify(value)}`;

/**
 * The access-log line, exactly as pino writes `logger.info({ reqId, ...fields }, 'request')`
 * for the server's logger (no base fields, ISO time; fields left undefined are left out).
 * Written by hand because it is written for every request: pino's general serializer took
 * several times as long, a measurable part of a cache hit's cost. A test holds it to pino's
 * own output.
 */
export function accessLogLine(time: string, requestId: string, fields: AccessLogFields): string {
  return `{"level":${INFO_LEVEL},"time":"${time}"${jsonField('reqId', requestId)}${jsonField('method', fields.method)}` +
    `${jsonField('path', fields.path)}${jsonField('status', fields.status)}${jsonField('bytes', fields.bytes)}` +
    `${jsonField('durationMs', fields.durationMs)}${jsonField('route', fields.route)}${jsonField('cache', fields.cache)}` +
    `${jsonField('instanceMs', fields.instanceMs)}${jsonField('queueMs', fields.queueMs)}${jsonField('error', fields.error)}` +
    `${jsonField('remoteAddress', fields.remoteAddress)}${jsonField('httpVersion', fields.httpVersion)}` +
    `${jsonField('referer', fields.referer)}${jsonField('userAgent', fields.userAgent)},"msg":"${ACCESS_LOG_MESSAGE}"}\n`;
}

/**
 * A log destination that can make a line later, when it writes its batch, rather than now:
 * an access line's fields are kept and formatted with the others of the batch.
 */
export interface DeferredLines {
  /** Writes `format(time, requestId, fields)` in its place among the lines, when the batch is written. */
  writeLater(format: typeof accessLogLine, time: string, requestId: string, fields: AccessLogFields): void;
}

/** True when `output` can make lines later (`DeferredLines`). */
export function defersLines(output: object): output is DeferredLines {
  return typeof (output as Partial<DeferredLines>).writeLater === 'function';
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
