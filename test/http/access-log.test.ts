/**
 * The access-log line written by hand is the line pino writes for the same fields, byte for
 * byte, whatever the fields hold: absent ones, quotes, backslashes, control characters,
 * non-ASCII text, fractions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ACCESS_LOG_MESSAGE, accessLogLine, isoTimeNow, type AccessLogFields } from '../../src/http/access-log.js';

/** What pino writes for `info({ reqId, ...fields }, 'request')` with the server's options at `time`. */
function pinoLine(time: string, requestId: string, fields: AccessLogFields): string {
  let written = '';
  const logger = pino({ base: null, timestamp: () => `,"time":"${time}"` }, { write: (line: string) => (written += line) });
  logger.info({ reqId: requestId, ...fields }, ACCESS_LOG_MESSAGE);
  return written;
}

const plain: AccessLogFields = {
  method: 'GET', path: '/hello?name=A', status: 200, bytes: 12, durationMs: 3.5, route: '/hello', cache: undefined,
  instanceMs: 2.1, queueMs: 0.01, error: undefined, remoteAddress: '127.0.0.1', httpVersion: '1.1',
  referer: undefined, userAgent: 'test-agent/1.0',
};

const cases: readonly (readonly [string, AccessLogFields])[] = [
  ['every field set', { ...plain, cache: 'MISS', error: 'instance exited with code 1', referer: 'http://example.com/' }],
  ['only the fields every line has', { ...plain, route: undefined, instanceMs: undefined, queueMs: undefined, userAgent: undefined }],
  ['a cache hit', { ...plain, status: 304, bytes: 0, durationMs: 0.06, cache: 'HIT', instanceMs: undefined, queueMs: undefined }],
  ['quotes, backslashes and control characters', {
    ...plain, path: '/a"b\\c?q=%22', userAgent: 'agent "quoted" \\ back\tslash\u0001\u001f\u007f', referer: 'line\nbreak\r',
    error: 'trap: unreachable\n  at "wasm"',
  }],
  ['non-ASCII text', { ...plain, path: '/héllo?name=日本', userAgent: 'ünïcødé 🚀', error: '\u2028\u2029' }],
  ['large and odd numbers', { ...plain, status: 599, bytes: 2 ** 40, durationMs: 123456.78, instanceMs: 0, queueMs: 1e-7 }],
  ['an empty remote address and HTTP/1.0', { ...plain, remoteAddress: '', httpVersion: '1.0' }],
];

for (const [name, fields] of cases) {
  test(`the hand-written line is pino's line: ${name}`, () => {
    const time = '2026-11-26T12:34:56.789Z';
    const line = accessLogLine(time, 'req-42', fields);
    assert.equal(line, pinoLine(time, 'req-42', fields));
    assert.deepEqual(JSON.parse(line), JSON.parse(pinoLine(time, 'req-42', fields)));
  });
}

test('the time is the clock now, in the format of pino\'s isoTime', () => {
  const before = Date.now();
  const time = isoTimeNow();
  const after = Date.now();
  assert.match(time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const at = Date.parse(time);
  assert.ok(at >= before && at <= after, `${time} is between ${before} and ${after}`);
});
