/**
 * The access-log line written by hand is the line pino writes for the same fields, byte for
 * byte, whatever the fields hold: absent ones, quotes, backslashes, control characters,
 * non-ASCII text, fractions; and so are the lines one encoder writes in a row, which repeat
 * the parts that did not change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ACCESS_LOG_MESSAGE, accessLogLine, isoTimeNow, type AccessLogFields } from '../../src/http/access-log.js';
import { AccessLineEncoder } from '../../src/http/access-line-encoder.js';

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

test('lines written one after another by one encoder are each pino\'s line, whichever fields changed since the last', () => {
  const encoder = new AccessLineEncoder();
  const changes: readonly Partial<AccessLogFields>[] = [
    {}, {}, { path: '/hello?name=B' }, { method: 'HEAD' }, { status: 304, bytes: 0 }, { bytes: 13 }, { route: '/other' },
    { cache: 'HIT', instanceMs: undefined, queueMs: undefined }, { cache: 'MISS' }, { error: 'trap' }, { error: undefined },
    { remoteAddress: '::1' }, { httpVersion: '1.0' }, { referer: 'http://example.com/' }, { userAgent: 'other-agent "2"' },
    { userAgent: undefined }, { path: '/héllo' }, { path: '/hello?name=A' }, {},
  ];
  const bytes = Buffer.alloc(4096);
  let fields = plain;
  changes.forEach((change, index) => {
    fields = { ...fields, ...change, durationMs: index * 1.25 };
    const requestId = `req-${index}`;
    const end = encoder.encode(bytes, 0, '2026-11-26T12:34:56.789Z', requestId, fields);
    assert.ok(end <= AccessLineEncoder.maxBytes(requestId, fields));
    assert.equal(bytes.toString('utf8', 0, end), pinoLine('2026-11-26T12:34:56.789Z', requestId, fields), `line ${index}`);
  });
});

test('durations are written as String writes them, hundredths or not', () => {
  const values = [0, -0, 0.01, 0.1, 0.29, 1.005, 99.99, 123456.78, 1e12 + 0.01, 1e13, 2 ** 53, -1.5, 1e-7, 1 / 3, Number.MAX_VALUE];
  for (let hundredths = 0; hundredths < 20_000; hundredths += 7) values.push(hundredths / 100);
  for (let index = 0; index < 2_000; index++) values.push(Math.round(Math.random() * 1e9) / 100);
  for (const durationMs of values) {
    const line = accessLogLine('2026-11-26T12:34:56.789Z', 'req', { ...plain, durationMs });
    assert.ok(line.includes(`,"durationMs":${String(durationMs)},`), `${durationMs} in ${line}`);
  }
});

test('the most bytes a line can take is enough for the worst text', () => {
  const worst = '\u0001'.repeat(300);
  const fields: AccessLogFields = {
    ...plain, method: worst, path: worst, route: worst, cache: 'MISS', error: worst, remoteAddress: worst, httpVersion: worst,
    referer: worst, userAgent: '🚀'.repeat(150), durationMs: -Number.MAX_VALUE, instanceMs: -Number.MIN_VALUE, queueMs: 1 / 3,
    status: -Number.MAX_VALUE, bytes: Number.MIN_VALUE,
  };
  const room = AccessLineEncoder.maxBytes(worst, fields);
  const bytes = Buffer.alloc(room + 1, 0xff);
  const end = new AccessLineEncoder().encode(bytes, 0, '2026-11-26T12:34:56.789Z', worst, fields);
  assert.ok(end <= room, `${end} bytes fit in ${room}`);
  assert.equal(bytes[room], 0xff);
  assert.deepEqual(JSON.parse(bytes.toString('utf8', 0, end)), JSON.parse(pinoLine('2026-11-26T12:34:56.789Z', worst, fields)));
});
