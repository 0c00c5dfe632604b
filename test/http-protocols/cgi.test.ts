/**
 * The `cgi` protocol (WAGI-compatible) over real HTTP, through modules in three languages:
 * small C programs for each way a header block can go right or wrong, a Rust program written
 * the way WAGI's documentation teaches, and an ordinary Go program built on the standard
 * library's net/http/cgi. None of them knows anything about WASIO.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfigFile } from '../../src/config/index.js';
import { LogLevel, startServer } from '../helpers/server.js';
import { assertRouteLinesTagged, linesOfRequest, protocolInstrument, requestIdOf } from './support.js';

type RouteFile = NonNullable<ConfigFile['routes']>[string];

const cgi = (name: string, extra: Partial<RouteFile> = {}): RouteFile =>
  ({ wasm_file: protocolInstrument(name), protocol: 'cgi', ...extra });

const server = await startServer({
  routes: {
    '/c/redirect': cgi('cgi_redirect'),
    '/c/cookies': cgi('cgi_cookies'),
    '/c/no-header': cgi('cgi_no_header'),
    '/c/bad-header': cgi('cgi_bad_header'),
    '/c/framing': cgi('cgi_framing'),
    '/env': cgi('wagi_hello'),
    '/go/*': cgi('cgi_go', { env: { FROM_CONFIG: 'yes', REQUEST_METHOD: 'overridden?' } }),
    '/go-post-only/*': cgi('cgi_go', { methods: ['POST'] }),
    '/go-small-body/*': cgi('cgi_go', { max_body_bytes: 32 }),
  },
});

/** Calls the server without following redirects; every response must carry an X-Request-Id. */
async function call(path: string, init?: RequestInit): Promise<{ response: Response; body: string; requestId: string }> {
  const { response, body } = await server.text(path, { redirect: 'manual', ...init });
  return { response, body, requestId: requestIdOf(response) };
}

/** What the Go module reports about the request it was given. */
interface GoView {
  method: string;
  url: string;
  path: string;
  proto: string;
  host: string;
  remote_addr: string;
  content_length: number;
  headers: Record<string, string[]>;
  form: Record<string, string[]>;
  body_hex: string;
  args: string[];
  env: Record<string, string>;
}

describe('header blocks, C modules', () => {
  test('Location alone is a 302 to that location', async () => {
    const { response, body } = await call('/c/redirect');
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/moved/here');
    assert.equal(body, '');
  });

  test('Status 404 wins, and both Set-Cookie headers arrive in order with the other headers', async () => {
    const { response, body } = await call('/c/cookies');
    assert.equal(response.status, 404);
    assert.deepEqual(response.headers.getSetCookie(), ['session=abc123; Path=/; HttpOnly', 'theme=dark; Max-Age=3600']);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(response.headers.get('x-between'), 'cookies');
    assert.equal(response.headers.get('status'), null, 'Status is not sent as a header');
    assert.equal(body, 'no such page\n');
  });

  test('output without a header block is 502 saying what is missing, logged with the request id', async () => {
    const { response, body, requestId } = await call('/c/no-header');
    assert.equal(response.status, 502);
    assert.match(body, /no header block: expected header lines \(Content-Type, Status or Location\) ended by a blank line/);
    assert.match(body, /starts with "hello world"/);
    const lines = await linesOfRequest(server.logs, requestId);
    const error = lines.find((line) => line['code'] === 'WASIO_ERR_CGI_OUTPUT');
    assert.ok(error !== undefined, `no WASIO_ERR_CGI_OUTPUT line in ${JSON.stringify(lines)}`);
    assert.equal(error.level, LogLevel.error);
    assert.match(String(error.msg), /no header block/);
    assert.ok(lines.some((line) => line['stream'] === 'stderr' && line.msg === 'about to write a body without headers'), 'stderr is logged');
    assertRouteLinesTagged(server.logs, '/c/no-header', requestId);
  });

  test('an invalid header name is 502, and the log says which name', async () => {
    const { response, body, requestId } = await call('/c/bad-header');
    assert.equal(response.status, 502);
    assert.match(body, /invalid header name "Bad Header"/);
    assert.doesNotMatch(body, /never sent/, 'the body is not sent');
    const lines = await linesOfRequest(server.logs, requestId);
    assert.ok(lines.some((line) => line['code'] === 'WASIO_ERR_CGI_OUTPUT' && /invalid header name "Bad Header"/.test(String(line.msg))),
      `no log line names the header: ${JSON.stringify(lines)}`);
    assertRouteLinesTagged(server.logs, '/c/bad-header', requestId);
  });
});

describe('headers that belong to the server', () => {
  test('the server frames the body and keeps its request id, whatever the module claims', async () => {
    const { response, body, requestId } = await call('/c/framing', { headers: { 'x-request-id': 'the-clients-id' } });
    assert.equal(response.status, 200);
    assert.equal(body, 'the server frames this body itself\n');
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(body)));
    assert.equal(response.headers.get('transfer-encoding'), null);
    assert.equal(response.headers.get('connection'), 'keep-alive');
    assert.equal(requestId, 'the-clients-id', 'the id in the log, not the module\'s');
    assertRouteLinesTagged(server.logs, '/c/framing', requestId);
  });
});

describe('a module written as WAGI\'s documentation teaches (Rust), run unchanged', () => {
  test('Content-Type, a blank line, then text built from QUERY_STRING and argv', async () => {
    const { response, body } = await call('/env?greet=matt&foo=bar');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain');
    assert.equal(body, [
      'hello world',
      'query: greet=matt&foo=bar',
      'arg 0: /env',
      'arg 1: greet=matt',
      'arg 2: foo=bar',
      '',
    ].join('\n'));
  });

  test('without a query: an empty QUERY_STRING and the path as the only argument', async () => {
    const { body } = await call('/env');
    assert.equal(body, 'hello world\nquery: \narg 0: /env\n');
  });
});

describe('Go\'s net/http/cgi, run unchanged', () => {
  test('it reads the request the server describes: method, URL, headers, query, environment, argv', async () => {
    const { response, body } = await call('/go/some/where?x=1&x=2&y=%C3%A9', { headers: { 'X-Test': 'value', 'User-Agent': 'protocol-test' } });
    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const view = JSON.parse(body) as GoView;
    assert.equal(view.method, 'GET');
    assert.equal(view.path, '/go/some/where');
    assert.equal(view.url, `${server.url}/go/some/where?x=1&x=2&y=%C3%A9`, 'built from HTTP_HOST, SCRIPT_NAME, PATH_INFO and QUERY_STRING');
    assert.equal(view.proto, 'HTTP/1.1');
    assert.equal(view.host, new URL(server.url).host);
    assert.match(view.remote_addr, /^127\.0\.0\.1/);
    assert.deepEqual(view.headers['X-Test'], ['value']);
    assert.deepEqual(view.headers['User-Agent'], ['protocol-test']);
    assert.deepEqual(view.form, { x: ['1', '2'], y: ['é'] });
    assert.deepEqual(view.args, ['/go/some/where', 'x=1', 'x=2', 'y=%C3%A9']);
    const { env } = view;
    assert.equal(env['REQUEST_METHOD'], 'GET', 'the route\'s env cannot override a CGI variable');
    assert.equal(env['FROM_CONFIG'], 'yes');
    assert.equal(env['SCRIPT_NAME'], '/go');
    assert.equal(env['PATH_INFO'], '/some/where');
    assert.equal(env['X_RAW_PATH_INFO'], '/some/where');
    assert.equal(env['X_MATCHED_ROUTE'], '/go/*');
    assert.equal(env['QUERY_STRING'], 'x=1&x=2&y=%C3%A9');
    assert.equal(env['X_FULL_URL'], `${server.url}/go/some/where?x=1&x=2&y=%C3%A9`);
    assert.equal(env['SERVER_NAME'], '127.0.0.1');
    assert.equal(env['SERVER_PORT'], new URL(server.url).port);
    assert.equal(env['SERVER_PROTOCOL'], 'HTTP/1.1');
    assert.equal(env['GATEWAY_INTERFACE'], 'CGI/1.1');
    assert.equal(env['CONTENT_LENGTH'], '0');
    assert.equal(env['HTTP_X_TEST'], 'value');
  });

  test('a binary body arrives on stdin byte for byte, with its length and type', async () => {
    const bytes = Buffer.alloc(300);
    for (let i = 0; i < bytes.byteLength; i++) bytes[i] = (255 - i) & 0xff;
    const { response, body } = await call('/go/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    assert.equal(response.status, 200, body);
    const view = JSON.parse(body) as GoView;
    assert.equal(view.method, 'POST');
    assert.equal(view.content_length, 300);
    assert.equal(view.body_hex, bytes.toString('hex'));
    assert.equal(view.env['CONTENT_TYPE'], 'application/octet-stream');
    assert.equal(view.env['CONTENT_LENGTH'], '300');
  });

  test('its Status line wins, and its two cookies arrive in order', async () => {
    const { response, body } = await call('/go/cookies');
    assert.equal(response.status, 404);
    assert.deepEqual(response.headers.getSetCookie(), ['first=1; Path=/', 'second=2; HttpOnly']);
    assert.equal(body, 'nothing here, but two cookies\n');
  });

  test('its redirect keeps the status it chose (303) and the Location', async () => {
    const { response } = await call('/go/redirect');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/go/landing');
  });
});

describe('HTTP around a CGI route', () => {
  test('HEAD runs the module as HEAD and answers its status and headers without a body', async () => {
    const cookies = await call('/go/cookies', { method: 'HEAD' });
    assert.equal(cookies.response.status, 404);
    assert.deepEqual(cookies.response.headers.getSetCookie(), ['first=1; Path=/', 'second=2; HttpOnly']);
    assert.equal(cookies.body, '');
    const wagi = await call('/env?a=1', { method: 'HEAD' });
    assert.equal(wagi.response.status, 200);
    assert.equal(wagi.response.headers.get('content-type'), 'text/plain');
    assert.equal(wagi.body, '');
  });

  test('a method the route does not list is 405 with Allow, before the module runs', async () => {
    const { response, requestId } = await call('/go-post-only/x');
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    const lines = await linesOfRequest(server.logs, requestId);
    assert.ok(lines.every((line) => line['instanceMs'] === undefined), 'no instance ran');
    assert.equal((await call('/go-post-only/x', { method: 'POST', body: 'ok' })).response.status, 200);
  });

  test('a body over max_body_bytes is 413; one at the limit reaches stdin', async () => {
    assert.equal((await call('/go-small-body/x', { method: 'POST', body: 'x'.repeat(33) })).response.status, 413);
    const atLimit = await call('/go-small-body/x', { method: 'POST', body: 'y'.repeat(32) });
    assert.equal(atLimit.response.status, 200);
    assert.equal((JSON.parse(atLimit.body) as GoView).body_hex, Buffer.from('y'.repeat(32)).toString('hex'));
  });
});
