/**
 * The response cache: 200 responses of GET and HEAD on routes with `cache: true`, keyed by
 * path and canonically sorted query (the method is not part of the key, so a HEAD is answered
 * from a GET and the reverse). Each entry lives for its route's TTL.
 *
 * Where entries live is a `CacheBackend`: this process's memory (bounded in entries, the
 * default), or a Redis server that several replicas share (`redis-cache.ts`). The memory
 * backend answers synchronously, so a request on the default configuration never waits for a
 * promise; only a backend that has to ask another server returns one.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { CacheBackendConfig } from '../config/index.js';
import { RedisCacheBackend } from './redis-cache.js';

export interface CachedResponse {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly etag: string;
  /** `Date.now()` when stored, for the `Age` header. */
  readonly storedAt: number;
}

/** Cache keys by request target as sent: a cached route is mostly asked the same few. */
const keysByTarget = new Map<string, string>();
/** Past this many, the remembered keys are forgotten and gathered anew. */
const MAX_REMEMBERED_KEYS = 4096;
/** Longer targets are not remembered, so the memory this takes stays small (a few MB at most). */
const MAX_REMEMBERED_TARGET_CHARS = 256;

/** The cache key of a request target (path and query, as sent): the path plus the query's pairs sorted by name, then value. */
export function cacheKey(target: string): string {
  let key = keysByTarget.get(target);
  if (key === undefined) {
    const queryAt = target.indexOf('?');
    const rawQuery = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    key = rawQuery === '' ? path : `${path}?${canonicalQuery(rawQuery)}`;
    if (target.length <= MAX_REMEMBERED_TARGET_CHARS) {
      if (keysByTarget.size >= MAX_REMEMBERED_KEYS) keysByTarget.clear();
      keysByTarget.set(target, key);
    }
  }
  return key;
}

/** A query's pairs sorted by name, then value, and encoded again. */
function canonicalQuery(rawQuery: string): string {
  const pairs = [...new URLSearchParams(rawQuery)];
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return new URLSearchParams(pairs).toString();
}

/** A strong validator for a body. */
export function etagOf(body: Uint8Array): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** True when an `If-None-Match` header names `etag` (or is `*`). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/** A value now, or a promise of it when it has to be fetched from another server. */
export type MaybePromise<T> = T | Promise<T>;

/** What a cache backend reports about itself, for /stats and the logs. */
export interface CacheBackendStatus {
  readonly backend: CacheBackendConfig['backend'];
  /** False while the backend cannot be used: requests are then served without a cache. */
  readonly available: boolean;
  /** Times the backend became unavailable since it was made. */
  readonly outages: number;
  /** Lookups and stores skipped or abandoned because the backend was unavailable or slow. */
  readonly bypassed: number;
  /** Entries held in this process; null when they live in another server. */
  readonly entries: number | null;
}

/**
 * Where cached responses are kept. Neither method ever rejects or throws for the backend's
 * own failures: a backend that cannot answer answers "not cached" (and says so in its
 * status and its log), so the cache can slow a request down by at most its timeout and never
 * fail it.
 */
export interface CacheBackend {
  /** The fresh entry stored under `key`, if any. */
  get(key: string): MaybePromise<CachedResponse | undefined>;
  /** Keeps `entry` under `key` for `ttlMs`; settles once stored, or given up on. */
  set(key: string, entry: CachedResponse, ttlMs: number): MaybePromise<void>;
  status(): CacheBackendStatus;
  /** Lets go of connections and timers; later calls answer "not cached". */
  close(): Promise<void>;
}

/** The default backend: a bounded LRU in this process's memory, answering synchronously. */
export class MemoryCacheBackend implements CacheBackend {
  private readonly entries: LRUCache<string, CachedResponse>;

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: Math.max(1, maxEntries), ttlAutopurge: false });
  }

  get(key: string): CachedResponse | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: CachedResponse, ttlMs: number): void {
    this.entries.set(key, entry, { ttl: ttlMs });
  }

  status(): CacheBackendStatus {
    return { backend: 'memory', available: true, outages: 0, bypassed: 0, entries: this.entries.size };
  }

  clear(): void {
    this.entries.clear();
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

/**
 * The backend `config` asks for: memory bounded by `maxEntries`, or Redis (which connects in
 * the background; until it is connected, requests are served without it). `logger` hears
 * of outages, once each.
 */
export function createCacheBackend(config: CacheBackendConfig, maxEntries: number, logger: Pick<Logger, 'info' | 'warn'>): CacheBackend {
  if (config.backend === 'memory') return new MemoryCacheBackend(maxEntries);
  // The schema makes url required for redis; this guards callers that build a config by hand.
  if (config.url === undefined) throw new TypeError('the redis cache backend needs a url');
  return new RedisCacheBackend({ url: config.url, keyPrefix: config.key_prefix, timeoutMs: config.timeout_ms, logger });
}

/** True when two cache configs would make the same backend, so a reload can keep the one it has. */
export function sameCacheBackend(a: CacheBackendConfig, b: CacheBackendConfig): boolean {
  return a.backend === b.backend && a.url === b.url && a.key_prefix === b.key_prefix && a.timeout_ms === b.timeout_ms;
}

/**
 * The cache as the request handler uses it: entries made (with their ETag) and counted as hits
 * and misses here, kept by a `CacheBackend`. Results are synchronous whenever the backend's are.
 */
export class ResponseCache {
  readonly backend: CacheBackend;
  hits = 0;
  misses = 0;

  /** `backend`, or a number: the most entries of a memory backend. */
  constructor(backendOrMaxEntries: CacheBackend | number) {
    this.backend = typeof backendOrMaxEntries === 'number' ? new MemoryCacheBackend(backendOrMaxEntries) : backendOrMaxEntries;
  }

  /** The fresh entry for `key`, counted as a hit or a miss. */
  get(key: string): MaybePromise<CachedResponse | undefined> {
    const found = this.backend.get(key);
    return found instanceof Promise ? found.then((entry) => this.count(entry)) : this.count(found);
  }

  /**
   * The fresh entry for `key` when this process holds it (a memory backend), counted as a
   * hit; undefined, and not counted, otherwise: the caller then asks `get` as usual.
   */
  heldEntry(key: string): CachedResponse | undefined {
    if (!(this.backend instanceof MemoryCacheBackend)) return undefined;
    const entry = this.backend.get(key);
    if (entry !== undefined) this.hits += 1;
    return entry;
  }

  /**
   * Makes the entry for a response and stores it for `ttlSeconds`; returns the entry once
   * stored (or given up on), so a client that saw a MISS finds the entry from any replica.
   */
  set(key: string, body: Uint8Array, contentType: string, ttlSeconds: number): MaybePromise<CachedResponse> {
    const entry: CachedResponse = { body, contentType, etag: etagOf(body), storedAt: Date.now() };
    if (ttlSeconds <= 0) return entry;
    const stored = this.backend.set(key, entry, ttlSeconds * 1000);
    return stored instanceof Promise ? stored.then(() => entry) : entry;
  }

  /** Entries held in this process (0 when the backend keeps them elsewhere). */
  get size(): number {
    return this.backend.status().entries ?? 0;
  }

  clear(): void {
    if (this.backend instanceof MemoryCacheBackend) this.backend.clear();
  }

  private count(entry: CachedResponse | undefined): CachedResponse | undefined {
    if (entry === undefined) this.misses += 1;
    else this.hits += 1;
    return entry;
  }
}
