/**
 * `wasio serve`: load the config, start the runtime and the HTTP server, reload the config
 * when its file changes, and shut down cleanly on SIGINT/SIGTERM.
 */
import { watch } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type Config, type ConfigOverrides } from '../config/index.js';
import type { WasioServer } from '../http/server.js';
import type { CompileMode, Runtime } from '../runtime/index.js';
import { joinProcessGroup, processPlace, runPrimary, workersOfProcess, type GroupMembership } from './cluster.js';
import { CliUsageError } from './errors.js';

export interface ServeOptions {
  readonly config: string;
  readonly port?: string;
  readonly host?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** HTTP processes: a count or "auto" (one per core); overrides the config's `processes`. */
  readonly processes?: string;
}

/** How long in-flight requests get to finish on shutdown, beyond the longest route timeout. */
const SHUTDOWN_GRACE_MS = 5_000;
const RELOAD_DEBOUNCE_MS = 100;

function longestTimeout(config: Config): number {
  return Math.max(0, ...Object.values(config.routes).map((route) => route.timeout_ms));
}

/**
 * Compiles every route's module, so first requests do not wait for a compiler: `whole` before
 * the server listens, when blocking costs nobody anything; `lazy` while it serves. Settles when
 * all are done; a module that fails is logged (its route answers 500) and does not hold it up.
 */
async function warmUp(config: Config, runtime: Runtime, logger: Logger, mode: CompileMode): Promise<void> {
  await Promise.all(Object.values(config.routes).map((route) =>
    runtime.modules.get(route.wasm_file, route.memory_limit_mb, mode).catch((error: Error) => {
      logger.error({ route: route.path, code: (error as { code?: string }).code }, error.message);
    })));
}

/** `--processes`: a positive count, or "auto" for one per core. */
function processCount(value: string): number {
  if (value === 'auto') return availableParallelism();
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new CliUsageError(`--processes must be a positive integer or "auto", got "${value}"`);
  return count;
}

/** Runs the server until a signal stops it. */
export async function serve(options: ServeOptions, logger: Logger): Promise<void> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new CliUsageError('--tls-cert and --tls-key go together: give both, or neither');
  }
  const overrides: ConfigOverrides = {
    port: options.port ?? process.env['PORT'],
    host: options.host,
    tls: options.tlsCert !== undefined && options.tlsKey !== undefined ? { cert: options.tlsCert, key: options.tlsKey } : undefined,
    // A Redis URL may hold a password, so it can come from the environment (a Secret) instead of the file.
    cacheUrl: process.env['WASIO_CACHE_URL'] || undefined,
  };
  const config = await loadConfig(options.config, overrides);
  const place = processPlace();
  const processes = options.processes === undefined ? config.processes : processCount(options.processes);
  if (place === undefined && processes > 1) {
    process.exitCode = await runPrimary(config, processes, logger);
    return;
  }
  // Loaded only here: a primary of several processes serves nothing, so it never loads the server.
  const [{ WasioServer }, { Runtime, collectGarbage }] = await Promise.all([import('../http/server.js'), import('../runtime/index.js')]);
  const runtime: Runtime = new Runtime({
    workers: place === undefined ? config.workers : workersOfProcess(config.workers, place),
    maxQueue: config.max_queue,
    maxModules: config.cache_size,
    watchModules: true,
    // One of several HTTP processes shares the cores with the others: a worker hop only adds wake-ups.
    inlineRuns: place !== undefined,
    onCompiled: (module) => logger.info({ module: module.path, compileMs: Math.round(module.compileMs), bytes: module.byteLength }, 'module compiled'),
    onModuleChanged: (path) => logger.info({ module: path }, 'module changed on disk; recompiling on next use'),
    onWorkerReplaced: (reason) => logger.warn({ reason }, 'worker replaced'),
  });
  const group: GroupMembership | undefined = place === undefined ? undefined : joinProcessGroup((kind) => server.snapshot(kind));
  const server: WasioServer = new WasioServer({ config, runtime, logger, ...(group === undefined ? {} : { group }) });
  // Listening means ready: the first request finds its module compiled.
  await warmUp(config, runtime, logger, 'whole');
  // What compiling left (each module's file bytes and two rewritten copies of them) goes now,
  // while nothing is served, instead of at V8's first full collection under load.
  collectGarbage();
  const address = await server.listen(config.port, config.host);
  if (place === undefined) {
    logger.info({ host: address.host, port: address.port, routes: Object.keys(config.routes).length, workers: config.workers },
      `WASIO listening on ${config.tls === undefined ? 'http' : 'https'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`);
  } else {
    // The primary says where the server listens, once for all its processes.
    logger.debug({ process: place.index, workers: runtime.stats().pool.workers }, 'HTTP process listening');
  }

  let reloadTimer: NodeJS.Timeout | undefined;
  const reload = async (): Promise<void> => {
    try {
      const next = await loadConfig(config.file, overrides);
      if (next.workers !== server.config.workers || next.port !== server.config.port || next.host !== server.config.host
        || next.tls?.cert !== server.config.tls?.cert || next.tls?.key !== server.config.tls?.key) {
        logger.warn('config changed port, host, workers or tls; those take effect on restart');
      }
      // The new config is served once its modules are compiled, so no request waits for them.
      await warmUp(next, runtime, logger, 'lazy');
      server.swapConfig(next);
      logger.info({ file: config.file, routes: Object.keys(next.routes).length }, 'config reloaded');
    } catch (error) {
      logger.error({ file: config.file, code: (error as { code?: string }).code }, `config not reloaded, keeping the previous one: ${(error as Error).message}`);
    }
  };
  const watcher = watch(dirname(config.file), { persistent: false }, (_event, filename) => {
    if (filename?.toString() !== basename(config.file)) return;
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void reload(), RELOAD_DEBOUNCE_MS);
  });

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      // Both signals may come (a terminal's Ctrl-C reaches every process, then the primary's SIGTERM).
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      watcher.close();
      clearTimeout(reloadTimer);
      const force = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, longestTimeout(server.config) + SHUTDOWN_GRACE_MS);
      force.unref();
      server.close().then(() => {
        logger.info('stopped');
      }, (error: Error) => {
        logger.error({ err: error }, 'error during shutdown');
      }).finally(() => {
        group?.leave();
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
