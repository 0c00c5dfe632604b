/**
 * The harness of the HTTP tests: a real WASIO server on a free port of 127.0.0.1, serving a
 * config written into a fresh temporary folder, stopped (and the folder removed) by the
 * `after()` hook of the scope that started it.
 *
 * Two ways to run it:
 * - in process (`startServer`): the same `WasioServer`, `Runtime` and `loadConfig` the CLI
 *   uses, with a pino logger writing into a `LogCapture` so tests can assert on log lines;
 * - as a child process (`startChildServer`): `wasio serve` itself, for what only the whole
 *   program does (signals, watching the config file). Its JSON log lines on stdout are
 *   captured the same way.
 *
 * Waiting is event-driven where an event exists (`LogCapture.waitFor`, a child's exit) and
 * a bounded poll (`waitUntil`) only where none does. Every wait has a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { repoRoot } from './repo.js';
import { loadConfig, type Config, type ConfigFile } from '../../src/config/index.js';
import { WasioServer } from '../../src/http/server.js';
import { Runtime } from '../../src/runtime/index.js';

export { repoRoot };

/** The built command line, as `npm run build` leaves it. */
export const cliMain = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** Absolute path of a test instrument, `test/instruments/NAME.wasm`. */
export function testInstrument(name: string): string {
  return join(repoRoot, 'test', 'instruments', `${name}.wasm`);
}

/** Absolute path of an example instrument, `examples/instruments/NAME.wasm`. */
export function exampleInstrument(name: string): string {
  return join(repoRoot, 'examples', 'instruments', `${name}.wasm`);
}

/** One JSON log line as pino writes it. */
export interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/** pino's numeric levels, for assertions that read like the log. */
export const LogLevel = { debug: 20, info: 30, warn: 40, error: 50 } as const;

interface LogWaiter {
  readonly predicate: (line: LogLine) => boolean;
  readonly resolve: (line: LogLine) => void;
}

/**
 * Collects JSON log lines from a text stream (pino's output), possibly cut mid-line, and lets
 * tests find lines or wait for one to arrive.
 */
export class LogCapture {
  readonly lines: LogLine[] = [];
  /** Lines that were not JSON (a crash trace, say), kept for failure messages. */
  readonly otherText: string[] = [];
  private pending = '';
  private readonly waiters = new Set<LogWaiter>();

  /** Feeds raw output; whole lines are parsed, a trailing partial line waits for the rest. */
  write(chunk: string | Uint8Array): void {
    this.pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) !== -1) {
      const text = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (text.trim() !== '') this.add(text);
    }
  }

  /** Lines matching `predicate`, oldest first. */
  filter(predicate: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(predicate);
  }

  /** The first line matching `predicate`, if any has been logged. */
  find(predicate: (line: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(predicate);
  }

  /**
   * The first line matching `predicate` among those logged from index `since` on (default:
   * all), already there or logged within `timeoutMs`. Rejects after the deadline naming
   * `what` and showing the log so far, so a failure explains itself.
   */
  waitFor(what: string, predicate: (line: LogLine) => boolean, options: { timeoutMs?: number; since?: number } = {}): Promise<LogLine> {
    const { timeoutMs = 5_000, since = 0 } = options;
    const found = this.lines.slice(since).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolvePromise, reject) => {
      const waiter: LogWaiter = {
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolvePromise(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no log line ${what} within ${timeoutMs} ms; log so far:\n${this.dump()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The log as text, for assertion messages. */
  dump(): string {
    return [...this.lines.map((line) => JSON.stringify(line)), ...this.otherText].join('\n');
  }

  private add(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.otherText.push(text);
      return;
    }
    this.lines.push(line);
    for (const waiter of [...this.waiters]) if (waiter.predicate(line)) waiter.resolve(line);
  }
}

/**
 * Polls `check` every `intervalMs` until it returns true, for the few things that announce
 * nothing (a counter in /stats). Rejects with `what` once `timeoutMs` has passed.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

/** A fresh temporary folder, removed by the enclosing `after()`. */
export function temporaryDirectory(prefix = 'wasio-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Files to create next to the config, by path relative to it. */
export type FileTree = Readonly<Record<string, string | Uint8Array>>;

/** Writes `files` under `dir`, creating folders as needed. */
export function writeFiles(dir: string, files: FileTree): void {
  for (const [relative, content] of Object.entries(files)) {
    const path = join(dir, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

/**
 * Writes `document` as `config.json` (or `name`) in a fresh temporary folder, with `files`
 * beside it. `document` is `unknown` so tests can write broken and Go-era configs too.
 */
export function writeConfig(document: unknown, files: FileTree = {}, name = 'config.json'): { dir: string; configFile: string } {
  const dir = temporaryDirectory();
  writeFiles(dir, files);
  const configFile = join(dir, name);
  writeFileSync(configFile, `${JSON.stringify(document, null, 2)}\n`);
  return { dir, configFile };
}

/** What `fetch` needs to call one server, with the path as the only required part. */
export interface HttpClient {
  readonly url: string;
  /** `fetch(url + path, init)`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** GET `path` and read the body as text. */
  text(path: string, init?: RequestInit): Promise<{ response: Response; body: string }>;
}

function httpClient(url: string): HttpClient {
  const request = (path: string, init?: RequestInit): Promise<Response> =>
    fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000), ...init });
  return {
    url,
    request,
    async text(path, init) {
      const response = await request(path, init);
      return { response, body: await response.text() };
    },
  };
}

export interface TestServer extends HttpClient {
  readonly dir: string;
  readonly configFile: string;
  readonly config: Config;
  readonly server: WasioServer;
  readonly runtime: Runtime;
  readonly logs: LogCapture;
  /** Stops the server; the `after()` hook does it too, so calling it is only needed mid-file. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Files to create beside the config (mounted folders, copies of modules). */
  readonly files?: FileTree;
  /** Worker threads; two keep a file's tests from waiting on each other without crowding CI. */
  readonly workers?: number;
  /** False: every request is read by `node:http`, none by the HTTP front. */
  readonly httpFront?: boolean;
}

/**
 * Starts an in-process server for `document` written into a fresh temporary folder, listening
 * on 127.0.0.1 with a port the system picks. Stopped by the `after()` hook of the caller's scope.
 */
export async function startServer(document: ConfigFile, options: StartOptions = {}): Promise<TestServer> {
  const { configFile } = writeConfig({ workers: options.workers ?? 2, ...document }, options.files);
  return startServerFromFile(configFile, options.httpFront);
}

/** Starts an in-process server for a config file already on disk (see `startServer`). */
export async function startServerFromFile(configFile: string, httpFront = true): Promise<TestServer> {
  const logs = new LogCapture();
  const logger = pino({ level: 'debug', base: null }, { write: (chunk: string) => logs.write(chunk) });
  const config = await loadConfig(configFile);
  const runtime = new Runtime({
    workers: config.workers,
    maxQueue: config.max_queue,
    maxModules: config.cache_size,
    watchModules: false,
  });
  const server = new WasioServer({ config, runtime, logger, httpFront });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= server.close());
  after(close);
  const address = await server.listen(0, '127.0.0.1');
  return {
    ...httpClient(`http://127.0.0.1:${address.port}`),
    dir: dirname(configFile), configFile, config, server, runtime, logs, close,
  };
}

/** How a child process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildServer extends HttpClient {
  readonly port: number;
  readonly child: ChildProcess;
  readonly logs: LogCapture;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (by pid) unless it already exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
}

/** The environment for a child: ours without PORT, so the config and --port decide. */
export function childEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['PORT'];
  return env;
}

function exitOf(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolvePromise({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolvePromise({ code, signal }));
  });
}

/**
 * `promise`'s value, or 'timeout' once `timeoutMs` has passed. The timer is cleared as soon
 * as `promise` settles, so it never holds the test process open.
 */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolvePromise) => {
    timer = setTimeout(() => resolvePromise('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `signal`, waits at most `timeoutMs` for the exit, then kills the process outright. */
async function stopChild(child: ChildProcess, exited: Promise<ExitStatus>, signal: NodeJS.Signals, timeoutMs: number): Promise<ExitStatus> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  const first = await withDeadline(exited, timeoutMs);
  if (first !== 'timeout') return first;
  child.kill('SIGKILL');
  await exited;
  throw new Error(`the server did not exit within ${timeoutMs} ms of ${signal}; killed`);
}

/**
 * Runs `wasio serve -c configFile --port 0 ...args` as a child process and resolves once it logs the
 * address it listens on. Stopped (SIGTERM, then SIGKILL past a deadline) by `after()`.
 */
export async function startChildServer(configFile: string, timeoutMs = 10_000, args: readonly string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [cliMain, 'serve', '-c', configFile, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnvironment({ WASIO_LOG_LEVEL: 'debug' }),
  });
  const logs = new LogCapture();
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => logs.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = exitOf(child);
  after(async () => {
    await stopChild(child, exited, 'SIGTERM', 10_000);
  });

  const listening = logs.waitFor('saying where the server listens',
    (line) => typeof line['port'] === 'number' && String(line.msg).includes('listening'), { timeoutMs });
  const early = exited.then((status) => {
    throw new Error(`wasio serve exited before listening (${JSON.stringify(status)}); stderr:\n${stderr}\nlog:\n${logs.dump()}`);
  });
  const line = await Promise.race([listening, early]);
  const port = line['port'] as number;
  return {
    ...httpClient(`http://127.0.0.1:${port}`),
    port, child, logs, exited,
    stderr: () => stderr,
    stop: (signal = 'SIGTERM', stopTimeoutMs = 10_000) => stopChild(child, exited, signal, stopTimeoutMs),
  };
}

export interface CliResult extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `wasio` command line with `args` to its end (killed past `timeoutMs`). */
export async function runCli(args: readonly string[], timeoutMs = 15_000): Promise<CliResult> {
  const child = spawn(process.execPath, [cliMain, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment() });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = exitOf(child);
  const streamsClosed = new Promise((resolvePromise) => child.once('close', resolvePromise));
  if ((await withDeadline(exited, timeoutMs)) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`wasio ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`);
  }
  await streamsClosed;
  const status = await exited;
  return { ...status, stdout, stderr };
}

/**
 * Copies a config file into a fresh temporary folder together with what it names (each
 * route's module and mounted folders, at the same relative places), so tests can serve it
 * without writing into the original's folders. Returns the copy's path.
 */
export function copyConfigWithFiles(configFile: string): string {
  const sourceDir = dirname(configFile);
  const dir = temporaryDirectory();
  const document = JSON.parse(readFileSync(configFile, 'utf8')) as {
    routes?: Record<string, { wasm_file?: string; filesystem?: { path?: string }; mounts?: { host?: string }[] }>;
  };
  const copy = (relative: string | undefined, recursive: boolean): void => {
    if (relative === undefined || relative === '') return;
    const from = resolve(sourceDir, relative);
    if (!existsSync(from)) return;
    const to = resolve(dir, relative);
    if (!to.startsWith(`${dir}/`)) throw new Error(`${relative} lies outside the config's folder; cannot copy it`);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { recursive });
  };
  for (const route of Object.values(document.routes ?? {})) {
    copy(route.wasm_file, false);
    copy(route.filesystem?.path, true);
    for (const mount of route.mounts ?? []) copy(mount.host, true);
  }
  const target = join(dir, 'config.json');
  cpSync(configFile, target);
  return target;
}

/** The wasio request document as the `echo` test instrument hands it back. */
export interface EchoedPayload {
  readonly params: Readonly<Record<string, string>>;
  readonly method: string;
  readonly path: string;
  readonly route: string;
  readonly query: Readonly<Record<string, readonly string[]>>;
  readonly path_params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly body_base64?: string;
}

/**
 * Parses what `echo` answered. The seed is left out on purpose: `JSON.parse` would round it
 * through a double; read it with `echoedSeed`.
 */
export function echoedPayload(text: string): EchoedPayload {
  const { seed: _lossy, ...payload } = JSON.parse(text) as EchoedPayload & { seed: unknown };
  return payload;
}

/** The seed's digits exactly as the server wrote them, read from the raw JSON text. */
export function echoedSeed(text: string): string {
  const match = /"seed":(-?\d+)[,}]/.exec(text);
  if (match === null) throw new Error(`no integer seed in ${text}`);
  return match[1] as string;
}
