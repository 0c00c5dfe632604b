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
import type { RenderedResponse } from './front/response.js';
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
  /** The HTTP front's: sends as `writeHead` then `end` would, and returns the response rendered, when worth keeping. */
  endRendered?(status: number, headers: OutgoingHttpHeaders, body?: Uint8Array): RenderedResponse | undefined;
  /** The HTTP front's: sends a rendered response with another request id; false, having sent nothing, when it does not fit. */
  sendRendered?(rendered: RenderedResponse, requestId: string): boolean;
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
  const entry = cache.heldEntry(cacheKey(request.url ?? '/'));
  return entry === undefined ? undefined : { route, entry };
}

/** A hit's response kept rendered, with the age it tells. */
interface KeptHit {
  readonly age: number;
  readonly rendered: RenderedResponse;
}

/** The responses kept rendered for an entry: its 200 to a GET, to a HEAD, and its 304. */
interface KeptHits {
  get?: KeptHit;
  head?: KeptHit;
  notModified?: KeptHit;
}

/**
 * Hits' responses rendered once and sent again, by entry, while their `Date` and `Age` hold:
 * within a second, a busy entry's responses differ only in their request id. Kept as long as
 * the entry is.
 */
const keptHits = new WeakMap<CachedResponse, KeptHits>();

/** Sends `entry` (or 304 when the client holds it) with `requestId` as the `X-Request-Id`. */
export function sendCachedHit(request: DirectRequest, response: DirectResponse, requestId: string, { entry }: CachedHit): SentHit {
  const notModified = matchesEtag(request.headers['if-none-match'], entry.etag);
  const sent: SentHit = notModified ? { status: 304, bytes: 0 } : { status: 200, bytes: entry.body.byteLength };
  const age = Math.floor((Date.now() - entry.storedAt) / 1000);
  const kind = notModified ? 'notModified' : request.method === 'HEAD' ? 'head' : 'get';
  let kept = keptHits.get(entry);
  const hit = kept?.[kind];
  if (hit !== undefined && hit.age === age && response.sendRendered?.(hit.rendered, requestId) === true) return sent;

  const headers: OutgoingHttpHeaders = { 'x-request-id': requestId, 'x-cache': 'HIT', etag: entry.etag, age: String(age) };
  if (!notModified) {
    headers['content-type'] = entry.contentType;
    headers['content-length'] = entry.body.byteLength;
  }
  if (response.endRendered === undefined) {
    // Node sends no body for HEAD, whatever is passed to end().
    response.writeHead(sent.status, headers).end(notModified ? undefined : entry.body);
    return sent;
  }
  const rendered = response.endRendered(sent.status, headers, notModified ? undefined : entry.body);
  if (rendered !== undefined) {
    if (kept === undefined) keptHits.set(entry, (kept = {}));
    kept[kind] = { age, rendered };
  }
  return sent;
}
