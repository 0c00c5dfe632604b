/**
 * Access lines written as bytes, straight into a log batch: the JSON line pino writes for
 * `logger.info({ reqId, ...fields }, 'request')`, byte for byte (`accessLogLine` in
 * `access-log.ts` is this encoder's output as text).
 *
 * Made for every request, the line was a measurable part of a cache hit's cost: fifteen
 * small strings joined, the batch of them flattened, then encoded again as UTF-8. Here each
 * field is written where it goes, and the parts that repeat from one line to the next (the
 * request's method and path, its route, its client) are copied from the previous line rather
 * than written again: the lines of a busy server mostly differ in their time, request id and
 * duration.
 */
import type { AccessLogFields } from './access-log.js';

/** pino's number for `info`, the level of every access line. */
const INFO_LEVEL = 30;
/** The message of every access-log line. */
export const ACCESS_LOG_MESSAGE = 'request';

const QUOTE = 0x22;
const DOT = 0x2e;
const ZERO = 0x30;

/** The ASCII characters `JSON.stringify` writes as they are in a string: printable, neither `"` nor `\`. */
const VERBATIM = new Uint8Array(128);
for (let code = 0x20; code < 0x7f; code++) VERBATIM[code] = 1;
VERBATIM[QUOTE] = 0;
VERBATIM[0x5c] = 0;

/** Integers up to this are written digit by digit; larger ones, and fractions that are not hundredths, by `String`. */
const MAX_DIGITS_VALUE = 1e15;
/**
 * Room for everything of a line but its strings: names and punctuation (about 200 bytes), the
 * time (24) and five numbers of at most 24 bytes each (`-1.2345678901234567e-308`).
 */
const FIXED_BYTES = 512;
/** The most bytes a string's UTF-16 unit can take in JSON: `\u001f`. */
const BYTES_PER_UNIT = 6;

/** Writes `text`, known to be printable ASCII. */
function writeAscii(target: Uint8Array, at: number, text: string): number {
  for (let index = 0; index < text.length; index++) target[at++] = text.charCodeAt(index);
  return at;
}

/** Writes `text` as a JSON string, as `JSON.stringify` does (non-ASCII text as UTF-8). */
function writeString(target: Buffer, at: number, text: string): number {
  const start = at;
  target[at++] = QUOTE;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0x80 || VERBATIM[code] !== 1) return start + target.write(JSON.stringify(text), start, 'utf8');
    target[at++] = code;
  }
  target[at++] = QUOTE;
  return at;
}

function writeInteger(target: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  const end = at + digits;
  for (let place = end - 1, rest = value; place >= at; place--, rest = Math.floor(rest / 10)) target[place] = ZERO + (rest % 10);
  return end;
}

/**
 * Writes `value` as `String(value)` would: a whole number or a number of hundredths (every
 * time in a line is rounded to them) digit by digit, anything else through `String`.
 */
function writeNumber(target: Uint8Array, at: number, value: number): number {
  const hundredths = Math.round(value * 100);
  if (!(hundredths >= 0 && hundredths < MAX_DIGITS_VALUE && hundredths / 100 === value)) return writeAscii(target, at, String(value));
  at = writeInteger(target, at, Math.floor(hundredths / 100));
  const fraction = hundredths % 100;
  if (fraction === 0) return at;
  target[at++] = DOT;
  target[at++] = ZERO + Math.floor(fraction / 10);
  if (fraction % 10 !== 0) target[at++] = ZERO + (fraction % 10);
  return at;
}

function writeField(target: Buffer, at: number, name: string, value: string | number | undefined): number {
  if (value === undefined) return at;
  at = writeAscii(target, at, name);
  return typeof value === 'number' ? writeNumber(target, at, value) : writeString(target, at, value);
}

/** A part of the previous line, kept with the fields it was made from. */
interface Kept {
  readonly from: AccessLogFields;
  readonly bytes: Buffer;
}

/** The bytes of `target` from `start` to `end`, kept with the fields they were made from. */
function keep(target: Buffer, start: number, end: number, from: AccessLogFields): Kept {
  return { from, bytes: Buffer.from(target.subarray(start, end)) };
}

/** Writes the kept part at `at`; returns where it ends. */
function writeKept(target: Buffer, at: number, kept: Kept): number {
  target.set(kept.bytes, at);
  return at + kept.bytes.length;
}

/** `,"method":…,"path":…,"status":…,"bytes":…,"durationMs":` */
function writeRequestPart(target: Buffer, at: number, fields: AccessLogFields): number {
  at = writeField(target, at, ',"method":', fields.method);
  at = writeField(target, at, ',"path":', fields.path);
  at = writeField(target, at, ',"status":', fields.status);
  at = writeField(target, at, ',"bytes":', fields.bytes);
  return writeAscii(target, at, ',"durationMs":');
}

const sameRequest = (a: AccessLogFields, b: AccessLogFields): boolean =>
  a.method === b.method && a.path === b.path && a.status === b.status && a.bytes === b.bytes;

/** `,"route":…,"cache":…` */
function writeRoutePart(target: Buffer, at: number, fields: AccessLogFields): number {
  at = writeField(target, at, ',"route":', fields.route);
  return writeField(target, at, ',"cache":', fields.cache);
}

const sameRoute = (a: AccessLogFields, b: AccessLogFields): boolean => a.route === b.route && a.cache === b.cache;

/** `,"remoteAddress":…,"httpVersion":…,"referer":…,"userAgent":…,"msg":"request"}` and the newline. */
function writeClientPart(target: Buffer, at: number, fields: AccessLogFields): number {
  at = writeField(target, at, ',"remoteAddress":', fields.remoteAddress);
  at = writeField(target, at, ',"httpVersion":', fields.httpVersion);
  at = writeField(target, at, ',"referer":', fields.referer);
  at = writeField(target, at, ',"userAgent":', fields.userAgent);
  return writeAscii(target, at, `,"msg":"${ACCESS_LOG_MESSAGE}"}\n`);
}

const sameClient = (a: AccessLogFields, b: AccessLogFields): boolean =>
  a.remoteAddress === b.remoteAddress && a.httpVersion === b.httpVersion && a.referer === b.referer && a.userAgent === b.userAgent;

export class AccessLineEncoder {
  /** The previous line's request part (`writeRequestPart`). */
  private request: Kept | undefined;
  /** The previous line's route part (`writeRoutePart`). */
  private route: Kept | undefined;
  /** The previous line's client part (`writeClientPart`). */
  private client: Kept | undefined;

  /** The most bytes the line of `requestId` and `fields` can take. */
  static maxBytes(requestId: string, fields: AccessLogFields): number {
    const units = requestId.length + fields.method.length + fields.path.length + (fields.route?.length ?? 0) + (fields.error?.length ?? 0) +
      fields.remoteAddress.length + fields.httpVersion.length + (fields.referer?.length ?? 0) + (fields.userAgent?.length ?? 0);
    return FIXED_BYTES + BYTES_PER_UNIT * units;
  }

  /**
   * Writes the line of the request `requestId`, logged at `time` (ISO 8601), into `target`
   * from `at`, which must have `maxBytes` of room; returns where the line ends.
   */
  encode(target: Buffer, at: number, time: string, requestId: string, fields: AccessLogFields): number {
    at = writeAscii(target, at, `{"level":${INFO_LEVEL},"time":"`);
    at = writeAscii(target, at, time);
    target[at++] = QUOTE;
    at = writeField(target, at, ',"reqId":', requestId);

    const { request, route, client } = this;
    let start = at;
    if (request !== undefined && sameRequest(request.from, fields)) {
      at = writeKept(target, at, request);
    } else {
      at = writeRequestPart(target, at, fields);
      this.request = keep(target, start, at, fields);
    }
    at = writeNumber(target, at, fields.durationMs);

    start = at;
    if (route !== undefined && sameRoute(route.from, fields)) {
      at = writeKept(target, at, route);
    } else {
      at = writeRoutePart(target, at, fields);
      this.route = keep(target, start, at, fields);
    }
    at = writeField(target, at, ',"instanceMs":', fields.instanceMs);
    at = writeField(target, at, ',"queueMs":', fields.queueMs);
    at = writeField(target, at, ',"error":', fields.error);

    start = at;
    if (client !== undefined && sameClient(client.from, fields)) return writeKept(target, at, client);
    at = writeClientPart(target, at, fields);
    this.client = keep(target, start, at, fields);
    return at;
  }
}
