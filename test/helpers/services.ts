/**
 * Real outside services for the tests that need them: a `redis-server` and an `nginx`, each
 * started on a free port of 127.0.0.1 with its own config file in a fresh temporary folder,
 * in the foreground (so the test holds its pid), and stopped by pid in the `after()` hook of
 * the scope that started it. Nothing of the machine's own services is used or touched.
 *
 * A missing binary fails the test with a message saying which package to install; CI
 * (`.ci/run`) installs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { after } from 'node:test';
import { temporaryDirectory, withDeadline } from './server.js';

/** Where a binary is looked for besides PATH: daemons live in sbin, often off a user's PATH. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * The absolute path of the executable `name`, found on PATH or in the sbin folders.
 *
 * @throws {Error} naming the Debian package to install when it is nowhere.
 */
export function requireExecutable(name: string, debianPackage: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== ''), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  throw new Error(`${name} is not installed, and this test needs a real one: apt-get install -y ${debianPackage} (.ci/run does)`);
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A foreground child process with its output collected and a bounded stop. */
class ServiceProcess {
  readonly output: string[] = [];
  readonly exited: Promise<ExitStatus>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    const collect = (chunk: Buffer): void => {
      this.output.push(chunk.toString('utf8'));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `pattern` shows in the output; rejects on exit or after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output.join(''))) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.output.join('')}`);
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `signal` by pid, waits at most `timeoutMs`, then SIGKILLs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5_000): Promise<ExitStatus> {
    if (this.running) {
      // A paused process cannot act on the signal until it is continued.
      this.child.kill('SIGCONT');
      this.child.kill(signal);
    }
    const status = await withDeadline(this.exited, timeoutMs);
    if (status !== 'timeout') return status;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** A `redis-server` of the test's own, on 127.0.0.1, without persistence. */
export class TestRedis {
  private process: ServiceProcess | undefined;

  private constructor(readonly binary: string, readonly dir: string, readonly port: number) {}

  /** Starts a Redis on a free port (stopped by the caller's `after()`). */
  static async start(): Promise<TestRedis> {
    const binary = requireExecutable('redis-server', 'redis-server');
    const dir = temporaryDirectory('wasio-redis-');
    // A port found free can be taken before Redis binds it; a second port makes that harmless.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const redis = new TestRedis(binary, dir, await freePort());
      try {
        await redis.resume();
        after(() => redis.stop());
        return redis;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.running ? this.process.child.pid : undefined;
  }

  /** Starts (again) on the same port, with an empty data set; resolves once it accepts connections. */
  async resume(): Promise<void> {
    if (this.process?.running) return;
    const configFile = join(this.dir, 'redis.conf');
    writeFileSync(configFile, [
      'bind 127.0.0.1', `port ${this.port}`, 'protected-mode yes', 'daemonize no', 'save ""', 'appendonly no',
      `dir ${this.dir}`, 'logfile ""', 'databases 2', '',
    ].join('\n'));
    const service = new ServiceProcess('redis-server', spawn(this.binary, [configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.process = service;
    try {
      await service.waitForOutput(/Ready to accept connections/, 10_000);
    } catch (error) {
      await service.stop('SIGKILL');
      throw error;
    }
  }

  /** Stops it (SIGTERM by pid, SIGKILL past 5 s). */
  async stop(): Promise<void> {
    await this.process?.stop();
  }

  /** Freezes it (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.process?.child.kill('SIGSTOP');
  }

  /** Lets a frozen Redis run again (SIGCONT). */
  unpause(): void {
    this.process?.child.kill('SIGCONT');
  }
}

/** An `nginx` of the test's own: `-p` prefix in a temporary folder, `daemon off`, pid and logs there. */
export class TestNginx {
  private constructor(private readonly process: ServiceProcess, readonly dir: string, readonly port: number) {}

  /**
   * Writes `httpBlock(port, dir)` (the contents of the `http { }` block) into a config of its
   * own and starts nginx with it on a free port; resolves once it accepts connections.
   * Stopped by the caller's `after()`.
   */
  static async start(httpBlock: (port: number, dir: string) => string): Promise<TestNginx> {
    const binary = requireExecutable('nginx', 'nginx');
    const dir = temporaryDirectory('wasio-nginx-');
    const port = await freePort();
    const configFile = join(dir, 'nginx.conf');
    writeFileSync(configFile, [
      'daemon off;', 'master_process on;', 'worker_processes 1;', `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`, 'events { worker_connections 1024; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      // Every temporary path in the prefix, so nothing is written to the system's folders.
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, `${kind}_temp`)};`),
      httpBlock(port, dir),
      '}', '',
    ].join('\n'));
    // -e (nginx 1.19.5+) keeps even the start-up error log out of the system's /var/log.
    const service = new ServiceProcess('nginx', spawn(binary, ['-p', dir, '-c', configFile, '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    const nginx = new TestNginx(service, dir, port);
    after(() => nginx.stop());
    await waitForPort(port, service, 10_000);
    return nginx;
  }

  /** Stops it: SIGQUIT (graceful: lets requests in flight finish), SIGKILL past 5 s. */
  async stop(): Promise<void> {
    await this.process.stop('SIGQUIT');
  }
}

/** Resolves once something accepts connections on `port`, or rejects when `process` exits first. */
async function waitForPort(port: number, service: ServiceProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (!service.running) throw new Error(`${service.name} exited before listening:\n${service.output.join('')}`);
    if (Date.now() > deadline) throw new Error(`${service.name} not listening on ${port} within ${timeoutMs} ms:\n${service.output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

