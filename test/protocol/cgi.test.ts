/**
 * The `cgi` guest protocol as pure functions: the CGI environment and argv a request becomes
 * (WAGI's variables), and the header block a module writes back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cgiArgs, cgiEnvironment, parseCgiOutput, SERVER_SOFTWARE } from '../../src/protocol/cgi.js';
import { CgiOutputError } from '../../src/protocol/errors.js';
import type { InstrumentRequest } from '../../src/protocol/request.js';

function request(overrides: Partial<InstrumentRequest> = {}): InstrumentRequest {
  return {
    method: 'GET',
    path: '/files/docs/a%20b.txt',
    rawQuery: 'greet=matt&foo=bar',
    route: '/files/*',
    pathParams: {},
    headers: { host: 'foo.example.com:3000', 'user-agent': 'curl/8.0', 'x-custom-header': 'v' },
    body: new Uint8Array(0),
    remoteAddress: '127.0.0.1',
    httpVersion: '1.1',
    tls: false,
    ...overrides,
  };
}

function output(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

function assertCgiError(text: string, message: RegExp): void {
  assert.throws(() => parseCgiOutput(output(text)), (error: unknown) => {
    assert.ok(error instanceof CgiOutputError, `expected a CgiOutputError, got ${String(error)}`);
    assert.equal(error.code, 'WASIO_ERR_CGI_OUTPUT');
    assert.match(error.message, message);
    return true;
  });
}

describe('cgiEnvironment', () => {
  it('sets every variable WAGI sets, from a wildcard route', () => {
    const env = cgiEnvironment(request(), { route: '/files/*', rest: 'docs/a%20b.txt' }, {});
    assert.deepEqual(env, {
      AUTH_TYPE: '',
      CONTENT_LENGTH: '0',
      CONTENT_TYPE: '',
      GATEWAY_INTERFACE: 'CGI/1.1',
      HTTP_HOST: 'foo.example.com:3000',
      HTTP_USER_AGENT: 'curl/8.0',
      HTTP_X_CUSTOM_HEADER: 'v',
      PATH_INFO: '/docs/a b.txt',
      PATH_TRANSLATED: '/docs/a b.txt',
      QUERY_STRING: 'greet=matt&foo=bar',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_HOST: '127.0.0.1',
      REMOTE_USER: '',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/files',
      SERVER_NAME: 'foo.example.com',
      SERVER_PORT: '3000',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_SOFTWARE,
      X_FULL_URL: 'http://foo.example.com:3000/files/docs/a%20b.txt?greet=matt&foo=bar',
      X_MATCHED_ROUTE: '/files/*',
      X_RAW_PATH_INFO: '/docs/a%20b.txt',
    });
  });

  it('gives the body\'s length and type, path parameters as X_PATH_MATCH_*, the port from TLS when Host has none', () => {
    const env = cgiEnvironment(request({
      method: 'POST', path: '/users/42', rawQuery: '', route: '/users/:user-id', pathParams: { 'user-id': '42' },
      headers: { host: 'example.com', 'content-type': 'text/plain' }, body: new Uint8Array(5), tls: true, httpVersion: '2.0',
    }), { route: '/users/:user-id', rest: '' }, {});
    assert.equal(env['CONTENT_LENGTH'], '5');
    assert.equal(env['CONTENT_TYPE'], 'text/plain', 'from the Content-Type header (WAGI read the wrong one)');
    assert.equal(env['X_PATH_MATCH_USER_ID'], '42');
    assert.equal(env['SERVER_NAME'], 'example.com');
    assert.equal(env['SERVER_PORT'], '443');
    assert.equal(env['SERVER_PROTOCOL'], 'HTTP/2.0');
    assert.equal(env['SCRIPT_NAME'], '/users/42');
    assert.equal(env['PATH_INFO'], '');
    assert.equal(env['QUERY_STRING'], '');
    assert.equal(env['X_FULL_URL'], 'https://example.com/users/42');
  });

  it('reads an IPv6 Host with and without a port', () => {
    assert.equal(cgiEnvironment(request({ headers: { host: '[::1]:8080' } }), { route: '/x', rest: '' }, {})['SERVER_NAME'], '[::1]');
    assert.equal(cgiEnvironment(request({ headers: { host: '[::1]:8080' } }), { route: '/x', rest: '' }, {})['SERVER_PORT'], '8080');
    assert.equal(cgiEnvironment(request({ headers: { host: '[::1]' } }), { route: '/x', rest: '' }, {})['SERVER_PORT'], '80');
  });

  it('keeps the route\'s configured variables, but they cannot override the request\'s', () => {
    const env = cgiEnvironment(request(), { route: '/files/*', rest: '' }, { API_MODE: 'test', REQUEST_METHOD: 'DELETE', QUERY_STRING: 'forged' });
    assert.equal(env['API_MODE'], 'test');
    assert.equal(env['REQUEST_METHOD'], 'GET');
    assert.equal(env['QUERY_STRING'], 'greet=matt&foo=bar');
  });

  it('leaves a PATH_INFO that is not valid percent-encoding as it came', () => {
    const env = cgiEnvironment(request({ path: '/files/%E0%A4%A' }), { route: '/files/*', rest: '%E0%A4%A' }, {});
    assert.equal(env['PATH_INFO'], '/%E0%A4%A');
  });
});

describe('cgiArgs', () => {
  it('is the path, then the query split on & without decoding, as WAGI does', () => {
    assert.deepEqual(cgiArgs(request()), ['/files/docs/a%20b.txt', 'greet=matt', 'foo=bar']);
    assert.deepEqual(cgiArgs(request({ rawQuery: 'a=%20&&b' })), ['/files/docs/a%20b.txt', 'a=%20', '', 'b']);
  });

  it('is the path alone without a query', () => {
    assert.deepEqual(cgiArgs(request({ rawQuery: '' })), ['/files/docs/a%20b.txt']);
  });
});

describe('parseCgiOutput', () => {
  it('splits headers and body at the first blank line, LF or CRLF', () => {
    for (const newline of ['\n', '\r\n']) {
      const parsed = parseCgiOutput(output(`Content-Type: text/plain${newline}X-One: 1${newline}${newline}body${newline}${newline}more`));
      assert.equal(parsed.status, 200);
      assert.deepEqual(parsed.headers, [['Content-Type', 'text/plain'], ['X-One', '1']]);
      assert.equal(Buffer.from(parsed.body).toString(), `body${newline}${newline}more`);
    }
  });

  it('keeps header order and repeated headers, names as written', () => {
    const parsed = parseCgiOutput(output('set-cookie: a=1; Path=/\nContent-Type: text/html\nSet-Cookie: b=2\nX-Tag: x\nx-tag: y\n\n'));
    assert.deepEqual(parsed.headers, [['set-cookie', 'a=1; Path=/'], ['Content-Type', 'text/html'], ['Set-Cookie', 'b=2'], ['X-Tag', 'x'], ['x-tag', 'y']]);
    assert.equal(parsed.body.byteLength, 0);
  });

  it('gives 302 for Location alone, and an explicit Status always wins', () => {
    assert.equal(parseCgiOutput(output('Location: /elsewhere\n\n')).status, 302);
    assert.deepEqual(parseCgiOutput(output('Location: /elsewhere\n\n')).headers, [['Location', '/elsewhere']]);
    assert.equal(parseCgiOutput(output('Location: /new\nStatus: 301 Moved Permanently\n\n')).status, 301);
    assert.equal(parseCgiOutput(output('Status: 404 Not Found\nContent-Type: text/plain\n\n')).status, 404);
    assert.equal(parseCgiOutput(output('status: 204\n\n')).status, 204, 'Status alone is enough');
  });

  it('leaves Status out of the headers and drops framing headers the server sets itself', () => {
    const parsed = parseCgiOutput(output('Status: 200 OK\nContent-Type: text/plain\nContent-Length: 999\nTransfer-Encoding: chunked\nConnection: close\nKeep-Alive: timeout=5\n\nhi'));
    assert.deepEqual(parsed.headers, [['Content-Type', 'text/plain']]);
  });

  it('forgives spaces before the colon and keeps bytes above 0x7f in values', () => {
    const parsed = parseCgiOutput(output('Content-Type : text/plain\nX-Latin: caf\xe9\n\n'));
    assert.deepEqual(parsed.headers, [['Content-Type', 'text/plain'], ['X-Latin', 'caf\xe9']]);
  });

  it('returns the body as a view of the output, not a copy', () => {
    const bytes = output('Content-Type: text/plain\n\nbody');
    const parsed = parseCgiOutput(bytes);
    assert.equal(parsed.body.buffer, bytes.buffer);
    assert.equal(parsed.body.byteOffset, bytes.byteOffset + 26);
  });

  it('finds the header block of a large output quickly, and a missing one too', () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 'x\n');
    const started = performance.now();
    assert.equal(parseCgiOutput(Buffer.concat([output('Content-Type: text/plain\n\n'), body])).body.byteLength, body.byteLength);
    assertCgiError(body.toString('latin1'), /no header block/);
    assert.ok(performance.now() - started < 2_000, 'two 16 MiB outputs within 2 s');
  });

  it('refuses output without a header block, naming what is missing', () => {
    assertCgiError('', /the module wrote nothing: expected a header block \(Content-Type, Status or Location\)/);
    assertCgiError('hello world\n', /no header block: .*Content-Type, Status or Location.*starts with "hello world"/);
    assertCgiError('\nbody', /starts with a blank line: the header block is empty/);
    assertCgiError('\r\nbody', /starts with a blank line/);
    assertCgiError('X-Only: 1\n\nbody', /the header block has no Content-Type, Status or Location/);
  });

  it('refuses invalid header lines, names and values, saying which', () => {
    assertCgiError('Content-Type: text/plain\nBad Header: x\n\n', /invalid header name "Bad Header"/);
    assertCgiError('Content-Type: text/plain\n folded: x\n\n', /invalid header name " folded"/);
    assertCgiError('Content-Type: text/plain\nno colon here\n\n', /invalid header line "no colon here"/);
    assertCgiError(': empty name\n\n', /invalid header line ": empty name"/);
    assertCgiError('Content-Type: text/plain\nX-Bad: a\x00b\n\n', /invalid value for header X-Bad/);
    assertCgiError('Status: abc\n\n', /invalid Status "abc"/);
    assertCgiError('Status: 100 Continue\n\n', /expected a code from 200 to 599/);
    assertCgiError('Status: 600\n\n', /invalid Status "600"/);
  });
});
