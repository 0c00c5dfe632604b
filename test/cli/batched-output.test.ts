/**
 * The JSON log's output to the process's stdout: lines wait at most the delay and go out
 * together, in order; a full batch goes at once; an exiting process writes what is left;
 * a reader that falls behind loses nothing; a reader that is gone does not stop the process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BatchedOutput } from '../../src/cli/batched-output.js';
import { accessLogLine, type AccessLogFields } from '../../src/http/access-log.js';

const ACCESS_FIELDS: AccessLogFields = {
  method: 'GET', path: '/', status: 200, bytes: 6, durationMs: 0.05, route: '/', cache: 'HIT', instanceMs: undefined,
  queueMs: undefined, error: undefined, remoteAddress: '127.0.0.1', httpVersion: '1.1', referer: undefined, userAgent: undefined,
};

const MODULE_URL = new URL('../../src/cli/batched-output.js', import.meta.url).href;

function withFile(t: { after(fn: () => void): void }): { fd: number; read: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasio-batched-'));
  const path = join(dir, 'log');
  const fd = openSync(path, 'w');
  t.after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { fd, read: () => readFileSync(path, 'utf8') };
}

/**
 * Runs `body` in a child node with `BatchedOutput` imported; resolves with its exit status
 * and output. Its stdout is read from the start, from `readAfterMs`, or never (`'never'`:
 * closed at once).
 */
async function child(body: string, readAfterMs: number | 'never' = 0): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `import { BatchedOutput } from ${JSON.stringify(MODULE_URL)};\n${body}`;
  const process = spawn(globalThis.process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  process.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (readAfterMs === 'never') {
    process.stdout.destroy();
  } else {
    process.stdout.pause();
    setTimeout(() => process.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk)).resume(), readAfterMs);
  }
  const [code] = (await once(process, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test('lines wait for the delay, then go out together and in order', async (t) => {
  const file = withFile(t);
  const output = new BatchedOutput(file.fd, { delayMs: 30 });
  output.write('{"n":1}\n');
  output.write('{"n":2}\n');
  assert.equal(file.read(), '', 'nothing is written before the delay');
  await delay(80);
  output.write('{"n":3}\n');
  assert.equal(file.read(), '{"n":1}\n{"n":2}\n');
  await delay(80);
  assert.equal(file.read(), '{"n":1}\n{"n":2}\n{"n":3}\n');
});

test('a full batch is written at once', (t) => {
  const file = withFile(t);
  const output = new BatchedOutput(file.fd, { delayMs: 60_000, maxBytes: 20 });
  output.write('{"line":"first"}\n');
  assert.equal(file.read(), '');
  output.write('{"line":"second"}\n');
  assert.equal(file.read(), '{"line":"first"}\n{"line":"second"}\n');
});

test('access lines are written in their place among the other lines, as the text of accessLogLine', (t) => {
  const file = withFile(t);
  const output = new BatchedOutput(file.fd, { delayMs: 60_000 });
  const later = { ...ACCESS_FIELDS, path: '/later', userAgent: 'agent "quoted" ü' };
  output.write('{"n":1}\n');
  output.writeAccessLine('2026-11-27T00:00:00.000Z', 'first', ACCESS_FIELDS);
  output.write('{"n":2}\n');
  output.writeAccessLine('2026-11-27T00:00:00.001Z', 'second', later);
  output.writeAccessLine('2026-11-27T00:00:00.002Z', 'third', ACCESS_FIELDS);
  assert.equal(file.read(), '');
  output.flush();
  assert.equal(file.read(), `{"n":1}\n${accessLogLine('2026-11-27T00:00:00.000Z', 'first', ACCESS_FIELDS)}{"n":2}\n` +
    accessLogLine('2026-11-27T00:00:00.001Z', 'second', later) + accessLogLine('2026-11-27T00:00:00.002Z', 'third', ACCESS_FIELDS));
});

test('access lines count toward a full batch', (t) => {
  const file = withFile(t);
  const output = new BatchedOutput(file.fd, { delayMs: 60_000, maxBytes: 800 });
  for (let n = 0; n < 3; n++) output.writeAccessLine('2026-11-27T00:00:00.000Z', `id-${n}`, ACCESS_FIELDS);
  assert.equal(file.read(), '');
  output.writeAccessLine('2026-11-27T00:00:00.000Z', 'id-3', ACCESS_FIELDS);
  assert.equal(file.read().split('\n').length, 5, 'four lines, written at once');
});

test('a line larger than the batch is written whole, in order, and the next lines still are', (t) => {
  const file = withFile(t);
  const output = new BatchedOutput(file.fd, { delayMs: 60_000, maxBytes: 100 });
  const huge = { ...ACCESS_FIELDS, userAgent: '\u0001é'.repeat(40_000) };
  const text = `{"text":"${'ü'.repeat(50_000)}"}\n`;
  output.write('{"n":1}\n');
  output.writeAccessLine('2026-11-27T00:00:00.000Z', 'huge', huge);
  output.write(text);
  output.writeAccessLine('2026-11-27T00:00:00.000Z', 'after', ACCESS_FIELDS);
  output.flush();
  assert.equal(file.read(), `{"n":1}\n${accessLogLine('2026-11-27T00:00:00.000Z', 'huge', huge)}${text}` +
    accessLogLine('2026-11-27T00:00:00.000Z', 'after', ACCESS_FIELDS));
});

test('a process that exits writes what it still holds, and a pending line does not keep it alive', async () => {
  const started = Date.now();
  const ended = await child(`const output = new BatchedOutput(1, { delayMs: 60_000 });
output.write('{"a":1}\\n');
output.writeAccessLine('2026-11-27T00:00:00.000Z', 'x', ${JSON.stringify(ACCESS_FIELDS)});
output.write('{"b":2}\\n');`);
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal(ended.stdout, `{"a":1}\n${accessLogLine('2026-11-27T00:00:00.000Z', 'x', ACCESS_FIELDS)}{"b":2}\n`);
  assert.ok(Date.now() - started < 30_000, 'the process did not wait for the delay');
  const exited = await child(`new BatchedOutput(1, { delayMs: 60_000 }).write('{"c":3}\\n'); process.exit(3);`);
  assert.equal(exited.code, 3);
  assert.equal(exited.stdout, '{"c":3}\n');
});

for (const blocking of [true, false]) {
  test(`a reader that falls behind gets every line, whole and in order (${blocking ? 'blocking' : 'non-blocking'} descriptor)`, async () => {
    const lines = 20_000;
    // Node's own handle on a pipe makes its descriptor non-blocking: a full pipe then refuses writes (EAGAIN).
    const nonBlocking = blocking ? '' : `const { Socket } = await import('node:net'); new Socket({ fd: 1, readable: false }).unref();\n`;
    const ended = await child(`${nonBlocking}const output = new BatchedOutput(1, { delayMs: 1, maxBytes: 64 * 1024 });
for (let n = 0; n < ${lines}; n++) output.write(JSON.stringify({ n, pad: 'x'.repeat(40) }) + '\\n');`, 300);
    assert.equal(ended.code, 0, ended.stderr);
    const received = ended.stdout.split('\n');
    assert.equal(received.pop(), '', 'the output ends with a whole line');
    assert.equal(received.length, lines);
    received.forEach((line, n) => assert.deepEqual(JSON.parse(line), { n, pad: 'x'.repeat(40) }));
  });
}

test('a reader that is gone does not stop the process', async () => {
  const ended = await child(`const output = new BatchedOutput(1, { delayMs: 1 });
for (let n = 0; n < 50; n++) {
  output.write('{"n":' + n + '}\\n');
  output.flush();
  await new Promise((resolve) => setTimeout(resolve, 10));
}
process.stderr.write('still here\\n');`, 'never');
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal(ended.stderr, 'still here\n');
});

