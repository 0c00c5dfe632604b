/**
 * Cache hits answered straight from `node:http`, before the framework sees the request.
 *
 * A hit needs no body, no instance and no hook, so the framework's per-request machinery
 * (request and reply objects, three hooks, a child logger) would be most of its cost. This
 * path answers only what it can answer exactly as the full path would: a GET or HEAD without
 * a body, on a cached `wasio` route, whose entry this process holds in memory. Anything else
 * (a miss, a Redis backend, a path a built-in page might claim) goes the full way.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { RouteConfig } from '../config/index.js';
import { allowedMethods } from './instrument-handler.js';
import { cacheKey, matchesEtag, type CachedResponse, type ResponseCache } from './response-cache.js';
import type { Router } from './router.js';

/** A request this path can answer: its route and the entry that answers it. */
export interface CachedHit {
  readonly route: RouteConfig;
  readonly entry: CachedResponse;
}

/** What was sent for a hit, for the access log and the counters. */
export interface SentHit {
  readonly status: 200 | 304;
  readonly bytes: number;
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The cached answer to `request` when this path can give it (counted as a hit), else undefined.
 * `reservedPaths` are the built-in pages' paths, which this path never answers; paths with
 * `%` or `;` are left to the framework's router too, which decodes them before matching.
 */
export function findCachedHit(
  request: IncomingMessage, state: { readonly router: Router; readonly cache: ResponseCache }, reservedPaths: ReadonlySet<string>,
): CachedHit | undefined {
  const { method } = request;
  if ((method !== 'GET' && method !== 'HEAD') || hasBody(request)) return undefined;
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (reservedPaths.has(path) || path.includes('%') || path.includes(';')) return undefined;
  const match = state.router.match(path);
  if (match === undefined) return undefined;
  const { route } = match;
  if (!route.cache || route.protocol === 'cgi' || !allowedMethods(route).includes(method)) return undefined;
  const entry = state.cache.heldEntry(cacheKey(path, queryAt === -1 ? '' : url.slice(queryAt + 1)));
  return entry === undefined ? undefined : { route, entry };
}

/** Sends `entry` (or 304 when the client holds it) with `requestId` as the `X-Request-Id`. */
export function sendCachedHit(request: IncomingMessage, response: ServerResponse, requestId: string, { entry }: CachedHit): SentHit {
  const headers: OutgoingHttpHeaders = {
    'x-request-id': requestId, 'x-cache': 'HIT', etag: entry.etag, age: String(Math.floor((Date.now() - entry.storedAt) / 1000)),
  };
  if (matchesEtag(request.headers['if-none-match'], entry.etag)) {
    response.writeHead(304, headers).end();
    return { status: 304, bytes: 0 };
  }
  headers['content-type'] = entry.contentType;
  headers['content-length'] = entry.body.byteLength;
  // Node sends no body for HEAD, whatever is passed to end().
  response.writeHead(200, headers).end(entry.body);
  return { status: 200, bytes: entry.body.byteLength };
}
