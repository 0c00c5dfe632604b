/**
 * The floor under a case of `bench/run.ts`: a bare `node:http` server in PROCESSES processes
 * (`node:cluster`, as `wasio serve --processes` runs), answering in one of two ways:
 *
 *   node dist/bench/floor-server.js hello PROCESSES
 *   node dist/bench/floor-server.js cache-hit PROCESSES
 *   node dist/bench/floor-server.js tiny-run PROCESSES
 *   node dist/bench/floor-server.js socket-hello PROCESSES
 *
 * - `hello`: "Hello", as the ceiling does; so the ceiling's own gain from a second process.
 * - `cache-hit`: the least a WASIO cache hit does: the headers it sends (a new request id,
 *   `X-Cache`, `ETag`, `Age`, the type and length) with the body, and one access-log line per
 *   request, written by WASIO's own `BatchedOutput` to stdout. No routing,
 *   no cache lookup, no counters: what `node:http` and the access log cost on their own.
 * - `tiny-run`: the least a request to the tiny C instrument needs: its JSON payload
 *   (`encodeWasioPayload`), a run of `tiny_hello` on an instance kept and put back as new
 *   (`runJob`, `SpareMemories`, as WASIO runs it on the HTTP thread, without fuel), and the
 *   answer with a request id and its access line. No routing, no trust, no counters.
 * - `socket-hello`: "Hello" written straight to the socket (`node:net`) for every request head
 *   that arrives, with no HTTP parser at all: what Node's sockets allow without `node:http`.
 *   Not a server (it reads no request line, no body); it only bounds what another HTTP stack
 *   could reach.
 *
 * Prints `floor port N` once a process listens (they share the port).
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createSocketServer, type Socket } from 'node:net';
import { BatchedOutput } from '../src/cli/batched-output.js';
import { isoTimeNow } from '../src/http/access-log.js';
import { encodeWasioPayload, nextSeed } from '../src/protocol/wasio.js';
import { limitMemory } from '../src/runtime/memory-limit.js';
import { importDefinedMemory, SpareMemories } from '../src/runtime/memory-reuse.js';
import { runJob } from '../src/runtime/run-job.js';

const [mode, processesArgument] = process.argv.slice(2);
const processes = Number(processesArgument ?? 1);
const MODES = ['hello', 'cache-hit', 'tiny-run', 'socket-hello'];
if (mode === undefined || !MODES.includes(mode) || !Number.isInteger(processes) || processes < 1) {
  process.stderr.write(`usage: floor-server.js ${MODES.join('|')} PROCESSES\n`);
  process.exit(2);
}

/** Writes the access line of a request answered 200 with `bytes` bytes. */
function logAnswer(log: BatchedOutput, request: IncomingMessage, requestId: string, started: number, answer: {
  route: string; bytes: number; cache: 'HIT' | undefined; instanceMs: number | undefined;
}): void {
  log.writeAccessLine(isoTimeNow(), requestId, {
    method: request.method ?? 'GET', path: request.url ?? '/', status: 200, bytes: answer.bytes,
    durationMs: Math.round((performance.now() - started) * 100) / 100, route: answer.route, cache: answer.cache,
    instanceMs: answer.instanceMs, queueMs: undefined, error: undefined, remoteAddress: request.socket.remoteAddress ?? '',
    httpVersion: request.httpVersion, referer: request.headers.referer, userAgent: request.headers['user-agent'],
  });
}

function cacheHit(): RequestListener {
  const log = new BatchedOutput(1);
  const body = Buffer.from('75025\n');
  const etag = '"2f1d6c3a9b7e4d50"';
  const storedAt = Date.now();
  return (request, response) => {
    const started = performance.now();
    const requestId = randomUUID();
    response.writeHead(200, {
      'x-request-id': requestId, 'x-cache': 'HIT', etag, age: String(Math.floor((Date.now() - storedAt) / 1000)),
      'content-type': 'text/plain; charset=utf-8', 'content-length': body.byteLength,
    }).end(body);
    logAnswer(log, request, requestId, started, { route: '/fibonacci', bytes: body.byteLength, cache: 'HIT', instanceMs: undefined });
  };
}

async function tinyRun(): Promise<RequestListener> {
  const log = new BatchedOutput(1);
  const path = new URL('../../examples/instruments/tiny_hello.wasm', import.meta.url).pathname;
  const limited = importDefinedMemory(limitMemory(await readFile(path), 128, path));
  const { memoryImport, instanceReset } = limited;
  if (memoryImport === undefined || instanceReset === undefined) throw new Error('tiny_hello cannot be run on a kept instance');
  const loaded = { module: await WebAssembly.compile(limited.bytes as Uint8Array<ArrayBuffer>), memoryImport, instanceReset, memoryLimitBytes: 128 * 2 ** 20, byteLength: 0 };
  const spares = new SpareMemories(8 * 2 ** 20);
  return (request, response) => {
    const started = performance.now();
    const requestId = randomUUID();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const stdin = encodeWasioPayload({
      method: request.method ?? 'GET', path: query === -1 ? url : url.slice(0, query), rawQuery: query === -1 ? '' : url.slice(query + 1),
      route: '/tiny_hello', pathParams: {}, headers: request.headers as Record<string, string>, body: new Uint8Array(0),
      remoteAddress: request.socket.remoteAddress ?? '', httpVersion: request.httpVersion, tls: false,
    }, nextSeed());
    const spare = spares.take(1, memoryImport);
    const result = runJob(loaded, { args: ['tiny_hello'], env: {}, stdin, mounts: [], maxOutputBytes: 1 << 20 }, spare);
    spares.keep(1, spare, memoryImport);
    if (!result.ok) throw new Error(`tiny_hello failed: ${result.message}`);
    response.writeHead(200, {
      'x-request-id': requestId, 'content-type': 'text/plain; charset=utf-8', 'content-length': result.stdout.byteLength,
    }).end(result.stdout);
    logAnswer(log, request, requestId, started, { route: '/tiny_hello', bytes: result.stdout.byteLength, cache: undefined, instanceMs: result.runMs });
  };
}

/** Answers each request head (up to its blank line) with a fixed "Hello" response. */
function socketHello(socket: Socket): void {
  const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nHello');
  let pending = '';
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    let heads = 0;
    for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
      pending = pending.slice(end + 4);
      heads++;
    }
    if (heads > 0) socket.write(heads === 1 ? response : Buffer.concat(new Array<Buffer>(heads).fill(response)));
  });
}

if (cluster.isPrimary && processes > 1) {
  let announced = false;
  for (let n = 0; n < processes; n++) {
    cluster.fork().on('listening', ({ port }) => {
      if (!announced) process.stdout.write(`floor port ${port}\n`);
      announced = true;
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const server = mode === 'socket-hello' ? createSocketServer(socketHello) : createServer(
    mode === 'hello' ? (_request, response) => response.end('Hello') : mode === 'cache-hit' ? cacheHit() : await tinyRun(),
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (processes === 1 && address !== null && typeof address !== 'string') process.stdout.write(`floor port ${address.port}\n`);
  });
}
