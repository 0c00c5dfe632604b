/**
 * Instrument requests answered before the framework sees them: read by the HTTP front
 * (`front/`) or by `node:http`.
 *
 * A GET or HEAD without a body needs none of the framework's per-request machinery (request
 * and reply objects, hooks, a body parser, a child logger), which costs more than a short
 * instrument's whole run. This path takes only requests it can answer exactly as the full
 * path would: a GET or HEAD without a body, on an instrument route that answers the method,
 * at a path no built-in page may claim. Anything else goes the full way.
 *
 * A hit of the memory cache is answered here at once; other requests are served by the same
 * instrument handler as on the full path, with a `DirectReply`.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { AnsweredRequest } from './access-log.js';
import type { RouteConfig } from '../config/index.js';
import { allowedMethods } from './instrument-handler.js';
import { cacheKey, matchesEtag, type CachedResponse, type ResponseCache } from './response-cache.js';
import type { RouteMatch, Router } from './router.js';

/** A request as this path reads it: `node:http`'s request, or the HTTP front's. */
export interface DirectRequest extends AnsweredRequest {
  readonly socket: Socket;
}

/** A response as this path writes it: `node:http`'s response, or the HTTP front's. */
export interface DirectResponse {
  readonly headersSent: boolean;
  readonly statusCode: number;
  readonly writableFinished: boolean;
  /** Throws, having sent nothing, for a header `node:http` refuses. */
  writeHead(status: number, headers: OutgoingHttpHeaders): DirectResponse;
  end(body?: Uint8Array): unknown;
}

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

function hasBody(request: DirectRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The route match of a request this path may answer, else undefined. `reservedPaths` are the
 * built-in pages' paths, which this path never answers; paths with `%` or `;` are left to the
 * framework's router too, which decodes them before matching.
 */
export function directMatch(request: DirectRequest, router: Router, reservedPaths: ReadonlySet<string>): RouteMatch | undefined {
  const { method } = request;
  if ((method !== 'GET' && method !== 'HEAD') || hasBody(request)) return undefined;
  const path = pathOf(request.url ?? '/');
  if (reservedPaths.has(path) || path.includes('%') || path.includes(';')) return undefined;
  const match = router.match(path);
  return match !== undefined && allowedMethods(match.route).includes(method) ? match : undefined;
}

function pathOf(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? url : url.slice(0, queryAt);
}

/** The entry of the memory cache that answers `request` on `match`, if it holds one (counted as a hit). */
export function findCachedHit(request: DirectRequest, { route }: RouteMatch, cache: ResponseCache): CachedHit | undefined {
  if (!route.cache || route.protocol === 'cgi') return undefined;
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const entry = cache.heldEntry(cacheKey(pathOf(url), queryAt === -1 ? '' : url.slice(queryAt + 1)));
  return entry === undefined ? undefined : { route, entry };
}

/** Sends `entry` (or 304 when the client holds it) with `requestId` as the `X-Request-Id`. */
export function sendCachedHit(request: DirectRequest, response: DirectResponse, requestId: string, { entry }: CachedHit): SentHit {
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
