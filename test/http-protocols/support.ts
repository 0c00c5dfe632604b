/**
 * What the protocol tests need beyond the shared harness (`../helpers/server.ts`): the paths of
 * their instruments, the log lines of one request, and the peak memory of a server process.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, type LogCapture, type LogLine } from '../helpers/server.js';

/** Absolute path of a protocol test instrument, `test/instruments/protocols/NAME.wasm`. */
export function protocolInstrument(name: string): string {
  return join(repoRoot, 'test', 'instruments', 'protocols', `${name}.wasm`);
}

/** The response's X-Request-Id, failing the test when there is none. */
export function requestIdOf(response: Response): string {
  const id = response.headers.get('x-request-id');
  assert.ok(id !== null && id !== '', `no X-Request-Id on a ${response.status} response`);
  return id;
}

/**
 * The log lines of one request, once its access line (written after the response) is in.
 * Rejects naming the request when that line never comes.
 */
export async function linesOfRequest(logs: LogCapture, requestId: string): Promise<LogLine[]> {
  await logs.waitFor(`"request" for ${requestId}`, (line) => line['reqId'] === requestId && line.msg === 'request');
  return logs.filter((line) => line['reqId'] === requestId);
}

/**
 * Asserts that every log line about `route` carries the request id of the one request made to
 * it, so a reader can follow that request through the log.
 */
export function assertRouteLinesTagged(logs: LogCapture, route: string, requestId: string): void {
  const lines = logs.filter((line) => line['route'] === route);
  assert.ok(lines.length > 0, `no log line names ${route}`);
  for (const line of lines) assert.equal(line['reqId'], requestId, `a log line of ${route} without its request id: ${JSON.stringify(line)}`);
}

/** Resident memory of a process, read from `/proc/PID/status` (Linux): current and peak, in bytes. */
export function residentMemory(pid: number): { current: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) * 1024;
  };
  return { current: kib('VmRSS'), peak: kib('VmHWM') };
}

/**
 * Resets the peak resident memory (VmHWM) of a process to its current size, so the next peak
 * read is the peak of what happens from now on (`clear_refs`, Linux 4.0 and later).
 */
export function resetPeakMemory(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Reads a response body to its end counting bytes and checking each against `expected(i)`, without keeping it. */
export async function checkStreamedBody(response: Response, expected: (index: number) => number): Promise<number> {
  assert.ok(response.body !== null, 'the response has a body');
  let length = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    for (let i = 0; i < chunk.byteLength; i++) {
      if (chunk[i] !== expected(length + i)) assert.fail(`byte ${length + i} is ${chunk[i]}, expected ${expected(length + i)}`);
    }
    length += chunk.byteLength;
  }
  return length;
}
