/**
 * One connection read by the HTTP front: requests are read from its bytes and answered one at
 * a time, in order, until one is not the front's (`readRequestHead`) or the handler declines
 * it. From that request's first byte on, the connection is handed to `node:http` for good.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { readRequestHead, type RequestHead } from './request-head.js';
import { FrontResponse, type ResponseTarget } from './response.js';

/** A request read by the front, with the fields of `node:http`'s request that the handler reads. */
export class FrontRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion = '1.1';

  constructor(head: RequestHead, readonly socket: Socket) {
    this.method = head.method;
    this.url = head.target;
    this.headers = head.headers;
  }
}

/**
 * Answers a request and returns true, or returns false having written nothing: the request
 * then goes to `node:http`.
 */
export type FrontHandler = (request: FrontRequest, response: FrontResponse) => boolean;

/** What a connection needs of the front that accepted it. */
export interface ConnectionHost {
  readonly handler: FrontHandler;
  /** How long a connection may wait for its next request before it is closed. */
  readonly keepAliveTimeoutMs: number;
  /** Gives `socket` to `node:http`, as if it had just been accepted. */
  handOff(socket: Socket): void;
  /** The connection is no longer the front's: closed or handed off. */
  forget(connection: FrontConnection): void;
  /** The handler threw: the connection has been destroyed. */
  failed(error: unknown): void;
}

/** Bytes read ahead while a response is pending (pipelining), past which reading stops. */
const MAX_READ_AHEAD_BYTES = 64 * 1024;
/** A body up to this size is copied behind its head into one write; a larger one follows it. */
const MAX_COPIED_BODY_BYTES = 16 * 1024;

export class FrontConnection implements ResponseTarget {
  /** Bytes received and not yet read as a request. */
  private pending: Buffer | undefined;
  /** A request is being answered; the next waits. */
  private answering = false;
  /** Inside `readRequests`, which a response sent at once must not re-enter. */
  private reading = false;
  /** The client has sent all it will (half-closed). */
  private ended = false;
  /** The connection is ending, or is `node:http`'s: nothing more is read. */
  private done = false;
  /** Reading waits until the client has read the responses written so far. */
  private waitingForDrain = false;
  /** When the connection last became idle: accepted, or its last response sent (`Date.now()`). */
  private idleSince = Date.now();

  private readonly onData = (chunk: Buffer): void => {
    // Bytes after the last request the front will answer (after `Connection: close`) are not kept.
    if (this.done) return;
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.answering) this.readRequests();
    else if (this.pending.length > MAX_READ_AHEAD_BYTES) this.socket.pause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.answering) {
      this.readRequests();
      return;
    }
    // As `node:http` takes it: a client that stops sending while its answer is pending has
    // gone, and what it asked for is abandoned (a run sees its connection destroyed and stops).
    this.done = true;
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.done = true;
    this.host.forget(this);
  };

  /** A socket error is followed by its `close`, which is all the front needs to know. */
  private readonly onError = (): void => {};

  constructor(readonly socket: Socket, private readonly host: ConnectionHost) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  get keepAliveSeconds(): number {
    return Math.floor(this.host.keepAliveTimeoutMs / 1000);
  }

  /** Closes the connection unless a request is being answered (the server is stopping). */
  closeIfIdle(): void {
    if (!this.answering) this.socket.destroy();
  }

  /** Closes the connection if it has waited for a request since `deadline` (a `Date.now()`) or longer. */
  closeIfIdleSince(deadline: number): void {
    if (!this.answering && this.idleSince <= deadline) this.socket.destroy();
  }

  send(head: string, body: Uint8Array | undefined, close: boolean): void {
    const { socket } = this;
    if (!socket.destroyed) {
      if (body === undefined) {
        socket.write(head, 'latin1');
      } else if (body.byteLength <= MAX_COPIED_BODY_BYTES) {
        const bytes = Buffer.allocUnsafe(head.length + body.byteLength);
        bytes.write(head, 0, 'latin1');
        bytes.set(body, head.length);
        socket.write(bytes);
      } else {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
    }
    this.sent(close);
  }

  sendBytes(bytes: Uint8Array, close: boolean): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
    this.sent(close);
  }

  /** A response is out: the next request may be read, or the connection ends with it. */
  private sent(close: boolean): void {
    const { socket } = this;
    this.answering = false;
    this.idleSince = Date.now();
    if (close) {
      this.done = true;
      // Nothing more is read. As `node:http` does after `Connection: close`, the socket closes
      // once the response is out.
      socket.pause();
      socket.end(() => socket.destroy());
      return;
    }
    this.readRequests();
  }

  /** Answers the requests received, one at a time, until one must wait or is not the front's. */
  private readRequests(): void {
    if (this.reading) return;
    this.reading = true;
    try {
      while (!this.answering && !this.done) {
        const pending = this.pending;
        if (pending === undefined) {
          if (this.ended) this.endConnection();
          break;
        }
        if (this.socket.writableNeedDrain) {
          // The client is not reading its responses: read no more requests until it does.
          this.socket.pause();
          if (!this.waitingForDrain) {
            this.waitingForDrain = true;
            this.socket.once('drain', () => {
              this.waitingForDrain = false;
              this.readRequests();
            });
          }
          break;
        }
        const head = readRequestHead(pending);
        if (typeof head === 'string') {
          this.handOff();
          break;
        }
        this.pending = head.length === pending.length ? undefined : pending.subarray(head.length);
        this.answering = true;
        if (!this.answer(head)) {
          this.pending = pending;
          this.answering = false;
          this.handOff();
          break;
        }
      }
    } finally {
      this.reading = false;
    }
    if (!this.answering && !this.done && !this.waitingForDrain && this.socket.isPaused()) this.socket.resume();
  }

  /** Passes one request to the handler: false when it declined it. */
  private answer(head: RequestHead): boolean {
    try {
      return this.host.handler(new FrontRequest(head, this.socket), new FrontResponse(this, head.method === 'HEAD', head.close));
    } catch (error) {
      this.done = true;
      this.socket.destroy();
      this.host.failed(error);
      return true;
    }
  }

  private endConnection(): void {
    this.done = true;
    this.socket.end();
  }

  private detach(): void {
    const { socket } = this;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    this.host.forget(this);
  }

  /**
   * Gives the connection to `node:http` with every byte not yet answered, in order: what is
   * pending here, then what the socket holds while paused, then what arrives next.
   */
  private handOff(): void {
    this.done = true;
    this.detach();
    const { socket } = this;
    let unread = this.pending;
    this.pending = undefined;
    if (socket.isPaused()) {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) {
        unread = unread === undefined ? chunk : Buffer.concat([unread, chunk]);
      }
    }
    this.host.handOff(socket);
    if (unread !== undefined) socket.emit('data', unread);
    if (socket.isPaused()) socket.resume();
    // `node:http` learns of a half-close only from the event, which came while the socket was the front's.
    if (this.ended) socket.emit('end');
  }
}
