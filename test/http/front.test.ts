/**
 * The HTTP front on a bare `node:http` server: which requests it answers, which it hands over
 * (and with them, every byte after), and how it keeps a connection bounded and ordered.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { InvalidResponseHeaderError } from '../../src/http/errors.js';
import { FrontResponse, HttpFront, type FrontRequest } from '../../src/http/front/index.js';
import { exchange, openSocket, splitResponses } from '../helpers/raw-http.js';
import { waitUntil } from '../helpers/server.js';

interface Harness {
  readonly port: number;
  readonly server: Server;
  readonly front: HttpFront;
  /** Targets the front answered, in order. */
  readonly byFront: string[];
  /** Targets `node:http` answered, in order, with the bytes of their bodies. */
  readonly byNode: { url: string; bodyBytes: number }[];
  readonly failures: unknown[];
  /** The server's side of each connection. */
  readonly sockets: Socket[];
}

type Answer = (request: FrontRequest, response: FrontResponse) => boolean;

/** `/front/...` is the front's (answered at once unless `answer` says otherwise); all else is declined. */
const answerAtOnce: Answer = (request, response) => {
  if (!request.url.startsWith('/front/')) return false;
  const body = Buffer.from(`front:${request.url}`);
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.byteLength }).end(body);
  return true;
};

async function startHarness(answer: Answer = answerAtOnce): Promise<Harness> {
  const byFront: string[] = [];
  const byNode: { url: string; bodyBytes: number }[] = [];
  const failures: unknown[] = [];
  const sockets: Socket[] = [];
  const server = createServer((request, response) => {
    let bodyBytes = 0;
    request.on('data', (chunk: Buffer) => (bodyBytes += chunk.byteLength));
    request.on('end', () => {
      byNode.push({ url: request.url ?? '', bodyBytes });
      response.setHeader('content-type', 'text/plain');
      response.end(`node:${request.url}`);
    });
  });
  const front = HttpFront.install(server, (request, response) => {
    const answered = answer(request, response);
    if (answered) byFront.push(request.url);
    return answered;
  }, (error) => failures.push(error));
  assert.ok(front, 'the front installs on this version of Node');
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, server, front, byFront, byNode, failures, sockets };
}

const get = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

test('pipelined requests the front reads are answered in order, without node:http', async () => {
  const harness = await startHarness();
  const { received } = await exchange(harness.port, [get('/front/1') + get('/front/2') + get('/front/3')], { responses: 3 });
  assert.deepEqual(splitResponses(received).map((response) => response.body), ['front:/front/1', 'front:/front/2', 'front:/front/3']);
  assert.deepEqual(harness.byFront, ['/front/1', '/front/2', '/front/3']);
  assert.deepEqual(harness.byNode, []);
  const [first] = splitResponses(received);
  assert.equal(first?.statusLine, 'HTTP/1.1 200 OK');
  assert.ok(first?.headerLines.includes('Connection: keep-alive'));
  assert.ok(first?.headerLines.includes(`Keep-Alive: timeout=${Math.floor(harness.server.keepAliveTimeout / 1000)}`));
  assert.ok(first?.headerLines.some((line) => /^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/.test(line)));
});

test('from a declined request on, node:http reads the connection, every byte in order', async () => {
  const harness = await startHarness();
  const { received } = await exchange(harness.port, [get('/front/1') + get('/node/2') + get('/front/3'), get('/front/4')], { responses: 4 });
  assert.deepEqual(splitResponses(received).map((response) => response.body), ['front:/front/1', 'node:/node/2', 'node:/front/3', 'node:/front/4']);
  assert.deepEqual(harness.byFront, ['/front/1']);
});

test('a head that arrives in pieces goes to node:http with the bytes already read', async () => {
  const harness = await startHarness();
  const { received } = await exchange(harness.port, ['GET /front/slow HTTP/1.1\r\nHo', 'st: test\r\n', '\r\n'], { pauseMs: 50, responses: 1 });
  assert.deepEqual(splitResponses(received).map((response) => response.body), ['node:/front/slow']);
  assert.deepEqual(harness.byFront, []);
});

test('a request smuggled in a body is never answered by the front: node:http frames the body', async () => {
  const harness = await startHarness();
  const smuggled = get('/front/smuggled');
  const attempts = [
    `GET /front/a HTTP/1.1\r\nHost: test\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    `GET /front/b HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
  ];
  for (const attempt of attempts) {
    const { received } = await exchange(harness.port, [attempt], { responses: 1 });
    assert.equal(splitResponses(received).length, 1, received);
  }
  assert.deepEqual(harness.byFront, []);
  assert.deepEqual(harness.byNode, [{ url: '/front/a', bodyBytes: smuggled.length }, { url: '/front/b', bodyBytes: smuggled.length }]);
});

test('Connection: close ends the connection after its response; nothing after it is read', async () => {
  const harness = await startHarness();
  const { received, closed } = await exchange(harness.port, [get('/front/1', 'Connection: close\r\n') + get('/front/2')]);
  const responses = splitResponses(received);
  assert.equal(responses.length, 1);
  assert.ok(responses[0]?.headerLines.includes('Connection: close'));
  assert.ok(closed);
  assert.deepEqual(harness.byFront, ['/front/1']);
});

test('after Connection: close the front reads no more, however much the client sends', async () => {
  // An answer too big to leave at once, so the connection stays open while the client sends.
  const big = Buffer.alloc(32 * 1024 * 1024, 0x42);
  const harness = await startHarness((_request, response) => {
    response.writeHead(200, { 'content-length': big.byteLength }).end(big);
    return true;
  });
  const client = await openSocket(harness.port);
  client.on('error', () => {});
  client.pause();
  client.write(get('/front/last', 'Connection: close\r\n'));
  const filler = Buffer.alloc(1024 * 1024, 0x41);
  let sent = 0;
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline && sent < 32 * filler.byteLength && client.writableLength < 8 * filler.byteLength) {
    client.write(filler);
    sent += filler.byteLength;
    await delay(5);
  }
  await delay(200);
  const serverSide = harness.sockets[0];
  assert.ok(serverSide !== undefined);
  assert.ok(serverSide.bytesRead < sent / 4, `read ${serverSide.bytesRead} of ${sent} bytes sent`);
  assert.deepEqual(harness.byFront, ['/front/last']);
  client.destroy();
});

test('a client that half-closes gets its answers, then the connection ends', async () => {
  const harness = await startHarness();
  const { received, closed } = await exchange(harness.port, [get('/front/1') + get('/front/2')], { end: true, responses: 2 });
  assert.equal(splitResponses(received).length, 2);
  assert.ok(closed);
  const handedOver = await exchange(harness.port, [get('/front/3') + get('/node/4')], { end: true, responses: 2 });
  assert.deepEqual(splitResponses(handedOver.received).map((response) => response.body), ['front:/front/3', 'node:/node/4']);
  assert.ok(handedOver.closed);
});

test('a client that half-closes while its answer is pending has gone: the connection is destroyed at once', async () => {
  let late: FrontResponse | undefined;
  const harness = await startHarness((_request, response) => {
    late = response;
    return true;
  });
  const { received, closed } = await exchange(harness.port, [get('/pending')], { end: true, quietMs: 1_000 });
  assert.ok(closed);
  assert.equal(received, '');
  assert.ok(harness.sockets[0]?.destroyed);
  // The answer that comes after is dropped, and nothing breaks.
  late?.writeHead(200, { 'content-length': 4 }).end(Buffer.from('late'));
  assert.equal(harness.front.size, 0);
});

test('a connection idle past the keep-alive timeout is closed', async () => {
  const harness = await startHarness();
  harness.server.keepAliveTimeout = 200;
  const started = Date.now();
  const { closed } = await exchange(harness.port, [get('/front/1')], { quietMs: 2_000 });
  assert.ok(closed);
  assert.ok(Date.now() - started < 1_500, 'closed by the timeout, not by the exchange giving up');
  await waitUntil(() => harness.front.size === 0, 'the front forgets the closed connection');
});

test('a response is answered later, and the next request waits for it', async () => {
  const harness = await startHarness((request, response) => {
    const body = Buffer.from(`late:${request.url}`);
    const delayMs = request.url === '/slow' ? 150 : 0;
    setTimeout(() => response.writeHead(200, { 'content-length': body.byteLength }).end(body), delayMs);
    return true;
  });
  const { received } = await exchange(harness.port, [get('/slow') + get('/fast')], { responses: 2 });
  assert.deepEqual(splitResponses(received).map((response) => response.body), ['late:/slow', 'late:/fast']);
});

test('a HEAD is answered with the head only', async () => {
  const harness = await startHarness();
  const { received } = await exchange(harness.port, [`HEAD /front/h HTTP/1.1\r\nHost: test\r\n\r\n${get('/front/after')}`], { responses: 2, headRequests: [true] });
  const responses = splitResponses(received, [true]);
  assert.deepEqual(responses.map((response) => response.body), ['', 'front:/front/after']);
  assert.ok(responses[0]?.headerLines.includes('content-length: 14'));
});

test('a header node:http would refuse throws before anything is written', async () => {
  const thrown: unknown[] = [];
  const harness = await startHarness((_request, response) => {
    try {
      response.writeHead(200, { 'x-bad': 'a\r\nInjected: yes' });
    } catch (error) {
      thrown.push(error);
      response.writeHead(500, { 'content-length': 2 }).end(Buffer.from('no'));
    }
    return true;
  });
  const { received } = await exchange(harness.port, [get('/x')], { responses: 1 });
  assert.ok(thrown[0] instanceof InvalidResponseHeaderError);
  const responses = splitResponses(received);
  assert.equal(responses.length, 1);
  assert.equal(responses[0]?.statusLine, 'HTTP/1.1 500 Internal Server Error');
  assert.ok(!received.includes('Injected'));
});

test('names are still checked past the valid ones remembered, and a bad value under a known name is refused', () => {
  const written: string[] = [];
  const target = { keepAliveSeconds: 5, send: (head: string) => written.push(head), sendBytes: () => assert.fail('not rendered') };
  const many: Record<string, string> = {};
  for (let n = 0; n < 300; n++) many[`x-name-${n}`] = 'v';
  new FrontResponse(target, false, false).writeHead(200, many).end();
  assert.equal(written.length, 1);
  assert.throws(() => new FrontResponse(target, false, false).writeHead(200, { 'x-bad name': 'v' }), InvalidResponseHeaderError);
  assert.throws(() => new FrontResponse(target, false, false).writeHead(200, { 'x-name-1': 'v\r\nx: y' }), InvalidResponseHeaderError);
  assert.equal(written.length, 1, 'nothing written for a refused header');
});

test('a rendered response is what writeHead and end send, and is sent again with another id only while it fits', () => {
  const written: string[] = [];
  const target = {
    keepAliveSeconds: 5,
    send: (head: string, body: Uint8Array | undefined) => written.push(head + Buffer.from(body ?? []).toString('latin1')),
    sendBytes: (bytes: Uint8Array) => written.push(Buffer.from(bytes).toString('latin1')),
  };
  const body = Buffer.from('hello');
  const headers = (id: string): Record<string, string | number> => ({ 'x-request-id': id, etag: '"e"', 'content-length': body.length });
  const first = 'a'.repeat(36);
  const rendered = new FrontResponse(target, false, false).endRendered(200, headers(first), body);
  assert.ok(rendered !== undefined);
  new FrontResponse(target, false, false).writeHead(200, headers(first)).end(body);
  assert.equal(written[0], written[1], 'rendered as writeHead and end send it');

  const again = new FrontResponse(target, false, false);
  assert.equal(again.sendRendered(rendered, 'b'.repeat(36)), true);
  assert.equal(again.statusCode, 200);
  assert.equal(written[2], written[0]?.replace(first, 'b'.repeat(36)));

  const refused = [
    new FrontResponse(target, false, false).sendRendered(rendered, 'short'),
    new FrontResponse(target, true, false).sendRendered(rendered, first),
    new FrontResponse(target, false, true).sendRendered(rendered, first),
    new FrontResponse(target, false, false).sendRendered({ ...rendered, second: rendered.second - 1 }, first),
  ];
  assert.deepEqual(refused, [false, false, false, false]);
  assert.equal(written.length, 3, 'nothing sent when it does not fit');

  assert.equal(new FrontResponse(target, false, true).endRendered(200, headers(first), body), undefined, 'a closing connection keeps none');
  assert.match(written[3] ?? '', /\r\nConnection: close\r\n\r\nhello$/);
  assert.equal(new FrontResponse(target, false, false).endRendered(200, { etag: '"e"' }), undefined, 'no request id, none kept');
  assert.equal(new FrontResponse(target, false, false).endRendered(200, { 'x-request-id': ['a', 'b'] }), undefined, 'two request ids, none kept');
  const large = Buffer.alloc(8 * 1024, 0x61);
  assert.equal(new FrontResponse(target, false, false).endRendered(200, { 'x-request-id': first }, large), undefined, 'a large body, none kept');
  assert.ok(written[6]?.endsWith(large.toString('latin1')));
});

test('a handler that throws costs its connection only; the failure is reported', async () => {
  const harness = await startHarness((request, response) => {
    if (request.url === '/throw') throw new Error('handler broke');
    return answerAtOnce(request, response);
  });
  const broken = await exchange(harness.port, [get('/throw')]);
  assert.ok(broken.closed);
  assert.equal(broken.received, '');
  assert.match(String(harness.failures[0]), /handler broke/);
  const next = await exchange(harness.port, [get('/front/ok')], { responses: 1 });
  assert.deepEqual(splitResponses(next.received).map((response) => response.body), ['front:/front/ok']);
});

test('closing idle connections spares one whose answer is pending', async () => {
  const harness = await startHarness((_request, response) => {
    setTimeout(() => response.writeHead(200, { 'content-length': 4 }).end(Buffer.from('done')), 200);
    return true;
  });
  const idle = await openSocket(harness.port);
  const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  const busy = exchange(harness.port, [get('/pending')]);
  await delay(80);
  assert.equal(harness.front.size, 2);
  harness.front.closeIdleConnections();
  await idleClosed;
  const { received } = await busy;
  assert.deepEqual(splitResponses(received).map((response) => response.body), ['done']);
});

test('a client that sends without reading its answers is not read ahead without bound', async () => {
  const harness = await startHarness();
  const client = await openSocket(harness.port);
  client.on('error', () => {});
  const request = Buffer.from(get('/front/flood'));
  const batch = Buffer.concat(Array.from({ length: 2_000 }, () => request));
  let sent = 0;
  // Write until the kernel's buffers are full both ways; the client never reads.
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline && sent < 64 * 1024 * 1024) {
    if (!client.write(batch)) await Promise.race([new Promise((resolve) => client.once('drain', resolve)), delay(300)]);
    sent += batch.byteLength;
    if (client.writableLength > 8 * 1024 * 1024) break;
  }
  await delay(300);
  const serverSide = harness.sockets[0];
  assert.ok(serverSide !== undefined);
  assert.ok(serverSide.bytesRead < sent / 2, `read ${serverSide.bytesRead} of ${sent} bytes sent`);
  // Meanwhile another client is answered.
  const other = await exchange(harness.port, [get('/front/other')], { responses: 1 });
  assert.deepEqual(splitResponses(other.received).map((response) => response.body), ['front:/front/other']);
  client.destroy();
});
