/**
 * `wasio serve --processes 2`: several HTTP processes share the port, the primary says once
 * where they listen, `/stats` and `/metrics` count for all of them, a process that dies is
 * replaced, and SIGTERM stops them all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  childEnvironment, cliMain, LogLevel, runCli, startChildServer, testInstrument, waitUntil, writeConfig,
} from '../helpers/server.js';

/** The pids of `pid`'s child processes. */
function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

/** GET on a connection of its own (no keep-alive), so the primary hands each to a process in turn. */
function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    }).on('error', reject);
  });
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

const { configFile } = writeConfig({
  workers: 2,
  routes: {
    '/echo': { wasm_file: testInstrument('echo') },
    '/cached': { wasm_file: testInstrument('echo'), cache: true },
  },
});

test('two HTTP processes share the port; one line says where; stats and metrics count for both', async () => {
  const server = await startChildServer(configFile, 20_000, ['--processes', '2']);
  const announcements = server.logs.lines.filter((line) => String(line.msg).startsWith('WASIO listening'));
  assert.equal(announcements.length, 1);
  assert.equal(announcements[0]?.['processes'], 2);
  await waitUntil(() => childPids(server.child.pid as number).length === 2, 'two HTTP processes');

  const requests = 12;
  for (let i = 0; i < requests; i++) assert.equal(await getOnNewConnection(`${server.url}/echo?i=${i}`), 200);
  const stats = JSON.parse((await server.text('/stats')).body) as {
    total_requests: number; workers: { total: number }; routes: Record<string, { requests: number }>;
  };
  assert.equal(stats.total_requests, requests);
  assert.equal(stats.routes['/echo']?.requests, requests);
  assert.equal(stats.workers.total, 2, 'the two workers are shared out, one per process');

  const metrics = (await server.text('/metrics')).body;
  assert.match(metrics, new RegExp(`wasio_http_requests_total\\{route="/echo",method="GET",status="200"\\} ${requests}\\n`));
  assert.match(metrics, /\nwasio_workers 2\n/);

  const pids = childPids(server.child.pid as number);
  const status = await server.stop('SIGTERM');
  assert.deepEqual(status, { code: 0, signal: null });
  for (const pid of pids) assert.equal(alive(pid), false, `HTTP process ${pid} stopped with the primary`);
});

test('an HTTP process that dies is replaced, and the server keeps serving', async () => {
  const server = await startChildServer(configFile, 20_000, ['--processes', '2']);
  await waitUntil(() => childPids(server.child.pid as number).length === 2, 'two HTTP processes');
  const [victim] = childPids(server.child.pid as number);
  process.kill(victim as number, 'SIGKILL');
  await server.logs.waitFor('the death logged', (line) => line.level === LogLevel.error && String(line.msg).includes('HTTP process died'));
  for (let i = 0; i < 6; i++) assert.equal(await getOnNewConnection(`${server.url}/echo?after=${i}`), 200);
  await waitUntil(() => {
    const pids = childPids(server.child.pid as number);
    return pids.length === 2 && !pids.includes(victim as number);
  }, 'a replacement process', 10_000);
  const status = await server.stop('SIGTERM');
  assert.equal(status.code, 1, 'a process died on the way, so the exit status says so');
});

test('every log line of several processes arrives whole', async () => {
  const server = await startChildServer(configFile, 20_000, ['--processes', '2']);
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const response = await fetch(`${server.url}/cached?line=${i % 20}`);
    await response.arrayBuffer();
  }));
  await server.stop('SIGTERM');
  assert.deepEqual(server.logs.otherText, [], 'no torn or mixed line');
  assert.equal(server.logs.lines.filter((line) => line.msg === 'request').length, 200);
});

test('with stdout a file, the processes write their lines to it themselves, every line whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wasio-processes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'log');
  const logFd = openSync(logPath, 'w');
  const child = spawn(process.execPath, [cliMain, 'serve', '-c', configFile, '--port', '0', '--processes', '2'], {
    stdio: ['ignore', logFd, 'ignore'], env: childEnvironment(),
  });
  closeSync(logFd);
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines = (): Record<string, unknown>[] => readFileSync(logPath, 'utf8').split('\n').filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  let port = 0;
  await waitUntil(() => {
    port = Number(lines().find((line) => String(line['msg']).startsWith('WASIO listening'))?.['port'] ?? 0);
    return port > 0;
  }, 'the line saying where the server listens', 20_000);
  const pids = childPids(child.pid as number);
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(readlinkSync(`/proc/${pid}/fd/1`), logPath, `HTTP process ${pid} writes the file itself`);

  const requests = 400;
  for (let batch = 0; batch < requests; batch += 40) {
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      assert.equal(await getOnNewConnection(`http://127.0.0.1:${port}/cached?line=${(batch + i) % 20}&pad=${'x'.repeat(batch)}`), 200);
    }));
  }
  child.kill('SIGTERM');
  assert.deepEqual(await exited, [0, null]);
  const accessLines = lines().filter((line) => line['msg'] === 'request');
  assert.equal(accessLines.length, requests, 'every line is whole JSON, and none is missing');
  assert.equal(new Set(accessLines.map((line) => line['reqId'])).size, requests);
});

test('a port in use stops every process with a clear error and a non-zero status', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as { port: number };
  try {
    const result = await runCli(['serve', '-c', configFile, '--processes', '2', '--port', String(port)], 20_000);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /EADDRINUSE/);
  } finally {
    blocker.close();
  }
});

test('--processes takes a positive count or auto', async () => {
  const result = await runCli(['serve', '-c', configFile, '--processes', 'many']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--processes must be a positive integer or "auto", got "many"/);
});
