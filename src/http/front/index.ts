/**
 * The HTTP front: WASIO's own reader of the simplest HTTP/1.1 requests, in front of
 * `node:http` on plain (not TLS) connections.
 *
 * Most requests to an instrument are a GET with a short head and no body. For those,
 * `node:http`'s request and response objects cost more than a short instrument's whole run.
 * The front reads such requests straight from the socket and gives them to a handler (the
 * server's direct path); a request it does not read itself, or that the handler declines,
 * goes with its connection to `node:http`, which then serves that connection as if it had
 * accepted it.
 *
 * It takes the place of `node:http`'s own `connection` listener on the server, so the server
 * still listens, counts and closes every connection, and keeps its timeouts for those it is
 * handed.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { FrontConnection, type ConnectionHost, type FrontHandler } from './connection.js';

export { FrontRequest, type FrontHandler } from './connection.js';
export { FrontResponse } from './response.js';

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Bounds on how often idle connections are looked for: a quarter of the keep-alive timeout, within these. */
const MIN_SWEEP_MS = 50;
const MAX_SWEEP_MS = 1_000;

export class HttpFront implements ConnectionHost {
  private readonly connections = new Set<FrontConnection>();
  /**
   * Closes connections idle past the keep-alive timeout. One timer for all of them, as
   * `node:http` checks its own: a timer per socket would be moved on every read and write.
   */
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: Server,
    private readonly serveWithNode: ConnectionListener,
    readonly handler: FrontHandler,
    private readonly reportFailure: (error: unknown) => void,
  ) {}

  /**
   * Puts a front before `server`, answering with `handler`; `onFailure` hears of a handler
   * that threw. Returns undefined, leaving the server as it was, when the server's listeners
   * are not the one `node:http` registers (another version of Node, or one already changed).
   */
  static install(server: Server, handler: FrontHandler, onFailure: (error: unknown) => void): HttpFront | undefined {
    const listeners = server.listeners('connection') as ConnectionListener[];
    const serveWithNode = listeners[0];
    if (listeners.length !== 1 || serveWithNode === undefined) return undefined;
    server.removeListener('connection', serveWithNode);
    const front = new HttpFront(server, serveWithNode, handler, onFailure);
    server.on('connection', (socket: Socket) => front.accept(socket));
    return front;
  }

  private accept(socket: Socket): void {
    this.connections.add(new FrontConnection(socket, this));
    this.sweeper ??= this.scheduleSweep();
  }

  private scheduleSweep(): NodeJS.Timeout {
    const everyMs = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, this.keepAliveTimeoutMs / 4));
    // Unreferenced: an idle connection must not keep a stopped server's process alive.
    return setTimeout(() => {
      const timeoutMs = this.keepAliveTimeoutMs;
      // 0 means no timeout, as for `node:http`.
      if (timeoutMs > 0) {
        const deadline = Date.now() - timeoutMs;
        for (const connection of this.connections) connection.closeIfIdleSince(deadline);
      }
      this.sweeper = this.connections.size === 0 ? undefined : this.scheduleSweep();
    }, everyMs).unref();
  }

  get keepAliveTimeoutMs(): number {
    return this.server.keepAliveTimeout;
  }

  /** Connections the front reads now. */
  get size(): number {
    return this.connections.size;
  }

  handOff(socket: Socket): void {
    this.serveWithNode.call(this.server, socket);
  }

  forget(connection: FrontConnection): void {
    this.connections.delete(connection);
  }

  failed(error: unknown): void {
    this.reportFailure(error);
  }

  /** Closes every connection that is not answering a request (the server is stopping). */
  closeIdleConnections(): void {
    for (const connection of this.connections) connection.closeIfIdle();
  }
}
