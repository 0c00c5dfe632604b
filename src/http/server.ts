/**
 * The HTTP server: built-in pages first, then the instrument routes of the current config.
 * The config (with its router and response cache) is one immutable value swapped whole on
 * reload, so a request sees either the old config or the new one, never a mix.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createSecureServer } from 'node:https';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { symbols as pinoSymbols, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/index.js';
import { limitExceededChannel, type Runtime } from '../runtime/index.js';
import { accessLogFields, accessLogLine, isoTimeNow, writesAccessLines, type AccessLineOutput, type AnsweredRequest, type AnsweredResponse } from './access-log.js';
import { loadAssets, type AssetPage, type StaticAsset } from './assets.js';
import { BodyTooLargeError, readLimitedBody } from './body.js';
import { DirectReply } from './direct-reply.js';
import { directMatch, findCachedHit, sendCachedHit, type DirectRequest, type DirectResponse } from './direct-path.js';
import { HttpFront } from './front/index.js';
import { requestEndChannel } from './diagnostics.js';
import { serveInstrument, type InstrumentCall, type InstrumentTrace } from './instrument-handler.js';
import { renderMergedMetrics, ServerMetrics, type MetricsSnapshot } from './metrics.js';
import { renderIndexPage, renderMonitoringPage } from './pages.js';
import { createCacheBackend, ResponseCache, sameCacheBackend, type CacheBackend, type CacheBackendStatus } from './response-cache.js';
import { Router, type RouteMatch } from './router.js';
import { mergeStatsSnapshots, mergeStatsSources, ServerStats, statsDocument, type StatsSnapshot, type StatsSources } from './stats.js';
import { readTlsFiles } from './tls.js';

interface ServingState {
  readonly config: Config;
  readonly router: Router;
  readonly cache: ResponseCache;
}

declare module 'fastify' {
  interface FastifyRequest {
    wasioMatch: RouteMatch | undefined;
    wasioState: ServingState;
    wasioTrace: InstrumentTrace | undefined;
  }
}

/** What one process of a group hands over so any process can answer for all: `/stats` or `/metrics`. */
export type SnapshotKind = 'stats' | 'metrics';

/**
 * The HTTP processes that serve one config together (`processes` > 1): each has its own
 * counters, so `/stats` and `/metrics` gather a snapshot from every one of them.
 */
export interface ProcessGroup {
  /** The snapshots of `kind` of every process of the group, this one's included. */
  gather(kind: SnapshotKind): Promise<readonly unknown[]>;
}

/** A process's stats snapshot: its counts and what the document shows besides them. */
interface StatsPart {
  readonly stats: StatsSnapshot;
  readonly sources: StatsSources;
}

export interface ServerOptions {
  readonly config: Config;
  readonly runtime: Runtime;
  /**
   * Access lines skip pino's serializer and go straight to this logger's destination, in the
   * shape of `createLogger`'s loggers (no base fields, ISO time, `reqId`): give a root logger
   * made that way, or its lines and the access lines will differ in shape.
   */
  readonly logger: Logger;
  /** The other processes serving the same config, when there are several. */
  readonly group?: ProcessGroup;
  /**
   * Whether plain connections are read by the HTTP front (`front/`) before `node:http`:
   * true when absent. False leaves every request to `node:http`, to compare the two.
   */
  readonly httpFront?: boolean;
}

/** The paths of the built-in pages besides the assets'. */
const BUILTIN_PATHS = ['/health', '/', '/monitoring', '/stats', '/metrics'];

const REQUEST_ID = /^[\w.:@/+=-]{1,200}$/;

function requestId(request: DirectRequest): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function stateFor(config: Config, cacheBackend: CacheBackend): ServingState {
  return { config, router: new Router(Object.values(config.routes)), cache: new ResponseCache(cacheBackend) };
}

export class WasioServer {
  /** Counts behind `/stats` and the dashboard. */
  readonly stats: ServerStats;
  /** The Prometheus metrics of `/metrics`. */
  readonly metrics: ServerMetrics;
  private state: ServingState;
  /** Outlives config reloads when it is a shared one (Redis) that the new config names too. */
  private cacheBackend: CacheBackend;
  private closing = false;
  /** Connections that have not sent a request yet. */
  private readonly silentConnections = new Set<Socket>();
  private readonly app: FastifyInstance;
  private readonly assets: readonly StaticAsset[];
  /** Paths the built-in pages claim, which the direct path leaves to the framework. */
  private readonly reservedPaths: ReadonlySet<string>;
  /** Where the logger writes its lines: access lines are written there directly (`accessLogLine`). */
  private readonly logOutput: DestinationStream;
  /** The same destination when it writes access lines itself, as bytes (the CLI's stdout), else undefined. */
  private readonly accessLineOutput: AccessLineOutput | undefined;
  /** Reads the simplest requests of plain connections before `node:http` does. */
  private front: HttpFront | undefined;

  constructor(private readonly options: ServerOptions) {
    this.cacheBackend = createCacheBackend(options.config.cache, options.config.cache_size, options.logger);
    this.state = stateFor(options.config, this.cacheBackend);
    this.stats = new ServerStats(this);
    this.metrics = new ServerMetrics(this, options.runtime);
    this.assets = loadAssets();
    this.reservedPaths = new Set([...BUILTIN_PATHS, ...this.assets.map((asset) => asset.path)]);
    this.logOutput = (options.logger as unknown as Record<symbol, DestinationStream>)[pinoSymbols.streamSym] as DestinationStream;
    this.accessLineOutput = writesAccessLines(this.logOutput) ? this.logOutput : undefined;
    // HTTPS when the config names a certificate; read (and checked) now, so a bad file stops the start.
    const tls = options.config.tls === undefined ? undefined : readTlsFiles(options.config.tls);
    this.app = Fastify({
      loggerInstance: options.logger as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
      genReqId: requestId,
      exposeHeadRoutes: false,
      return503OnClosing: true,
      serverFactory: (handler, resolved): Server => {
        // The framework passes its options resolved, defaults filled in.
        const settings = resolved as unknown as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number };
        const listener: RequestListener = (request, response) => {
          if (!this.answerDirectly(request, response)) handler(request, response);
        };
        const server = tls === undefined ? createServer(listener) : createSecureServer(tls, listener);
        if (tls === undefined && options.httpFront !== false) {
          this.front = HttpFront.install(server, (request, response) => this.answerDirectly(request, response), (error) => {
            options.logger.error({ err: error }, 'request failed');
          });
        }
        // What the framework sets on a server it makes itself.
        server.keepAliveTimeout = settings.keepAliveTimeout;
        server.requestTimeout = settings.requestTimeout;
        server.setTimeout(settings.connectionTimeout);
        return server;
      },
    }) as unknown as FastifyInstance;
    this.app.server.on(options.config.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      this.silentConnections.add(socket);
      socket.once('close', () => this.silentConnections.delete(socket));
    });
    this.registerHooks();
    this.registerBuiltins();
    this.app.all('*', (request, reply) => this.serveRoute(request, reply));
  }

  get config(): Config {
    return this.state.config;
  }

  /** Starts listening; resolves with the address actually bound (port 0 picks one). */
  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    await this.app.listen({ port, host });
    const address = this.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
    return { host: address.address, port: address.port };
  }

  /** Serves `config` from the next request on; in-flight requests finish on the old one. */
  swapConfig(config: Config): void {
    const previous = this.cacheBackend;
    // A memory cache starts empty with each config, as the routes may have changed; a shared
    // one is kept when the new config names the same Redis, so reloads do not reconnect.
    const keep = config.cache.backend === 'redis' && sameCacheBackend(this.state.config.cache, config.cache);
    if (!keep) this.cacheBackend = createCacheBackend(config.cache, config.cache_size, this.options.logger);
    this.state = stateFor(config, this.cacheBackend);
    if (!keep) void previous.close();
  }

  /** The response cache backend's state: which one, whether it is usable, its outages. */
  cacheStatus(): CacheBackendStatus {
    return this.cacheBackend.status();
  }

  /**
   * Stops accepting, lets in-flight requests finish (their connections close after the
   * response, keep-alive or not), then stops the runtime and the counting.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.app.server.closeIdleConnections();
    this.front?.closeIdleConnections();
    // Node counts a connection that never sent a request as busy; nothing is lost by ending it.
    for (const socket of this.silentConnections) socket.destroy();
    await this.app.close();
    await this.cacheBackend.close();
    await this.options.runtime.close();
    this.stats.close();
    this.metrics.close();
  }

  private registerHooks(): void {
    this.app.decorateRequest('wasioMatch', undefined);
    this.app.decorateRequest('wasioTrace', undefined);
    this.app.decorateRequest('wasioState', undefined as unknown as ServingState);
    // Callback hooks, not async ones: no promise and no extra tick on every request.
    this.app.addHook('onRequest', (request, reply, done) => {
      this.silentConnections.delete(request.raw.socket);
      reply.header('x-request-id', request.id);
      const state = this.state;
      request.wasioState = state;
      const url = request.raw.url ?? '/';
      const queryAt = url.indexOf('?');
      const match = state.router.match(queryAt === -1 ? url : url.slice(0, queryAt));
      request.wasioMatch = match;
      request.wasioTrace = {
        builtin: request.routeOptions.url !== '*', route: match?.route.path, cache: undefined,
        instanceMs: undefined, queueMs: undefined, error: undefined,
      };
      done();
    });
    this.app.addHook('onSend', (_request, reply, payload, done) => {
      // While shutting down, no connection is kept alive past its response.
      if (this.closing) reply.header('connection', 'close');
      done(null, payload);
    });
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', (request, payload, done) => {
      const limit = request.wasioMatch?.route.max_body_bytes ?? 0;
      readLimitedBody(payload, request.headers['content-length'], limit).then((body) => done(null, body), done);
    });
    this.app.addHook('onResponse', (request, reply, done) => {
      const trace = request.wasioTrace;
      if (trace !== undefined) {
        this.recordAnswered(request.raw, request.id, {
          status: reply.statusCode, bytes: Number(reply.getHeader('content-length') ?? 0), durationMs: reply.elapsedTime,
        }, trace);
      }
      done();
    });
    this.app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'request failed');
      if (request.wasioTrace !== undefined) request.wasioTrace.error = error.message;
      if (error instanceof BodyTooLargeError && limitExceededChannel.hasSubscribers) {
        limitExceededChannel.publish({ source: this, kind: 'body', route: request.wasioTrace?.route ?? '' });
      }
      reply.code(status).type('text/plain; charset=utf-8').send(status === 413 ? 'request body too large' : status === 500 ? 'internal error' : error.message);
    });
  }

  /** Writes the access-log line of an answered request and announces it. */
  private recordAnswered(request: AnsweredRequest, id: string, response: AnsweredResponse, trace: InstrumentTrace): void {
    const { logger } = this.options;
    if (logger.isLevelEnabled('info')) {
      // Written as bytes into the batch where the destination allows, never made as text.
      const fields = accessLogFields(request, response, trace);
      if (this.accessLineOutput !== undefined) this.accessLineOutput.writeAccessLine(isoTimeNow(), id, fields);
      else this.logOutput.write(accessLogLine(isoTimeNow(), id, fields));
    }
    // The stats and the metrics count instrument requests from this event; built-in pages are not counted.
    if (!trace.builtin && requestEndChannel.hasSubscribers) {
      requestEndChannel.publish({
        server: this, requestId: id, route: trace.route, method: request.method ?? 'GET', status: response.status,
        durationMs: response.durationMs, cache: trace.cache,
      });
    }
  }

  /** Answers an instrument request without the framework (`direct-path.ts`); false when it cannot. */
  private answerDirectly(request: DirectRequest, response: DirectResponse): boolean {
    if (this.closing) return false;
    const started = performance.now();
    const state = this.state;
    const match = directMatch(request, state.router, this.reservedPaths);
    if (match === undefined) return false;
    this.silentConnections.delete(request.socket);
    const id = requestId(request);
    const hit = findCachedHit(request, match, state.cache);
    if (hit !== undefined) {
      const sent = sendCachedHit(request, response, id, hit);
      this.recordAnswered(request, id, { status: sent.status, bytes: sent.bytes, durationMs: performance.now() - started }, {
        builtin: false, route: hit.route.path, cache: 'HIT', instanceMs: undefined, queueMs: undefined, error: undefined,
      });
      return true;
    }
    this.serveDirectly(request, response, match, state, id, started).catch((error: unknown) => {
      this.options.logger.error({ reqId: id, err: error }, 'request failed');
    });
    return true;
  }

  private async serveDirectly(
    request: DirectRequest, response: DirectResponse, match: RouteMatch, state: ServingState, id: string, started: number,
  ): Promise<void> {
    let reply = new DirectReply(response, () => this.closing);
    reply.header('x-request-id', id);
    const trace: InstrumentTrace = { builtin: false, route: match.route.path, cache: undefined, instanceMs: undefined, queueMs: undefined, error: undefined };
    const { logger } = this.options;
    let log: Logger | undefined;
    // A child logger costs more than most requests log: made only when the request logs.
    const requestLog = (): Logger => (log ??= logger.child({ reqId: id }));
    const call: InstrumentCall = {
      method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: new Uint8Array(0),
      remoteAddress: request.socket.remoteAddress ?? '', httpVersion: request.httpVersion, tls: 'encrypted' in request.socket,
      socket: request.socket, log: { info: (fields, message) => requestLog().info(fields, message), error: (fields, message) => requestLog().error(fields, message) },
    };
    try {
      await serveInstrument(call, reply, match, this.options.runtime, state.cache, trace);
    } catch (error) {
      // What the framework's error handler does with a failure of the handler itself.
      requestLog().error({ err: error }, 'request failed');
      trace.error = (error as Error).message;
      if (!response.headersSent) {
        // A fresh reply: the failed one may hold what made it fail (a header Node refuses).
        reply = new DirectReply(response, () => this.closing);
        reply.header('x-request-id', id).code(500).type('text/plain; charset=utf-8').send('internal error');
      }
    }
    const sent = reply.sent ?? { status: response.statusCode, bytes: 0 };
    this.recordAnswered(request, id, { status: sent.status, bytes: sent.bytes, durationMs: performance.now() - started }, trace);
  }

  private registerBuiltins(): void {
    const pageServed = (config: Config, page: AssetPage): boolean => (page === 'index' ? config.index_page : config.monitoring);
    this.app.get('/health', (_request, reply) => {
      reply.type('text/plain; charset=utf-8').send('OK');
    });
    for (const asset of this.assets) {
      this.app.get(asset.path, (request, reply) => {
        if (!pageServed(request.wasioState.config, asset.page)) return this.serveRoute(request, reply);
        return reply.type(asset.contentType).header('cache-control', 'public, max-age=3600').send(asset.body);
      });
    }
    this.app.get('/', (request, reply) => {
      const { config } = request.wasioState;
      if (!config.index_page) return this.serveRoute(request, reply);
      return reply.type('text/html; charset=utf-8').send(renderIndexPage(config));
    });
    this.app.get('/monitoring', async (request, reply) => {
      if (!request.wasioState.config.monitoring) return this.serveRoute(request, reply);
      const format = (request.query as Record<string, unknown>)['format'];
      const route = (request.query as Record<string, unknown>)['route'];
      if (format === 'json') return reply.send(await this.statsDocument(request.wasioState, typeof route === 'string' ? route : undefined));
      return reply.type('text/html; charset=utf-8').send(renderMonitoringPage(request.wasioState.config));
    });
    this.app.get('/stats', async (request, reply) => {
      if (!request.wasioState.config.monitoring) return this.serveRoute(request, reply);
      return reply.send(await this.statsDocument(request.wasioState));
    });
    this.app.get('/metrics', async (request, reply) => {
      if (!request.wasioState.config.monitoring) return this.serveRoute(request, reply);
      const { group } = this.options;
      if (group === undefined) return reply.type(this.metrics.contentType).send(await this.metrics.render());
      const snapshots = await group.gather('metrics') as MetricsSnapshot[];
      // Empty only if no process (this one included) answered in time.
      const merged = await renderMergedMetrics(snapshots.length === 0 ? [await this.metrics.snapshot()] : snapshots);
      return reply.type(merged.contentType).send(merged.text);
    });
  }

  /** This process's own part of what `kind` shows, for the other processes of its group. */
  async snapshot(kind: SnapshotKind): Promise<unknown> {
    if (kind === 'metrics') return this.metrics.snapshot();
    return { stats: this.stats.snapshot(), sources: this.statsSources(this.state) } satisfies StatsPart;
  }

  private statsSources(state: ServingState): StatsSources {
    const runtime = this.options.runtime.stats();
    return { modules: runtime.modules, pool: runtime.pool, cacheEntries: state.cache.size, cacheBackend: state.cache.backend.status() };
  }

  /** The stats document (of every process of the group), with the recent history of `seriesRoute` (every request when absent). */
  private async statsDocument(state: ServingState, seriesRoute?: string): Promise<Record<string, unknown>> {
    const { group } = this.options;
    if (group === undefined) return this.stats.document(this.statsSources(state), seriesRoute);
    const gathered = await group.gather('stats') as StatsPart[];
    const parts = gathered.length === 0 ? [await this.snapshot('stats') as StatsPart] : gathered;
    return statsDocument(mergeStatsSnapshots(parts.map((part) => part.stats)), mergeStatsSources(parts.map((part) => part.sources)), Date.now(), seriesRoute);
  }

  private async serveRoute(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const trace = request.wasioTrace as InstrumentTrace;
    trace.builtin = false;
    const match = request.wasioMatch;
    if (match === undefined) {
      reply.code(404).type('text/plain; charset=utf-8').send('not found');
      return;
    }
    const { runtime } = this.options;
    const call: InstrumentCall = {
      method: request.method, url: request.raw.url ?? '/', headers: request.headers,
      body: request.body instanceof Uint8Array ? request.body : new Uint8Array(0), remoteAddress: request.ip,
      httpVersion: request.raw.httpVersion, tls: request.protocol === 'https', socket: request.raw.socket, log: request.log,
    };
    await serveInstrument(call, reply, match, runtime, request.wasioState.cache, trace);
  }
}
