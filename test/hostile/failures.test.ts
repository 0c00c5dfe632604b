/**
 * Instruments that fail on purpose (SPEC section 4): each gets a 500 with a short body, a log
 * line that says why with the route and request id, and the server goes on answering. The
 * server runs in this process, so its memory is this process's memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIB, mebibytes, residentBytes, settledValue } from '../helpers/hostile.js';
import { LogLevel, startServer, testInstrument, type LogLine } from '../helpers/server.js';

const MEMORY_LIMIT_MB = 32;
const OUTPUT_LIMIT_BYTES = 65_536;

const server = await startServer({
  routes: {
    '/echo': { wasm_file: testInstrument('echo') },
    '/memory-bomb': { wasm_file: testInstrument('memory_bomb'), memory_limit_mb: MEMORY_LIMIT_MB },
    '/flood': { wasm_file: testInstrument('flood'), max_output_bytes: OUTPUT_LIMIT_BYTES },
    '/recurse': { wasm_file: testInstrument('recurse') },
    '/trap': { wasm_file: testInstrument('trap') },
    '/exit3': { wasm_file: testInstrument('exit3') },
    '/raise': { wasm_file: testInstrument('raise_abort') },
  },
});

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly requestId: string;
  readonly elapsedMs: number;
  /** Every log line of the request, the access line included. */
  readonly lines: LogLine[];
}

/** GETs `path`, waits for its access log line, and returns the answer with its log lines. */
async function call(path: string): Promise<Answer> {
  const started = performance.now();
  const { response, body } = await server.text(path);
  const elapsedMs = performance.now() - started;
  const requestId = response.headers.get('x-request-id') ?? assert.fail(`${path}: no X-Request-Id`);
  await server.logs.waitFor(`access line of ${requestId}`, (line) => line['reqId'] === requestId && line.msg === 'request');
  const lines = server.logs.filter((line) => line['reqId'] === requestId);
  return { status: response.status, body, requestId, elapsedMs, lines };
}

/** The error-level line of a failed request (the one that says why). */
function errorLine(answer: Answer): LogLine {
  return answer.lines.find((line) => line.level >= LogLevel.error && line.msg !== 'request')
    ?? assert.fail(`no error line for ${answer.requestId}:\n${server.logs.dump()}`);
}

/** The failure left the server whole: /health and an ordinary route still answer. */
async function assertServerAnswers(): Promise<void> {
  const health = await server.text('/health');
  assert.equal(health.response.status, 200, 'GET /health');
  const echo = await server.text('/echo');
  assert.equal(echo.response.status, 200, 'GET /echo');
}

/** A memory bomb's answer, checked for what does not depend on how the limit is reported. */
function assertBombFailed(answer: Answer): void {
  assert.equal(answer.status, 500, answer.body);
  assert.ok(answer.body.length < 100, `short body: ${answer.body}`);
  const report = answer.lines.find((line) => /^out of memory after \d+ MiB$/.test(String(line.msg)));
  const reached = Number(/(\d+) MiB/.exec(String(report?.msg))?.[1]);
  assert.ok(reached > 0 && reached < MEMORY_LIMIT_MB, `the guest allocated ${reached} MiB under a limit of ${MEMORY_LIMIT_MB}`);
  assert.equal(errorLine(answer)['route'], '/memory-bomb');
}

test('a memory bomb under memory_limit_mb 32 is a 500, and the server\'s memory stays bounded', async (t) => {
  await assertServerAnswers(); // workers started and /echo compiled before the baseline
  const before = residentBytes();
  // Several rounds, two at once: memory an instance kept after its run would add up.
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    for (const answer of await Promise.all([call('/memory-bomb'), call('/memory-bomb')])) assertBombFailed(answer);
  }
  const slackBytes = 150 * MIB;
  const after = await settledValue(() => residentBytes(), before + slackBytes, 5_000);
  t.diagnostic(`resident memory: ${mebibytes(before)} MiB before, ${mebibytes(after)} MiB after`);
  assert.ok(after < before + slackBytes,
    `resident memory went from ${mebibytes(before)} MiB to ${mebibytes(after)} MiB after ${2 * rounds} bombs of ${MEMORY_LIMIT_MB} MiB`);
  await assertServerAnswers();
});

test('a memory bomb\'s failure is logged as "memory limit"', async () => {
  const answer = await call('/memory-bomb');
  assertBombFailed(answer);
  assert.match(String(errorLine(answer).msg), /memory limit/);
  await assertServerAnswers();
});

test('an output flood past max_output_bytes is a 500 logged as the output limit, stopped at once rather than at the timeout', async () => {
  const answer = await call('/flood');
  assert.equal(answer.status, 500);
  assert.ok(answer.body.length < 100, 'none of the flood reaches the client');
  const failure = errorLine(answer);
  assert.equal(failure['code'], 'WASIO_ERR_OUTPUT_LIMIT');
  assert.match(String(failure.msg), new RegExp(`output exceeded the limit of ${OUTPUT_LIMIT_BYTES} bytes`));
  // The route keeps the default timeout of 10 s: the limit, not the clock, stopped it.
  assert.ok(answer.elapsedMs < 2_000, `answered after ${Math.round(answer.elapsedMs)} ms`);
  await assertServerAnswers();
});

test('unbounded recursion is a 500 with "stack overflow" in the log', async () => {
  const answer = await call('/recurse');
  assert.equal(answer.status, 500);
  const failure = errorLine(answer);
  assert.equal(failure['code'], 'WASIO_ERR_TRAP');
  assert.equal(failure['reason'], 'stack overflow');
  assert.equal(failure['route'], '/recurse');
  await assertServerAnswers();
});

test('a trap is a 500 with "unreachable" in the log, and the output before it is not sent', async () => {
  const answer = await call('/trap');
  assert.equal(answer.status, 500);
  assert.doesNotMatch(answer.body, /partial output/);
  const failure = errorLine(answer);
  assert.equal(failure['code'], 'WASIO_ERR_TRAP');
  assert.equal(failure['reason'], 'unreachable');
  await assertServerAnswers();
});

test('exit status 3 is a 500; its stderr line is logged with the route and request id, never sent', async () => {
  const answer = await call('/exit3');
  assert.equal(answer.status, 500);
  assert.doesNotMatch(answer.body, /something broke/);
  const stderrLine = answer.lines.find((line) => line.msg === 'something broke')
    ?? assert.fail(`no stderr line for ${answer.requestId}:\n${server.logs.dump()}`);
  assert.equal(stderrLine['route'], '/exit3');
  assert.equal(stderrLine['reqId'], answer.requestId);
  const failure = errorLine(answer);
  assert.equal(failure['exitCode'], 3);
  assert.equal(failure['route'], '/exit3');
  await assertServerAnswers();
});

test('proc_raise(SIGABRT) ends the instance with a 500, not the server', async () => {
  const answer = await call('/raise');
  assert.equal(answer.status, 500);
  assert.doesNotMatch(answer.body, /still running/, 'the guest did not go on after proc_raise');
  const failure = errorLine(answer);
  assert.equal(failure['code'], 'WASIO_ERR_PROC_RAISE');
  assert.match(String(failure['reason']), /signal 6/);
  assert.ok(answer.lines.some((line) => line.msg === 'about to raise SIGABRT' && line['route'] === '/raise'),
    'what the guest wrote to stderr before raising is logged');
  await assertServerAnswers();
});
