/**
 * Requests answered straight from node:http (`direct-path.ts`) and by the framework must not
 * differ: a GET whose body is sent chunked (even empty) always goes the framework's way, so
 * each case is asked both ways and the answers compared.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { exampleInstrument, startServer, testInstrument } from '../helpers/server.js';

const server = await startServer({
  routes: {
    '/hello': { wasm_file: exampleInstrument('tiny_hello') },
    '/cached': { wasm_file: exampleInstrument('tiny_hello'), cache: true, ttl: 60 },
    '/exit3': { wasm_file: testInstrument('exit3') },
    '/trap': { wasm_file: testInstrument('trap') },
    '/cgi': { wasm_file: testInstrument('protocols/cgi_cookies'), protocol: 'cgi' },
    '/redirect': { wasm_file: testInstrument('protocols/cgi_redirect'), protocol: 'cgi' },
    '/post-only': { wasm_file: exampleInstrument('tiny_hello'), methods: ['POST'] },
  },
});

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** `chunked`: an empty body sent chunked, which sends the request the framework's way. */
function ask(method: string, path: string, chunked: boolean, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${server.url}${path}`, { method, headers: { ...headers, ...(chunked ? { 'transfer-encoding': 'chunked' } : {}) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** The headers that differ between any two answers (the date, the request id, the age of a cache entry). */
function comparable({ status, headers, body }: Answer): Answer {
  const { date: _date, 'x-request-id': requestId, age: _age, ...rest } = headers;
  assert.match(String(requestId), /^[0-9a-f-]{36}$/);
  return { status, headers: rest, body };
}

async function bothWays(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const direct = await ask(method, path, false, headers);
  const framework = await ask(method, path, true, headers);
  assert.deepEqual(comparable(direct), comparable(framework), `${method} ${path}`);
  return direct;
}

test('a successful run, its HEAD, and a run that fails answer alike both ways', async () => {
  const hello = await bothWays('GET', '/hello?name=Ada');
  assert.equal(hello.status, 200);
  assert.equal(hello.body, 'Hello, Ada!\n');
  const head = await bothWays('HEAD', '/hello?name=Ada');
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], hello.headers['content-length']);
  assert.equal((await bothWays('GET', '/exit3')).status, 500);
  assert.equal((await bothWays('GET', '/trap')).status, 500);
});

test('CGI responses (cookies; a redirect with no body type) answer alike both ways', async () => {
  const answer = await bothWays('GET', '/cgi');
  assert.ok(answer.headers['set-cookie'] !== undefined && answer.headers['set-cookie'].length > 1, JSON.stringify(answer.headers));
  const redirect = await bothWays('GET', '/redirect');
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, '/moved/here');
});

test('a cached route answers alike both ways, miss then hit, and 304 for a known etag', async () => {
  const direct = await ask('GET', '/cached?name=Bo', false);
  assert.equal(direct.headers['x-cache'], 'MISS');
  const hit = await bothWays('GET', '/cached?name=Bo');
  assert.equal(hit.headers['x-cache'], 'HIT');
  const notModified = await bothWays('GET', '/cached?name=Bo', { 'if-none-match': String(hit.headers.etag) });
  assert.equal(notModified.status, 304);
});

test('a method the route does not answer, and a path no route has, go the framework\'s way', async () => {
  const refused = await ask('GET', '/post-only', false);
  assert.equal(refused.status, 405);
  assert.equal(refused.headers.allow, 'POST');
  assert.equal((await ask('GET', '/nowhere', false)).status, 404);
});

test('a request answered directly is logged and counted like any other', async () => {
  const answer = await ask('GET', '/hello?name=Cy', false);
  const id = answer.headers['x-request-id'];
  const line = await server.logs.waitFor('the access line', (candidate) => candidate.msg === 'request' && candidate['reqId'] === id);
  assert.equal(line['status'], 200);
  assert.equal(line['route'], '/hello');
  assert.equal(line['path'], '/hello?name=Cy');
  assert.equal(typeof line['instanceMs'], 'number');
});
