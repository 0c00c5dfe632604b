/**
 * The floor under a case of `bench/run.ts`: a bare `node:http` server in PROCESSES processes
 * (`node:cluster`, as `wasio serve --processes` runs), answering in one of two ways:
 *
 *   node dist/bench/floor-server.js hello PROCESSES
 *   node dist/bench/floor-server.js cache-hit PROCESSES
 *
 * - `hello`: "Hello", as the ceiling does; so the ceiling's own gain from a second process.
 * - `cache-hit`: the least a WASIO cache hit does: the headers it sends (a new request id,
 *   `X-Cache`, `ETag`, `Age`, the type and length) with the body, and one access-log line per
 *   request, written by WASIO's own `accessLogLine` and `BatchedOutput` to stdout. No routing,
 *   no cache lookup, no counters: what `node:http` and the access log cost on their own.
 *
 * Prints `floor port N` once a process listens (they share the port).
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import { BatchedOutput } from '../src/cli/batched-output.js';
import { accessLogLine, isoTimeNow } from '../src/http/access-log.js';

const [mode, processesArgument] = process.argv.slice(2);
const processes = Number(processesArgument ?? 1);
if ((mode !== 'hello' && mode !== 'cache-hit') || !Number.isInteger(processes) || processes < 1) {
  process.stderr.write('usage: floor-server.js hello|cache-hit PROCESSES\n');
  process.exit(2);
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
    log.write(accessLogLine(isoTimeNow(), requestId, {
      method: request.method ?? 'GET', path: request.url ?? '/', status: 200, bytes: body.byteLength,
      durationMs: Math.round((performance.now() - started) * 100) / 100, route: '/fibonacci', cache: 'HIT',
      instanceMs: undefined, queueMs: undefined, error: undefined, remoteAddress: request.socket.remoteAddress ?? '',
      httpVersion: request.httpVersion, referer: request.headers.referer, userAgent: request.headers['user-agent'],
    }));
  };
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
  const listener: RequestListener = mode === 'hello' ? (_request, response) => response.end('Hello') : cacheHit();
  const server = createServer(listener).listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (processes === 1 && address !== null && typeof address !== 'string') process.stdout.write(`floor port ${address.port}\n`);
  });
}
