/**
 * A response of the HTTP front, written to the socket in one piece: the head as `node:http`
 * would write it (status line, the given headers, `Date`, and the connection's fate), then
 * the body. Only the calls the direct path makes are offered: `writeHead`, then `end`.
 */
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import { InvalidResponseHeaderError } from '../errors.js';

/** What a response needs of its connection. */
export interface ResponseTarget {
  /**
   * Writes a response: its head (latin1 text) and its body, if any. `close` when the
   * connection ends with it.
   */
  send(head: string, body: Uint8Array | undefined, close: boolean): void;
  /** Writes a whole response, head and body, given as bytes. */
  sendBytes(bytes: Uint8Array, close: boolean): void;
  /** The `Keep-Alive: timeout=` to announce, in seconds (0: none). */
  readonly keepAliveSeconds: number;
}

/** A header name `node:http` would refuse (`ERR_INVALID_HTTP_TOKEN`): not an RFC 9110 token. */
const INVALID_NAME = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** Names found valid, so the usual few are not checked on every response; bounded, as a CGI module names its own. */
const validNames = new Set<string>();
const MAX_VALID_NAMES = 256;
/** A header value `node:http` would refuse (`ERR_INVALID_CHAR`). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

let dateSecond = Number.NaN;
let dateText = '';

/** The `Date` header's value now, formatted once a second as `node:http` does; `dateSecond` is its second. */
function httpDateNow(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** One `name: value` line; throws for a value `node:http` would refuse. */
function headerLine(name: string, value: string | number): string {
  const text = typeof value === 'string' ? value : String(value);
  if (INVALID_VALUE.test(text)) throw new InvalidResponseHeaderError(name);
  return `${name}: ${text}\r\n`;
}

/** The line of the request id in a head, before its value. */
const REQUEST_ID_LINE = '\r\nx-request-id: ';
/** Bodies up to this size are rendered into a response kept for sending again. */
const MAX_RENDERED_BODY_BYTES = 4 * 1024;

/**
 * A whole response, head and body, rendered once to be sent again to requests that differ
 * only in their request id (`FrontResponse.endRendered`).
 */
export interface RenderedResponse {
  readonly bytes: Buffer;
  /** Where the value of `x-request-id` is in `bytes`, and its length. */
  readonly idAt: number;
  readonly idLength: number;
  /** The second of its `Date` header (`Date.now() / 1000`, rounded down). */
  readonly second: number;
  readonly status: number;
  /** Rendered for a HEAD request: without its body. */
  readonly headOnly: boolean;
}

/** Statuses whose response never has a body (RFC 9110 §6.4.1). */
function bodiless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

export class FrontResponse {
  statusCode = 200;
  headersSent = false;
  writableFinished = false;
  private head = '';
  private close: boolean;

  /** `head`: a HEAD request, answered without the body. `close`: the client asked to close. */
  constructor(private readonly target: ResponseTarget, private readonly headOnly: boolean, close: boolean) {
    this.close = close;
  }

  /** Sets the status and the headers; throws `InvalidResponseHeaderError` (errors.ts) for one `node:http` refuses. */
  writeHead(status: number, headers: OutgoingHttpHeaders): this {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${status}`);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let hasDate = false;
    let close = this.close;
    let announced = false;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (!validNames.has(name)) {
        if (INVALID_NAME.test(name) || name === '') throw new InvalidResponseHeaderError(name);
        if (validNames.size < MAX_VALID_NAMES) validNames.add(name);
      }
      const lower = name.toLowerCase();
      if (lower === 'date') hasDate = true;
      else if (lower === 'connection') {
        announced = true;
        if (/(?:^|,)\s*close\s*(?:,|$)/i.test(String(value))) close = true;
      }
      if (typeof value === 'object') {
        for (const item of value) head += headerLine(name, item);
      } else {
        head += headerLine(name, value);
      }
    }
    if (!hasDate) head += `Date: ${httpDateNow()}\r\n`;
    if (!announced) {
      const { keepAliveSeconds } = this.target;
      head += close ? 'Connection: close\r\n' : keepAliveSeconds > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n` : 'Connection: keep-alive\r\n';
    }
    this.head = `${head}\r\n`;
    this.close = close;
    this.statusCode = status;
    return this;
  }

  /** Sends the head and `body` (none for HEAD and bodiless statuses). */
  end(body?: Uint8Array): void {
    if (this.writableFinished) return;
    if (this.head === '') this.writeHead(this.statusCode, {});
    this.headersSent = true;
    this.writableFinished = true;
    this.target.send(this.head, this.sendsBody(body) ? body : undefined, this.close);
  }

  /**
   * Sends what `writeHead(status, headers)` then `end(body)` would, and returns it rendered,
   * for `sendRendered` to send to the next requests; undefined when it is not worth keeping:
   * the connection closes after it, it has no `x-request-id` of one value, or its body is large.
   * Throws, having sent nothing, as `writeHead` does.
   */
  endRendered(status: number, headers: OutgoingHttpHeaders, body?: Uint8Array): RenderedResponse | undefined {
    this.writeHead(status, headers);
    const sendBody = this.sendsBody(body);
    const requestId = headers['x-request-id'];
    const idAt = this.head.indexOf(REQUEST_ID_LINE);
    if (this.close || typeof requestId !== 'string' || idAt === -1 || (sendBody && body.byteLength > MAX_RENDERED_BODY_BYTES)) {
      this.end(body);
      return undefined;
    }
    const { head } = this;
    const bytes = Buffer.allocUnsafe(head.length + (sendBody ? body.byteLength : 0));
    bytes.write(head, 0, 'latin1');
    if (sendBody) bytes.set(body, head.length);
    this.headersSent = true;
    this.writableFinished = true;
    this.target.sendBytes(bytes, false);
    return {
      bytes, idAt: idAt + REQUEST_ID_LINE.length, idLength: requestId.length, second: dateSecond, status,
      headOnly: this.headOnly,
    };
  }

  /**
   * Sends `rendered` with `requestId` (printable ASCII, as every request id is) in place of the
   * request id it was rendered with; false, having sent nothing, when it does not fit: its
   * `Date` is past, the id is not as long, the request is not of the same kind (HEAD or
   * not), or the connection closes after this response.
   */
  sendRendered(rendered: RenderedResponse, requestId: string): boolean {
    if (this.close || this.writableFinished || requestId.length !== rendered.idLength || rendered.headOnly !== this.headOnly ||
      rendered.second !== Math.floor(Date.now() / 1000)) return false;
    const bytes = Buffer.allocUnsafe(rendered.bytes.length);
    bytes.set(rendered.bytes);
    bytes.write(requestId, rendered.idAt, 'latin1');
    this.statusCode = rendered.status;
    this.headersSent = true;
    this.writableFinished = true;
    this.target.sendBytes(bytes, false);
    return true;
  }

  private sendsBody(body: Uint8Array | undefined): body is Uint8Array {
    return body !== undefined && body.byteLength > 0 && !this.headOnly && !bodiless(this.statusCode);
  }
}
