/**
 * The response cache: 200 responses of GET and HEAD on routes with `cache: true`, keyed by
 * path and canonically sorted query (the method is not part of the key, so a HEAD is answered
 * from a GET and the reverse). Bounded in entries; each entry lives for its route's TTL.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface CachedResponse {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly etag: string;
  /** `Date.now()` when stored, for the `Age` header. */
  readonly storedAt: number;
}

/** The cache key: path plus the query's pairs sorted by name, then value. */
export function cacheKey(path: string, rawQuery: string): string {
  if (rawQuery === '') return path;
  const pairs = [...new URLSearchParams(rawQuery)];
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return `${path}?${new URLSearchParams(pairs).toString()}`;
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

export class ResponseCache {
  private readonly entries: LRUCache<string, CachedResponse>;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: Math.max(1, maxEntries), ttlAutopurge: false });
  }

  get(key: string): CachedResponse | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) this.misses += 1;
    else this.hits += 1;
    return entry;
  }

  set(key: string, body: Uint8Array, contentType: string, ttlSeconds: number): CachedResponse {
    const entry: CachedResponse = { body, contentType, etag: etagOf(body), storedAt: Date.now() };
    if (ttlSeconds > 0) this.entries.set(key, entry, { ttl: ttlSeconds * 1000 });
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
