/**
 * The shared response cache: entries in a Redis server that every replica reads and writes,
 * so a response cached through one replica is a hit through all of them.
 *
 * The cache is an optimization, so Redis is never allowed to fail a request: when it cannot
 * be reached, or does not answer within `timeoutMs`, requests are served as misses and not
 * stored, a warning is logged once for the outage (not once per request), and a counter goes
 * up. While the connection is down, requests do not touch Redis at all (no promise, no
 * timer); ioredis reconnects in the background and the cache is used again from its `ready`.
 * A Redis that is connected but silent (stopped, overloaded) costs one timed-out lookup, then
 * is skipped for a second before one request tries it again.
 *
 * An entry is one Redis string written with `SET key value PX ttl`, so Redis expires it with
 * its route's TTL: a JSON header line (content type, ETag, time stored, format version), a
 * newline, then the body's bytes.
 *
 * ioredis is imported when the first Redis backend is made, so servers that cache in memory
 * never load it.
 */
import type { Logger } from 'pino';
import type { Redis as RedisClient } from 'ioredis';
import { CacheEntryError } from './errors.js';
import type { CacheBackend, CacheBackendStatus, CachedResponse } from './response-cache.js';

/** What a Redis backend needs to know. */
export interface RedisCacheOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://...` for TLS. */
  readonly url: string;
  /** Put before every key, so deployments can share one Redis. */
  readonly keyPrefix: string;
  /** How long a lookup may take before the request goes on without the cache. */
  readonly timeoutMs: number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

/** After a lookup timed out, requests skip Redis this long before one of them tries it again. */
const RETRY_AFTER_FAILURE_MS = 1_000;
/** The entry format this code writes and reads; another value is not ours. */
const FORMAT_VERSION = 1;
const NEWLINE = 0x0a;
const TIMED_OUT = Symbol('timed out');

/** Delay before reconnection attempt `attempt` (1, 2, ...): 100 ms doubling up to 1 s, forever. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 5), 1_000);
}

/** The URL with its password hidden, for logs. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}

/** Encodes an entry as the string stored in Redis: header line, newline, body. */
export function encodeCacheEntry(entry: CachedResponse): Buffer {
  const header = JSON.stringify({ v: FORMAT_VERSION, contentType: entry.contentType, etag: entry.etag, storedAt: entry.storedAt });
  return Buffer.concat([Buffer.from(`${header}\n`, 'utf8'), entry.body]);
}

/**
 * Decodes what `encodeCacheEntry` wrote. The body shares `stored`'s memory.
 *
 * @throws {CacheEntryError} `WASIO_ERR_CACHE_ENTRY` when `stored` is not such an entry.
 */
export function decodeCacheEntry(stored: Buffer): CachedResponse {
  const newline = stored.indexOf(NEWLINE);
  if (newline === -1) throw new CacheEntryError('no header line');
  let header: unknown;
  try {
    header = JSON.parse(stored.subarray(0, newline).toString('utf8'));
  } catch {
    throw new CacheEntryError('the header line is not JSON');
  }
  const { v, contentType, etag, storedAt } = (header ?? {}) as Record<string, unknown>;
  if (v !== FORMAT_VERSION) throw new CacheEntryError(`format version ${JSON.stringify(v)}, expected ${FORMAT_VERSION}`);
  if (typeof contentType !== 'string' || typeof etag !== 'string' || typeof storedAt !== 'number') {
    throw new CacheEntryError('the header lacks contentType, etag or storedAt');
  }
  return { body: stored.subarray(newline + 1), contentType, etag, storedAt };
}

type BackendState = 'connecting' | 'up' | 'down' | 'closed';

/** A `CacheBackend` in Redis; see the module's comment for how it degrades. */
export class RedisCacheBackend implements CacheBackend {
  private client: RedisClient | undefined;
  private state: BackendState = 'connecting';
  private downSince = 0;
  /** While down with the connection still open, when a request may try Redis again. */
  private retryAt = 0;
  /** A request is trying Redis after a failure; the others keep skipping it meanwhile. */
  private probing = false;
  private outages = 0;
  private bypassed = 0;
  private storeFailureLogged = false;
  private badEntryLogged = false;
  private readonly availableWaiters = new Set<() => void>();
  private readonly loading: Promise<void>;
  private readonly url: string;

  constructor(private readonly options: RedisCacheOptions) {
    this.url = redactedUrl(options.url);
    this.loading = import('ioredis').then(({ Redis }) => {
      if (this.state === 'closed') return;
      const client = new Redis(options.url, {
        connectionName: 'wasio',
        // Requests never wait for a connection: while there is none, they skip the cache.
        enableOfflineQueue: false,
        // Commands in flight when the connection drops fail at once instead of being resent.
        maxRetriesPerRequest: 0,
        connectTimeout: Math.max(1_000, options.timeoutMs * 10),
        retryStrategy: reconnectDelay,
      });
      client.on('ready', () => this.markUp());
      // An 'error' listener is required (ioredis prints unhandled ones); every reconnection
      // attempt that fails emits one, so only the first of an outage is logged (markDown).
      client.on('error', (error: Error) => this.markDown(error.message));
      client.on('close', () => this.markDown('connection closed'));
      this.client = client;
    }, (error: Error) => this.markDown(`the Redis client could not be loaded: ${error.message}`));
  }

  get(key: string): CachedResponse | undefined | Promise<CachedResponse | undefined> {
    const client = this.client;
    if (client === undefined || !this.usable(client)) {
      this.bypassed += 1;
      return undefined;
    }
    const probe = this.state !== 'up';
    if (probe) this.probing = true;
    return this.bounded(client.getBuffer(this.options.keyPrefix + key)).then((stored) => {
      if (probe) this.probing = false;
      if (stored === TIMED_OUT) {
        this.bypassed += 1;
        this.markDown(`no answer within ${this.options.timeoutMs} ms`);
        return undefined;
      }
      if (probe) this.markUp();
      return stored === null ? undefined : this.decode(key, stored);
    }, (error: Error) => {
      if (probe) this.probing = false;
      this.bypassed += 1;
      this.markDown(error.message);
      return undefined;
    });
  }

  set(key: string, entry: CachedResponse, ttlMs: number): void | Promise<void> {
    const client = this.client;
    if (client === undefined || this.state !== 'up') {
      this.bypassed += 1;
      return undefined;
    }
    const command = client.set(this.options.keyPrefix + key, encodeCacheEntry(entry), 'PX', Math.max(1, Math.round(ttlMs)));
    // A store that takes longer than the timeout is not awaited further, but not an outage
    // either: a large body takes time to send. Refusals (out of memory, no permission) are.
    return this.bounded(command).then((outcome) => {
      if (outcome === TIMED_OUT) this.bypassed += 1;
      else this.storeFailureLogged = false;
    }, (error: Error) => {
      this.bypassed += 1;
      if (this.storeFailureLogged) return;
      this.storeFailureLogged = true;
      this.options.logger.warn({ code: 'WASIO_ERR_CACHE_UNAVAILABLE', backend: 'redis', url: this.url, reason: error.message },
        'response cache refused to store a response; responses are not shared until it stores again');
    });
  }

  status(): CacheBackendStatus {
    return { backend: 'redis', available: this.state === 'up', outages: this.outages, bypassed: this.bypassed, entries: null };
  }

  /** Resolves true once the backend is usable, or false after `timeoutMs` (or when closed). */
  whenAvailable(timeoutMs: number): Promise<boolean> {
    if (this.state === 'up') return Promise.resolve(true);
    if (this.state === 'closed') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (available: boolean): void => {
        clearTimeout(timer);
        this.availableWaiters.delete(onAvailable);
        resolve(available);
      };
      const onAvailable = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.availableWaiters.add(onAvailable);
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const waiter of [...this.availableWaiters]) waiter();
    await this.loading;
    const client = this.client;
    if (client === undefined) return;
    if (client.status === 'ready') {
      // QUIT lets commands in flight finish; a silent Redis does not hold the shutdown.
      const quit = client.quit().then(() => undefined, () => undefined);
      await this.bounded(quit);
    }
    client.disconnect();
  }

  /** Whether a request may use Redis now; see the module's comment. */
  private usable(client: RedisClient): boolean {
    if (this.state === 'up') return true;
    return this.state === 'down' && client.status === 'ready' && !this.probing && Date.now() >= this.retryAt;
  }

  /** `command`'s outcome, or `TIMED_OUT` once `timeoutMs` has passed. */
  private bounded<T>(command: Promise<T>): Promise<T | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, this.options.timeoutMs, TIMED_OUT);
      timer.unref();
    });
    return Promise.race([command, deadline]).finally(() => clearTimeout(timer));
  }

  private decode(key: string, stored: Buffer): CachedResponse | undefined {
    try {
      return decodeCacheEntry(stored);
    } catch (error) {
      if (!(error instanceof CacheEntryError)) throw error;
      this.bypassed += 1;
      if (!this.badEntryLogged) {
        this.badEntryLogged = true;
        this.options.logger.warn({ code: error.code, backend: 'redis', key: this.options.keyPrefix + key, reason: error.message },
          'an entry in the response cache was not written by this version of WASIO; treating such entries as misses');
      }
      return undefined;
    }
  }

  private markUp(): void {
    if (this.state === 'closed' || this.state === 'up') return;
    const wasDown = this.state === 'down';
    this.state = 'up';
    this.retryAt = 0;
    if (wasDown) {
      this.options.logger.info({ backend: 'redis', url: this.url, downMs: Date.now() - this.downSince },
        'response cache available again');
    } else {
      this.options.logger.info({ backend: 'redis', url: this.url }, 'response cache connected');
    }
    for (const waiter of [...this.availableWaiters]) waiter();
  }

  /** Records a failure: the first of an outage is logged and counted, later ones only delay the next try. */
  private markDown(reason: string): void {
    if (this.state === 'closed') return;
    this.retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
    if (this.state === 'down') return;
    this.state = 'down';
    this.downSince = Date.now();
    this.outages += 1;
    this.options.logger.warn({ code: 'WASIO_ERR_CACHE_UNAVAILABLE', backend: 'redis', url: this.url, reason },
      'response cache unavailable; serving without it until it is back');
  }
}
