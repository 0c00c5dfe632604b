/**
 * No lost and no torn writes: instances that append to a mounted file at the same time, or
 * are stopped by their timeout right after (or between) appends, leave every record whole.
 * The host opens append-mode files O_APPEND, so the kernel appends each write at once.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleInstrument, repoRoot, startServer, testInstrument, type FileTree } from '../helpers/server.js';

/** examples/data/chat as files to create beside the config, so the chat writes into a copy. */
function chatDataCopy(): FileTree {
  const source = join(repoRoot, 'examples', 'data', 'chat');
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(source)) files[`chat/${name}`] = readFileSync(join(source, name));
  return files;
}

const server = await startServer({
  routes: {
    '/chat': { wasm_file: exampleInstrument('chat'), mounts: [{ guest: '/chat', host: 'chat' }] },
    // Appends its line, then sleeps far past its timeout. The timeouts leave room for a
    // replacement worker to start on a busy machine: the point is the file, not the clock.
    '/writer': { wasm_file: testInstrument('writer'), timeout_ms: 600, mounts: [{ guest: '/data', host: 'writer' }] },
    // Appends 1 KiB records in a loop until the timeout stops it.
    '/append': { wasm_file: testInstrument('append_spin'), timeout_ms: 1_000, mounts: [{ guest: '/data', host: 'append' }] },
    '/append-writev': { wasm_file: testInstrument('append_spin'), timeout_ms: 600, mounts: [{ guest: '/data', host: 'append-writev' }] },
  },
}, { files: { ...chatDataCopy(), 'writer/.keep': '', 'append/.keep': '', 'append-writev/.keep': '' } });

test('100 concurrent chat messages are all kept', async () => {
  const sends = Array.from({ length: 100 }, (_, index) => server.text('/chat', {
    method: 'POST',
    body: new URLSearchParams({ action: 'send', username: `writer${index % 7}`, text: `message ${index}` }),
  }));
  for (const { response, body } of await Promise.all(sends)) {
    assert.equal(response.status, 200, body);
    assert.deepEqual(JSON.parse(body), { status: 'ok' });
  }
  const expected = Array.from({ length: 100 }, (_, index) => `message ${index}`).sort();

  const { response, body } = await server.text('/chat?action=get&n=100');
  assert.equal(response.status, 200);
  const listed = (JSON.parse(body) as { text: string }[]).map((message) => message.text).sort();
  assert.deepEqual(listed, expected, 'the chat lists every message once');

  const stored = readFileSync(join(server.dir, 'chat', 'messages.jsonl'), 'utf8');
  assert.ok(stored.endsWith('\n'));
  const lines = stored.slice(0, -1).split('\n');
  const texts = lines.map((line) => (JSON.parse(line) as { text: string }).text).sort();
  assert.deepEqual(texts, expected, 'the file holds 100 whole lines, one per message');
  await assertHealthy();
});

test('a writer stopped by its timeout right after its one write leaves whole lines', async () => {
  const ids: string[] = [];
  for (let round = 0; round < 3; round++) {
    const pair = [`round${round}a`, `round${round}b`];
    ids.push(...pair);
    const answers = await Promise.all(pair.map((id) => server.text(`/writer?id=${id}&sleep=10000`)));
    for (const { response } of answers) {
      assert.equal(response.status, 504);
      const requestId = response.headers.get('x-request-id') ?? '';
      const accessLine = await server.logs.waitFor(`access line of ${requestId}`, (line) => line['reqId'] === requestId && line.msg === 'request');
      assert.equal(accessLine['error'], 'WASIO_ERR_TIMEOUT');
    }
  }
  const content = readFileSync(join(server.dir, 'writer', 'log.txt'), 'utf8');
  assert.ok(content.endsWith('\n'), 'the last line is complete');
  assert.deepEqual(content.slice(0, -1).split('\n').sort(), ids.sort());
  await assertHealthy();
});

async function assertHealthy(): Promise<void> {
  assert.equal((await server.text('/health')).response.status, 200, 'GET /health');
}

const RECORD = /^(\w+) (\d+) x{1000}\|$/;

/**
 * Checks a file of append_spin records: every line whole, and each instance's records
 * numbered 0, 1, 2, ... with none missing. Returns the records by instance.
 */
function assertWholeRecords(file: string, ids: readonly string[]): Map<string, number> {
  const content = readFileSync(file, 'utf8');
  assert.ok(content.endsWith('\n'), 'the last record is complete');
  const next = new Map<string, number>();
  const lines = content.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const match = RECORD.exec(line);
    assert.ok(match, `line ${index + 1} of ${lines.length} is torn or mixed: ${JSON.stringify(line.slice(0, 80))}... (${line.length} chars)`);
    const [, id, sequence] = match as unknown as [string, string, string];
    assert.equal(Number(sequence), next.get(id) ?? 0, `record ${sequence} of ${id} comes in order, none lost`);
    next.set(id, Number(sequence) + 1);
  });
  assert.deepEqual([...next.keys()].sort(), [...ids].sort(), 'every instance appended records');
  return next;
}

/**
 * Rounds of two instances at once appending records in a loop until their timeout, with
 * `spin` loop iterations between records.
 */
async function appendUntilStopped(path: string, parts: 1 | 2, spin: number, rounds: number): Promise<string[]> {
  const ids: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const pair = [`r${round}a`, `r${round}b`];
    ids.push(...pair);
    const answers = await Promise.all(pair.map((id) => server.text(`${path}?id=${id}&parts=${parts}&spin=${spin}`)));
    for (const { response } of answers) assert.equal(response.status, 504);
  }
  return ids;
}

test('instances appending records in a loop, two at once, stopped by their timeout: no record torn, mixed or lost', async (t) => {
  // Spinning long enough between records that the timeout stops each instance mid-stream.
  const ids = await appendUntilStopped('/append', 1, 600_000, 3);
  const records = assertWholeRecords(join(server.dir, 'append', 'records.txt'), ids);
  t.diagnostic(`records per instance: ${[...records.values()].join(', ')}`);
  assert.ok([...records.values()].every((count) => count < 2000), 'the timeout stopped every instance while it was still appending');
  await assertHealthy();
});

test('a record appended with one writev of two parts is never split by another instance\'s record', async (t) => {
  // A short spin, so the two instances' appends come close together.
  const ids = await appendUntilStopped('/append-writev', 2, 20_000, 2);
  const records = assertWholeRecords(join(server.dir, 'append-writev', 'records.txt'), ids);
  t.diagnostic(`records per instance: ${[...records.values()].join(', ')}`);
  await assertHealthy();
});
