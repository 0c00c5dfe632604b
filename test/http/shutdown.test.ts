/**
 * Graceful shutdown (SPEC section 5), through `wasio serve` itself: on SIGTERM or SIGINT the
 * server stops accepting connections, lets in-flight requests finish, and exits 0.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import {
  startChildServer, testInstrument, waitUntil, withDeadline, writeConfig, type ChildServer, type ExitStatus,
} from '../helpers/server.js';

/** Resolves with the error code of a fresh TCP connection to `port`, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const config = writeConfig({ workers: 1, routes: { '/sleep': { wasm_file: testInstrument('sleeper') } } });

/**
 * Starts a slow request, waits until it runs inside the server, sends SIGTERM, and checks what
 * happens while it drains: no new connections, the slow request still answered.
 */
async function drainOneSlowRequest(server: ChildServer, slowRequestInit: RequestInit): Promise<void> {
  let slowDone = false;
  const slow = server.text('/sleep?ms=500', slowRequestInit).finally(() => {
    slowDone = true;
  });

  // Signal only once the slow request is running inside the server.
  await waitUntil(async () => {
    const response = await server.request('/stats', { headers: { connection: 'close' } });
    const stats = (await response.json()) as { workers: { busy: number } };
    return stats.workers.busy >= 1;
  }, 'the slow request to start');

  const since = server.logs.lines.length;
  server.child.kill('SIGTERM');
  await server.logs.waitFor('saying the server is shutting down', (line) => String(line.msg).startsWith('shutting down'), { since });
  // The listener closes a few ticks after the signal is logged; nothing announces the moment.
  await waitUntil(async () => (await tryConnect(server.port)) === 'ECONNREFUSED', 'new connections to be refused', 1_000);
  assert.equal(slowDone, false, 'the slow request was still in flight when new connections were refused');

  const { response, body } = await slow;
  assert.equal(response.status, 200);
  assert.equal(body, 'slept');
}

/** The exit status, or a failure once `timeoutMs` passed without an exit. */
async function exitWithin(server: ChildServer, timeoutMs: number): Promise<ExitStatus> {
  const exit = await withDeadline(server.exited, timeoutMs);
  if (exit === 'timeout') assert.fail(`still running ${timeoutMs} ms after its last request; log:\n${server.logs.dump()}`);
  return exit;
}

test('SIGTERM lets an in-flight request finish, refuses new connections, and exits 0', async () => {
  const server = await startChildServer(config.configFile);
  // This client closes its connection after the response, so only the server's own draining is tested here.
  await drainOneSlowRequest(server, { headers: { connection: 'close' } });
  const exit = await exitWithin(server, 3_000);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
  assert.equal(await tryConnect(server.port), 'ECONNREFUSED');
  assert.ok(server.logs.find((line) => line.msg === 'stopped'), 'the last word is "stopped"');
});

test('SIGTERM exits promptly even when the in-flight request came on a keep-alive connection', async () => {
  const server = await startChildServer(config.configFile);
  await drainOneSlowRequest(server, {});
  const exit = await exitWithin(server, 1_500);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
});

test('SIGINT with nothing in flight exits 0 promptly', async () => {
  const server = await startChildServer(config.configFile);
  assert.equal((await server.text('/sleep?ms=1')).body, 'slept');
  const started = performance.now();
  const exit = await server.stop('SIGINT', 5_000);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
  assert.ok(performance.now() - started < 3_000, `took ${Math.round(performance.now() - started)} ms to exit`);
});
