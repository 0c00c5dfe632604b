/**
 * The HTTP front must answer exactly as `node:http` would. The same bytes (ordinary,
 * pipelined, malformed and hostile) are sent to a server with the front and to one without,
 * and what comes back must be the same, byte for byte, but for the date, the request id and
 * the age of a cache entry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exchange, splitResponses, type ExchangeOptions } from '../helpers/raw-http.js';
import { exampleInstrument, startServer, testInstrument } from '../helpers/server.js';

const document = {
  routes: {
    '/hello': { wasm_file: exampleInstrument('tiny_hello') },
    '/cached': { wasm_file: exampleInstrument('tiny_hello'), cache: true, ttl: 60 },
    '/cgi': { wasm_file: testInstrument('protocols/cgi_cookies'), protocol: 'cgi' as const },
    '/post-only': { wasm_file: exampleInstrument('tiny_hello'), methods: ['POST'] },
  },
};
const withFront = await startServer(document);
const withoutFront = await startServer(document, { httpFront: false });
const port = (url: string): number => Number(new URL(url).port);

/** What differs between any two answers: the date, the request id, the age of a cache entry. */
function comparable(received: string): string {
  return received
    .replace(/^Date: .*$/gim, 'Date: (date)')
    .replace(/^x-request-id: [0-9a-f-]{36}$/gim, 'x-request-id: (id)')
    .replace(/^age: \d+$/gim, 'age: (age)');
}

interface Case {
  readonly name: string;
  readonly parts: readonly string[];
  readonly options?: ExchangeOptions;
  /** The statuses that must come back, in order. */
  readonly statuses: readonly number[];
  readonly head?: readonly boolean[];
}

const get = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;
const smuggled = get('/hello?name=Smuggled');

const cases: readonly Case[] = [
  { name: 'one GET', parts: [get('/hello?name=Ada')], statuses: [200] },
  { name: 'pipelined GETs', parts: [get('/hello?name=A') + get('/hello?name=B') + get('/hello?name=C')], statuses: [200, 200, 200] },
  { name: 'a built-in page between instrument requests', parts: [get('/hello?name=A') + get('/health') + get('/hello?name=B')], statuses: [200, 200, 200] },
  // The hits are asked once the miss is answered: node:http would run pipelined requests at once.
  { name: 'a cache miss, then hits', parts: [get('/cached?name=A'), get('/cached?name=A') + get('/cached?name=A')], options: { answeredBefore: [0, 1] }, statuses: [200, 200, 200] },
  { name: 'hits answered again: GET, HEAD, GET', parts: [get('/cached?name=R'), get('/cached?name=R'), `HEAD /cached?name=R HTTP/1.1\r\nHost: test\r\n\r\n`, get('/cached?name=R')], options: { answeredBefore: [0, 1, 2, 3] }, statuses: [200, 200, 200, 200], head: [false, false, true] },
  { name: 'hits answered 304 again', parts: [get('/cached?name=N'), get('/cached?name=N', 'If-None-Match: *\r\n'), get('/cached?name=N', 'If-None-Match: *\r\n')], options: { answeredBefore: [0, 1, 2] }, statuses: [200, 304, 304] },
  { name: 'hits with the client\'s own request ids', parts: [get('/cached?name=I'), get('/cached?name=I', 'X-Request-Id: mine-1\r\n'), get('/cached?name=I', 'X-Request-Id: a-longer-id-of-mine\r\n'), get('/cached?name=I')], options: { answeredBefore: [0, 1, 2, 3] }, statuses: [200, 200, 200, 200] },
  { name: 'a hit on a connection that closes after it', parts: [get('/cached?name=C'), get('/cached?name=C'), get('/cached?name=C', 'Connection: close\r\n')], options: { answeredBefore: [0, 1, 2] }, statuses: [200, 200, 200] },
  { name: 'HEAD, then GET', parts: [`HEAD /hello?name=H HTTP/1.1\r\nHost: test\r\n\r\n${get('/hello?name=G')}`], statuses: [200, 200], head: [true] },
  { name: 'a CGI route', parts: [get('/cgi?x=1')], statuses: [404] },
  { name: 'a method the route does not answer', parts: [get('/post-only')], statuses: [405] },
  { name: 'no route', parts: [get('/nowhere')], statuses: [404] },
  { name: 'an escaped path', parts: [get('/hel%6Co?name=E')], statuses: [404] },
  { name: 'every printable character in the query', parts: [get('/hello?name=<a>"|{}^`\\[];:@!$&\'()*+,=~')], statuses: [200] },
  { name: 'a fragment in the target', parts: [get('/hello?name=F#frag')], statuses: [200] },
  { name: 'a POST with a body', parts: ['POST /post-only HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc'], statuses: [200] },
  { name: 'HTTP/1.0', parts: ['GET /hello?name=Old HTTP/1.0\r\nHost: test\r\n\r\n'], statuses: [200] },
  // Not compared: a request pipelined after `Connection: close` (node:http then answers 400 in
  // place of the first response, where the front answers the first and reads no more), and a
  // half-close right after the requests (node:http drops those still running when it comes).
  { name: 'Connection: close', parts: [get('/hello?name=Bye', 'Connection: close\r\n')], statuses: [200] },
  { name: 'a head in three pieces', parts: ['GET /hello?name=Slow HTTP/1.1\r\n', 'Host: test\r\n', '\r\n'], statuses: [200] },
  { name: 'Content-Length smuggling', parts: [`GET /hello?name=A HTTP/1.1\r\nHost: test\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`], statuses: [200] },
  { name: 'Transfer-Encoding and Content-Length together', parts: [`GET /hello HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`], statuses: [400] },
  { name: 'Transfer-Encoding hidden in a folded line', parts: [`GET /hello HTTP/1.1\r\nHost: test\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`], statuses: [400] },
  { name: 'a space before the colon', parts: [`GET /hello HTTP/1.1\r\nHost: test\r\nContent-Length : 5\r\n\r\nabcde`], statuses: [400] },
  { name: 'bare LF line ends', parts: ['GET /hello?name=LF HTTP/1.1\nHost: test\n\n'], statuses: [400] },
  { name: 'a NUL in a value', parts: [get('/hello', 'X-A: b\x00c\r\n')], statuses: [400] },
  { name: 'two Host headers', parts: [`GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`], statuses: [200] },
  { name: 'no Host header', parts: ['GET /hello HTTP/1.1\r\n\r\n'], statuses: [400] },
  { name: 'a head longer than node:http allows', parts: [get('/hello', `X-Big: ${'x'.repeat(20_000)}\r\n`)], statuses: [431] },
  { name: 'Expect: 100-continue on a GET', parts: [get('/hello?name=Expect', 'Expect: 100-continue\r\n')], statuses: [100, 200] },
  { name: 'a header twice', parts: [get('/hello?name=Twice', 'Accept: a\r\nAccept: b\r\n')], statuses: [200] },
];

test('the front answers every case as node:http alone does', async () => {
  const mismatches: string[] = [];
  await Promise.all(cases.map(async (entry) => {
    // Each exchange waits for the answers it expects, however loaded the machine, then for
    // 100 ms of quiet, in which an answer too many would show.
    const options: ExchangeOptions = { quietMs: 100, responses: entry.statuses.length, headRequests: entry.head ?? [], ...entry.options };
    const [front, node] = await Promise.all([
      exchange(port(withFront.url), entry.parts, options),
      exchange(port(withoutFront.url), entry.parts, options),
    ]);
    const statuses = splitResponses(front.received, entry.head).map((response) => Number(response.statusLine.split(' ')[1]));
    if (comparable(front.received) !== comparable(node.received) || front.closed !== node.closed || statuses.join() !== entry.statuses.join()) {
      mismatches.push(`${entry.name}: statuses ${statuses.join()}\n front (closed ${front.closed}) ${JSON.stringify(comparable(front.received))}\n node (closed ${node.closed}) ${JSON.stringify(comparable(node.received))}`);
    }
  }));
  assert.deepEqual(mismatches, []);
});
