/**
 * A reply written straight to `node:http` or the HTTP front, with what the framework's reply
 * would have sent for the calls the instrument handler makes: lower-case header names,
 * `content-length` from the payload, `text/plain; charset=utf-8` for a string and
 * `application/octet-stream` for bytes when no type was given. The handler sends without a
 * payload only a 304, which has no length.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { DirectResponse } from './direct-path.js';
import type { InstrumentReply } from './instrument-handler.js';

export class DirectReply implements InstrumentReply {
  private status = 200;
  private readonly headers: OutgoingHttpHeaders = {};
  /** What was sent, for the access log. */
  sent: { readonly status: number; readonly bytes: number } | undefined;

  /** `closing` is asked when the reply is sent: a closing server keeps no connection alive past it. */
  constructor(readonly raw: DirectResponse, private readonly closing: () => boolean) {}

  code(status: number): this {
    this.status = status;
    return this;
  }

  header(name: string, value: string | number | readonly string[]): this {
    this.headers[name.toLowerCase()] = typeof value === 'object' ? [...value] : value;
    return this;
  }

  type(contentType: string): this {
    return this.header('content-type', contentType);
  }

  send(payload?: string | Buffer): void {
    if (this.sent !== undefined) return;
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    if (body !== undefined) {
      this.headers['content-type'] ??= typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
      this.headers['content-length'] = body.byteLength;
    }
    if (this.closing()) this.headers['connection'] = 'close';
    // Node sends no body for HEAD, whatever is passed to end(). writeHead throws, having sent
    // nothing, for a header it refuses.
    this.raw.writeHead(this.status, this.headers);
    this.sent = { status: this.status, bytes: body?.byteLength ?? 0 };
    this.raw.end(body);
  }
}
