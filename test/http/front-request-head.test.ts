/**
 * The HTTP front reads only heads it fully understands: every other head, legal or hostile,
 * must come back FOREIGN (for `node:http` to read) or INCOMPLETE, never as a request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FOREIGN, INCOMPLETE, MAX_HEAD_BYTES, MAX_HEADER_LINES, readRequestHead, type RequestHead } from '../../src/http/front/request-head.js';

function read(text: string): ReturnType<typeof readRequestHead> {
  return readRequestHead(Buffer.from(text, 'latin1'));
}

function request(text: string): RequestHead {
  const head = read(text);
  assert.equal(typeof head, 'object', `read as ${String(head)}: ${JSON.stringify(text)}`);
  return head as RequestHead;
}

test('a GET with a host is read: method, target as sent, lower-case names, trimmed values and its length', () => {
  const text = 'GET /hello?name=Ada%20B&x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent:  curl/8.0 \t\r\nX-Empty:\r\nACCEPT: */*\r\n\r\n';
  const head = request(`${text}GET /next HTTP/1.1\r\n`);
  assert.equal(head.method, 'GET');
  assert.equal(head.target, '/hello?name=Ada%20B&x=1');
  assert.deepEqual(head.headers, { host: 'example.com:8080', 'user-agent': 'curl/8.0', 'x-empty': '', accept: '*/*' });
  assert.equal(head.close, false);
  assert.equal(head.length, Buffer.byteLength(text));
});

test('names are read in lower case whatever their case, the common ones and the others alike', () => {
  const head = request('GET / HTTP/1.1\r\nhOsT: a\r\nUSER-AGENT: u\r\nIf-None-Match: "e"\r\nX-Request-ID: r\r\n' +
    'Hosts: near\r\nUser-Agent2: near\r\nX-Custom-Thing: c\r\nTE: trailers\r\n\r\n');
  assert.deepEqual(head.headers, {
    host: 'a', 'user-agent': 'u', 'if-none-match': '"e"', 'x-request-id': 'r', hosts: 'near', 'user-agent2': 'near',
    'x-custom-thing': 'c', te: 'trailers',
  });
  for (const name of ['CONTENT-LENGTH: 0', 'Transfer-ENCODING: chunked', 'eXpEcT: 100-continue', 'UPGRADE: h2c']) {
    assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${name}\r\n\r\n`), FOREIGN, name);
  }
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n'), FOREIGN, 'Host twice, in two cases');
});

test('a HEAD is read, and Connection: close or keep-alive is noted', () => {
  assert.equal(request('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n').method, 'HEAD');
  assert.equal(request('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').close, true);
  assert.equal(request('GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n').close, false);
  assert.equal(request('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n').close, true);
});

test('a head whose end has not arrived is INCOMPLETE, until it is longer than node:http allows', () => {
  assert.equal(read(''), INCOMPLETE);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\n'), INCOMPLETE);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\n\r'), INCOMPLETE);
  assert.equal(read(`GET /${'a'.repeat(MAX_HEAD_BYTES)}`), FOREIGN);
});

test('a body, announced by Content-Length or Transfer-Encoding in any combination, is node:http\'s to frame', () => {
  for (const framing of [
    'Content-Length: 0', 'Content-Length: 5', 'content-length: 5', 'Transfer-Encoding: chunked',
    'Transfer-Encoding: chunked\r\nContent-Length: 5', 'Content-Length: 5\r\nTransfer-Encoding: chunked',
    'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding:chunked', 'TRANSFER-ENCODING: chunked',
  ]) {
    assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${framing}\r\n\r\n`), FOREIGN, framing);
  }
});

test('names bent to slip past a reader are not read: space or tab before the colon, odd bytes in the name', () => {
  for (const line of [
    'Content-Length : 5', 'Transfer-Encoding\t: chunked', ' Transfer-Encoding: chunked', 'Transfer-Encoding\x00: chunked',
    'Transfer_Encoding chunked', ': no-name', 'Tränsfer: x', 'X-A\x0b: b',
  ]) {
    assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`), FOREIGN, JSON.stringify(line));
  }
});

test('a folded line (obs-fold), bare LF, bare CR, NUL and bytes beyond ASCII are not read', () => {
  for (const text of [
    'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n',
    'GET / HTTP/1.1\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\nTransfer-Encoding: chunked\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xe9\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX-A: \x7f\r\n\r\n',
  ]) {
    assert.equal(read(text), FOREIGN, JSON.stringify(text));
  }
});

test('a request line other than `GET|HEAD origin-target HTTP/1.1` is not read', () => {
  for (const line of [
    'POST / HTTP/1.1', 'get / HTTP/1.1', 'GETS / HTTP/1.1', 'OPTIONS * HTTP/1.1', 'GET / HTTP/1.0', 'GET / HTTP/2.0',
    'GET / http/1.1', 'GET  / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET /a b HTTP/1.1', 'GET http://a/ HTTP/1.1', 'GET a HTTP/1.1',
    'GET /a#frag HTTP/1.1', 'GET /caf\xe9 HTTP/1.1', 'GET /\x01 HTTP/1.1', 'GET /\tHTTP/1.1', 'GET /', 'GET /a\x7f HTTP/1.1',
  ]) {
    assert.equal(read(`${line}\r\nHost: a\r\n\r\n`), FOREIGN, JSON.stringify(line));
  }
  assert.equal(read('GET /\r\n\r\n'), FOREIGN);
});

test('a head without exactly one Host, or with any header twice, is not read', () => {
  assert.equal(read('GET / HTTP/1.1\r\n\r\n'), FOREIGN);
  assert.equal(read('GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'), FOREIGN);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'), FOREIGN);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n'), FOREIGN);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1\r\nCookie: y=2\r\n\r\n'), FOREIGN);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\n__proto__: x\r\n\r\n'), FOREIGN);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\nconstructor: x\r\n\r\n'), FOREIGN);
});

test('Expect, Upgrade and Connection options beyond close and keep-alive are not read', () => {
  for (const line of [
    'Expect: 100-continue', 'Upgrade: websocket', 'Connection: Upgrade', 'Connection: close, Upgrade',
    'Connection: keep-alive, TE', 'HTTP2-Settings: AAMAAABkAAQAAP__', 'Connection:',
  ]) {
    assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`), FOREIGN, line);
  }
});

test('the header count and the head size are bounded as node:http bounds them', () => {
  const lines = (count: number): string => Array.from({ length: count }, (_, index) => `X-${index}: v\r\n`).join('');
  assert.equal(typeof read(`GET / HTTP/1.1\r\nHost: a\r\n${lines(MAX_HEADER_LINES - 1)}\r\n`), 'object');
  assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${lines(MAX_HEADER_LINES)}\r\n`), FOREIGN);
  const filler = 'x'.repeat(MAX_HEAD_BYTES);
  assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${filler}\r\n\r\n`), FOREIGN);
});
