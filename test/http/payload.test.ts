/**
 * The `wasio` request document on an instrument's stdin (SPEC section 2), read back through
 * the `echo` instrument, which writes its stdin to stdout unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { echoedPayload, echoedSeed, startServer, testInstrument } from '../helpers/server.js';

const server = await startServer({
  routes: {
    '/echo': { wasm_file: testInstrument('echo') },
    '/users/:id': { wasm_file: testInstrument('echo') },
    '/echo-json': { wasm_file: testInstrument('echo'), content_type: 'application/json' },
  },
});

test('method, path, route, every query value and the first value as params', async () => {
  const { response, body } = await server.text('/echo?tag=a&tag=b&name=Al%20ice&empty=', { headers: { 'X-Custom': 'value' } });
  assert.equal(response.status, 200);
  const payload = echoedPayload(body);
  assert.equal(payload.method, 'GET');
  assert.equal(payload.path, '/echo');
  assert.equal(payload.route, '/echo');
  assert.deepEqual(payload.query, { tag: ['a', 'b'], name: ['Al ice'], empty: [''] });
  assert.deepEqual(payload.params, { tag: 'a', name: 'Al ice', empty: '' });
  assert.deepEqual(payload.path_params, {});
  assert.equal(payload.headers['x-custom'], 'value', 'header names in lower case');
  assert.equal(payload.body, '', 'an empty body is the empty string');
  assert.equal(payload.body_base64, undefined);
});

test('path parameters are decoded into path_params, with the route as written', async () => {
  const payload = echoedPayload((await server.text('/users/J%C3%BCrgen%20K')).body);
  assert.equal(payload.route, '/users/:id');
  assert.equal(payload.path, '/users/J%C3%BCrgen%20K', 'the path as requested, still encoded');
  assert.deepEqual(payload.path_params, { id: 'Jürgen K' });
});

test('a urlencoded POST body is merged into params, the body winning over the query', async () => {
  const form = 'name=from+body&extra=1&name=second';
  const { body } = await server.text('/echo?name=from-query&only=query', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: form,
  });
  const payload = echoedPayload(body);
  assert.equal(payload.method, 'POST');
  assert.deepEqual(payload.params, { name: 'second', only: 'query', extra: '1' });
  assert.deepEqual(payload.query, { name: ['from-query'], only: ['query'] }, 'query keeps only the URL\'s values');
  assert.equal(payload.body, form);
});

test('a body of another type is not merged into params', async () => {
  const payload = echoedPayload((await server.text('/echo?a=1', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"2"}',
  })).body);
  assert.deepEqual(payload.params, { a: '1' });
  assert.equal(payload.body, '{"a":"2"}');
});

test('a body that is not UTF-8 arrives as body_base64', async () => {
  const bytes = Uint8Array.from([0xff, 0x00, 0xfe, 0x80, 0x41, 0x0a]);
  const payload = echoedPayload((await server.text('/echo', {
    method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes,
  })).body);
  assert.equal(payload.body_base64, Buffer.from(bytes).toString('base64'));
  assert.equal(payload.body, undefined);
});

test('the seed is an exact signed 64-bit integer, fresh for every request', async () => {
  const seeds: bigint[] = [];
  for (let i = 0; i < 8; i++) {
    const digits = echoedSeed((await server.text('/echo')).body);
    const seed = BigInt(digits);
    assert.equal(seed.toString(), digits, 'written in canonical integer form');
    assert.ok(seed >= -(2n ** 63n) && seed < 2n ** 63n, `${digits} fits in a signed 64-bit integer`);
    seeds.push(seed);
  }
  assert.equal(new Set(seeds).size, seeds.length, 'no seed repeats');
  // A random 64-bit integer is almost never a double's exact value (the odds are about one
  // in a thousand), so seeds that all were would mean they went through a double.
  const notDoubles = seeds.filter((seed) => BigInt(Number(seed)) !== seed);
  assert.ok(notDoubles.length > 0, `seeds ${seeds.join(', ')} all look rounded to doubles`);
});

test('the Content-Type is sniffed from the output as Go does, unless the route sets one', async () => {
  const sniffed = await server.request('/echo');
  assert.equal(sniffed.headers.get('content-type'), 'text/plain; charset=utf-8', 'JSON text sniffs as plain text, as in Go');
  await sniffed.arrayBuffer();

  const configured = await server.request('/echo-json');
  assert.equal(configured.headers.get('content-type'), 'application/json');
  await configured.arrayBuffer();
});
