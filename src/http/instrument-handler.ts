/**
 * Serving one request on an instrument route: method check, response cache, running the
 * module on the runtime, and turning its result (or failure) into an HTTP response.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { RouteConfig } from '../config/index.js';
import type { InstrumentRequest } from '../protocol/request.js';
import { cgiArgs, cgiEnvironment, parseCgiOutput } from '../protocol/cgi.js';
import { CgiOutputError, MultipartError } from '../protocol/errors.js';
import { encodeWasioPayload, nextSeed, wasioContentType } from '../protocol/wasio.js';
import { RuntimeError, RunFailure, type Runtime } from '../runtime/index.js';
import { cacheKey, matchesEtag, type CachedResponse, type ResponseCache } from './response-cache.js';
import type { RouteMatch } from './router.js';

/**
 * A request as the handler needs it, from the framework or straight from `node:http`
 * (`direct-path.ts`).
 */
export interface InstrumentCall {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The body read so far; empty when there is none. */
  readonly body: Uint8Array;
  readonly remoteAddress: string;
  readonly httpVersion: string;
  readonly tls: boolean;
  readonly socket: Socket;
  /** Logs with the request id. */
  readonly log: RequestLog;
}

export interface RequestLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** How the handler answers: the framework's reply has this shape, and so has `DirectReply`. */
export interface InstrumentReply {
  /** The response underneath, finished once the whole response is written. */
  readonly raw: { readonly writableFinished: boolean };
  code(status: number): InstrumentReply;
  header(name: string, value: string | number | readonly string[]): InstrumentReply;
  type(contentType: string): InstrumentReply;
  send(payload?: string | Buffer): unknown;
}

/** What the access log and the stats learn about one request. */
export interface InstrumentTrace {
  /** A built-in page: logged, but not counted as an instrument request. */
  builtin: boolean;
  route: string | undefined;
  cache: 'HIT' | 'MISS' | undefined;
  instanceMs: number | undefined;
  queueMs: number | undefined;
  error: string | undefined;
}

/** The status and short body for each way a run can fail. */
export function failureResponse(error: RuntimeError): { status: number; body: string } {
  switch (error.code) {
    case 'WASIO_ERR_TIMEOUT':
      return { status: 504, body: 'instrument timed out' };
    case 'WASIO_ERR_QUEUE_FULL':
    case 'WASIO_ERR_POOL_CLOSED':
      return { status: 503, body: 'server overloaded, retry later' };
    case 'WASIO_ERR_MODULE_LOAD':
      return { status: 500, body: 'instrument could not be loaded' };
    case 'WASIO_ERR_OUTPUT_LIMIT':
      return { status: 500, body: 'instrument output too large' };
    case 'WASIO_ERR_ABORTED':
      return { status: 499, body: 'client closed request' };
    default:
      return { status: 500, body: 'instrument failed' };
  }
}

/** Each route's answer of `allowedMethods`: a route is a frozen part of its config. */
const methodsOfRoute = new WeakMap<RouteConfig, readonly string[]>();

/** Methods a route answers: HEAD wherever GET is. */
export function allowedMethods(route: RouteConfig): readonly string[] {
  let methods = methodsOfRoute.get(route);
  if (methods === undefined) {
    const listed = [...route.methods];
    if (listed.includes('GET') && !listed.includes('HEAD')) listed.push('HEAD');
    methods = Object.freeze(listed);
    methodsOfRoute.set(route, methods);
  }
  return methods;
}

function headerRecord(request: InstrumentCall): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function sendCached(reply: InstrumentReply, entry: CachedResponse, status: 'HIT' | 'MISS', ifNoneMatch: string | undefined): void {
  reply.header('x-cache', status).header('etag', entry.etag).header('age', Math.floor((Date.now() - entry.storedAt) / 1000));
  if (matchesEtag(ifNoneMatch, entry.etag)) {
    reply.code(304).send();
    return;
  }
  reply.code(200).header('content-type', entry.contentType).send(Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength));
}

function logStderr(request: InstrumentCall, route: string, stderr: Uint8Array): void {
  if (stderr.byteLength === 0) return;
  for (const line of Buffer.from(stderr.buffer, stderr.byteOffset, stderr.byteLength).toString('utf8').split('\n')) {
    if (line !== '') request.log.info({ route, stream: 'stderr' }, line);
  }
}

function sendCgi(request: InstrumentCall, reply: InstrumentReply, route: string, stdout: Uint8Array, trace: InstrumentTrace): void {
  let response;
  try {
    response = parseCgiOutput(stdout);
  } catch (error) {
    if (!(error instanceof CgiOutputError)) throw error;
    trace.error = error.code;
    request.log.error({ route, code: error.code }, `bad CGI output: ${error.message}`);
    reply.code(502).type('text/plain; charset=utf-8').send(`bad gateway: ${error.message}`);
    return;
  }
  const grouped = new Map<string, string[]>();
  for (const [name, value] of response.headers) {
    // The request id names the request in the log; a module's own value would break the link.
    if (name.toLowerCase() === 'x-request-id') continue;
    const values = grouped.get(name.toLowerCase());
    if (values === undefined) grouped.set(name.toLowerCase(), [value]);
    else values.push(value);
  }
  for (const [name, values] of grouped) reply.header(name, values.length === 1 ? values[0] as string : values);
  reply.code(response.status).send(Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength));
}

/**
 * Answers `request` from `match.route`. Always sends a response, except when the client went
 * away, and fills `trace` for the access log.
 */
export async function serveInstrument(
  request: InstrumentCall, reply: InstrumentReply, match: RouteMatch, runtime: Runtime, cache: ResponseCache, trace: InstrumentTrace,
): Promise<void> {
  const { route } = match;
  trace.route = route.path;
  const allowed = allowedMethods(route);
  if (!allowed.includes(request.method)) {
    reply.code(405).header('allow', allowed.join(', ')).type('text/plain; charset=utf-8').send('method not allowed');
    return;
  }
  const url = request.url;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? '' : url.slice(queryAt + 1);
  const cgi = route.protocol === 'cgi';
  // A CGI response is more than a body (status, cookies), so only wasio routes are cached.
  const cacheable = route.cache && !cgi && (request.method === 'GET' || request.method === 'HEAD');
  const key = cacheable ? cacheKey(url) : '';
  const ifNoneMatch = request.headers['if-none-match'];
  if (cacheable) {
    // Only a backend that asks another server returns a promise; memory answers at once.
    const found = cache.get(key);
    const hit = found instanceof Promise ? await found : found;
    if (hit !== undefined) {
      trace.cache = 'HIT';
      sendCached(reply, hit, 'HIT', ifNoneMatch);
      return;
    }
    trace.cache = 'MISS';
  }

  const { body } = request;
  const instrumentRequest: InstrumentRequest = {
    method: request.method, path, rawQuery, route: route.path, pathParams: match.params,
    headers: headerRecord(request), body, remoteAddress: request.remoteAddress, httpVersion: request.httpVersion,
    tls: request.tls,
  };
  // The client went away when its connection closed before the response was sent. Read when
  // the pool polls, so a request pays for no controller and no listener.
  const { socket } = request;
  const clientGone = { get aborted(): boolean { return socket.destroyed && !reply.raw.writableFinished; } };
  try {
    const outcome = await runtime.invoke({
      wasmFile: route.wasm_file,
      memoryLimitMb: route.memory_limit_mb,
      spec: {
        args: cgi ? cgiArgs(instrumentRequest) : [route.wasm_file, ...route.args],
        env: cgi ? cgiEnvironment(instrumentRequest, { route: route.path, rest: match.rest }, route.env) : route.env,
        stdin: cgi ? body : encodeWasioPayload(instrumentRequest, nextSeed()),
        mounts: route.mounts.map((mount) => ({ guest: mount.guest, host: mount.host, readonly: mount.readonly })),
        maxOutputBytes: route.max_output_bytes,
      },
      group: route.path,
      timeoutMs: route.timeout_ms,
      maxConcurrency: route.max_concurrency ?? undefined,
      signal: clientGone,
    });
    trace.instanceMs = outcome.runMs;
    trace.queueMs = outcome.queueMs;
    logStderr(request, route.path, outcome.stderr);
    if (outcome.exitCode !== 0) {
      trace.error = outcome.memoryLimitHit ? 'memory limit' : `exit status ${outcome.exitCode}`;
      request.log.error({ route: route.path, exitCode: outcome.exitCode },
        outcome.memoryLimitHit ? `instrument exited with status ${outcome.exitCode} at its memory limit of ${route.memory_limit_mb} MiB`
          : 'instrument exited with a non-zero status');
      reply.code(500).type('text/plain; charset=utf-8').send(`instrument failed (exit status ${outcome.exitCode})`);
      return;
    }
    if (cgi) {
      sendCgi(request, reply, route.path, outcome.stdout, trace);
      return;
    }
    const contentType = wasioContentType(outcome.stdout, route.content_type);
    if (cacheable) {
      const stored = cache.set(key, outcome.stdout, contentType, route.ttl);
      sendCached(reply, stored instanceof Promise ? await stored : stored, 'MISS', ifNoneMatch);
      return;
    }
    reply.code(200).header('content-type', contentType)
      .send(Buffer.from(outcome.stdout.buffer, outcome.stdout.byteOffset, outcome.stdout.byteLength));
  } catch (error) {
    if (error instanceof MultipartError) {
      // The client's mistake, found before any instance started: 400, logged at info.
      trace.error = error.code;
      request.log.info({ route: route.path, code: error.code }, error.message);
      reply.code(400).type('text/plain; charset=utf-8').send(error.message);
      return;
    }
    if (!(error instanceof RuntimeError)) throw error;
    const { status, body: message } = failureResponse(error);
    trace.error = error.code;
    if (error instanceof RunFailure) logStderr(request, route.path, error.stderr);
    request.log.error({ route: route.path, code: error.code, reason: error instanceof RunFailure ? error.reason : undefined }, error.message);
    if (status === 503) reply.header('retry-after', '1');
    reply.code(status).type('text/plain; charset=utf-8').send(message);
  }
}
