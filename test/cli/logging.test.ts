/**
 * The log formats of `wasio serve`: how the format and level are chosen (flag, environment,
 * terminal), what each format writes where, and, through a real `wasio serve --log-format
 * apache`, that access lines are Apache combined lines with the request id while guest stderr
 * lines keep their route and request id.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, logSettings, type LogSettings, type TextOutput } from '../../src/cli/logger.js';
import { CliUsageError } from '../../src/cli/errors.js';
import { apacheTime, combinedLogLine, type LoggedAccessLine } from '../../src/http/access-log.js';
import { cliMain, testInstrument, writeConfig } from '../helpers/server.js';

/** A text output that keeps what it is given. */
class Captured implements TextOutput {
  text = '';
  constructor(readonly isTTY = false) {}
  write(text: string): boolean {
    this.text += text;
    return true;
  }
}

function loggerFor(settings: LogSettings): { stdout: Captured; stderr: Captured; logger: ReturnType<typeof createLogger> } {
  const stdout = new Captured();
  const stderr = new Captured();
  return { stdout, stderr, logger: createLogger(settings, { stdout, stderr }) };
}

const accessFields = {
  method: 'GET', path: '/hello?name=A', status: 200, bytes: 12, durationMs: 3.5, route: '/hello', cache: undefined,
  instanceMs: 2.1, queueMs: 0.1, error: undefined, remoteAddress: '127.0.0.1', httpVersion: '1.1',
  referer: 'http://example.com/', userAgent: 'test-agent/1.0',
};

describe('choosing the format and level', () => {
  test('the flag wins over the environment, which wins over the default', () => {
    const env = { WASIO_LOG_FORMAT: 'apache', WASIO_LOG_LEVEL: 'warn' };
    assert.deepEqual(logSettings({ logFormat: 'json', logLevel: 'debug' }, env, true), { format: 'json', level: 'debug' });
    assert.deepEqual(logSettings({}, env, true), { format: 'apache', level: 'warn' });
  });

  test('by default: pretty on a terminal, JSON otherwise, level info', () => {
    assert.deepEqual(logSettings({}, {}, true), { format: 'pretty', level: 'info' });
    assert.deepEqual(logSettings({}, {}, false), { format: 'json', level: 'info' });
  });

  test('an unknown format or level is a usage error naming it and the choices', () => {
    assert.throws(() => logSettings({ logFormat: 'xml' }, {}, false), (error: Error) =>
      error instanceof CliUsageError && /"xml"/.test(error.message) && /json, pretty, apache/.test(error.message));
    assert.throws(() => logSettings({}, { WASIO_LOG_LEVEL: 'loud' }, false), (error: Error) =>
      error instanceof CliUsageError && /"loud"/.test(error.message) && /WASIO_LOG_LEVEL/.test(error.message));
  });
});

describe('what each format writes', () => {
  test('json: one object per line on stdout, with the request id of a request\'s lines', () => {
    const { stdout, stderr, logger } = loggerFor({ format: 'json', level: 'info' });
    logger.child({ reqId: 'r-1' }).info({ route: '/hello', stream: 'stderr' }, 'guest says hi');
    logger.debug('below the level');
    const lines = stdout.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.['reqId'], 'r-1');
    assert.equal(lines[0]?.['route'], '/hello');
    assert.equal(lines[0]?.['msg'], 'guest says hi');
    assert.equal(stderr.text, '');
  });

  test('pretty: one readable line per event, the request id first and an access line read as its request', () => {
    const { stdout, logger } = loggerFor({ format: 'pretty', level: 'info' });
    logger.child({ reqId: 'r-2' }).info(accessFields, 'request');
    logger.child({ reqId: 'r-2' }).warn({ route: '/hello' }, 'guest says hi');
    const [access, guest] = stdout.text.trimEnd().split('\n');
    assert.match(access ?? '', /INFO.*\[r-2\] GET \/hello\?name=A 200 3\.5 ms/);
    assert.match(access ?? '', /"route":"\/hello"/, 'the other fields follow');
    assert.doesNotMatch(access ?? '', /"(method|path|status|durationMs)"/, 'fields already in the message are not repeated');
    assert.match(guest ?? '', /WARN.*\[r-2\] guest says hi.*"route":"\/hello"/);
    assert.doesNotMatch(stdout.text, /\u001b\[/, 'no colours when the output is not a terminal');
  });

  test('apache: access lines in combined format on stdout, everything else readable on stderr', () => {
    const { stdout, stderr, logger } = loggerFor({ format: 'apache', level: 'info' });
    logger.child({ reqId: 'r-3' }).info(accessFields, 'request');
    logger.child({ reqId: 'r-3' }).info({ route: '/hello', stream: 'stderr' }, 'guest says hi');
    logger.info('server started');
    assert.match(stdout.text,
      /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/hello\?name=A HTTP\/1\.1" 200 12 "http:\/\/example\.com\/" "test-agent\/1\.0" "r-3"\n$/);
    const [guest, started] = stderr.text.trimEnd().split('\n');
    assert.match(guest ?? '', /\[r-3\] guest says hi.*"route":"\/hello"/);
    assert.match(started ?? '', /server started/);
  });

  test('a combined line escapes quotes and control characters, so no field can forge a line', () => {
    const line: LoggedAccessLine = {
      ...accessFields, msg: 'request', time: '2026-01-02T03:04:05.000Z', reqId: 'r-4', userAgent: 'evil"\n127.0.0.1 - - fake', referer: undefined,
    };
    const text = combinedLogLine(line);
    assert.equal(text.split('\n').length, 2, 'one line');
    assert.ok(text.includes('"evil\\"\\x0a127.0.0.1 - - fake"'), text);
    assert.ok(text.includes(' "" '), 'a missing referer is an empty quoted field, as Go WASIO wrote it');
  });

  test('the time is when the request arrived, in Apache\'s format', () => {
    const arrived = new Date(2026, 0, 2, 3, 4, 5);
    assert.match(apacheTime(arrived), /^02\/Jan\/2026:03:04:05 [+-]\d{4}$/);
    const line = combinedLogLine({ ...accessFields, msg: 'request', durationMs: 1000, time: arrived.getTime() + 1000 });
    assert.ok(line.includes(`[${apacheTime(arrived)}]`), line);
  });
});

test('wasio serve --log-format apache: combined access lines on stdout, guest stderr with route and request id on stderr', async (t) => {
  const { configFile } = writeConfig({ workers: 1, routes: { '/lines': { wasm_file: testInstrument('stderr_lines') } } });
  const child = spawn(process.execPath, [cliMain, 'serve', '-c', configFile, '--port', '0', '--log-format', 'apache', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, delay(10_000).then(() => child.kill('SIGKILL'))]);
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const deadline = Date.now() + 10_000;
  const waitFor = async (what: string, found: () => RegExpMatchArray | null): Promise<RegExpMatchArray> => {
    for (;;) {
      const match = found();
      if (match !== null) return match;
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no ${what}; stdout:\n${stdout}\nstderr:\n${stderr}`);
      await delay(20);
    }
  };
  const [, port] = await waitFor('listening line', () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr));
  const response = await fetch(`http://127.0.0.1:${port}/lines?x=1`, { headers: { 'x-request-id': 'apache-test-1', 'user-agent': 'log-test' } });
  assert.equal(await response.text(), 'ok');
  await waitFor('access line', () => /"apache-test-1"\n/.exec(stdout));
  assert.match(stdout, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/lines\?x=1 HTTP\/1\.1" 200 2 "" "log-test" "apache-test-1"$/m);
  await waitFor('guest stderr lines', () => /second stderr line/.exec(stderr));
  for (const text of ['first stderr line', 'second stderr line']) {
    const line = stderr.split('\n').find((candidate) => candidate.includes(text)) ?? '';
    assert.match(line, /\[apache-test-1\]/, `the request id is on: ${line}`);
    assert.match(line, /"route":"\/lines"/, `the route is on: ${line}`);
  }
  assert.doesNotMatch(stdout, /stderr line|listening/, 'only access lines go to stdout');
});
