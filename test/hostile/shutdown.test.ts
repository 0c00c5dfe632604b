/**
 * Hostile clients against graceful shutdown: `wasio serve` stops on SIGTERM once in-flight
 * requests finish. A connection that carries no request is not in flight, so it must not
 * hold the exit (fetch leaves such connections behind when requests are aborted).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startChildServer, testInstrument, writeConfig, type ChildServer, type ExitStatus } from '../helpers/server.js';

/** Prompt enough for a server with nothing in flight; the forced exit comes only after the longest timeout + 5 s. */
const PROMPT_EXIT_MS = 2_000;

async function startEchoServer(): Promise<ChildServer> {
  // Short route timeouts keep the server's own forced exit (longest timeout + grace) near.
  const { configFile } = writeConfig({ routes: { '/echo': { wasm_file: testInstrument('echo'), timeout_ms: 1_000 } } });
  const server = await startChildServer(configFile);
  assert.equal((await server.text('/echo')).response.status, 200);
  return server;
}

/** SIGTERM, then the exit status, or 'still running' after `PROMPT_EXIT_MS`. */
async function terminate(server: ChildServer): Promise<ExitStatus | 'still running'> {
  server.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), PROMPT_EXIT_MS);
  });
  try {
    return await Promise.race([server.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function openSilentConnection(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

test('with only idle keep-alive connections open, SIGTERM ends the server at once with status 0', async () => {
  const server = await startEchoServer();
  assert.deepEqual(await terminate(server), { code: 0, signal: null });
});

test('a connection that never sends a request does not hold the server\'s exit on SIGTERM', async () => {
  const server = await startEchoServer();
  const silent = await openSilentConnection(server.port);
  try {
    assert.deepEqual(await terminate(server), { code: 0, signal: null });
  } finally {
    // Lets the server finish its shutdown if the connection was holding it.
    silent.destroy();
  }
});
