/**
 * Which route answers a request: exact paths, `:param` segments and trailing `*`, unknown
 * paths, the `methods` of a route, and HEAD wherever GET is allowed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { echoedPayload, startServer, testInstrument } from '../helpers/server.js';

const server = await startServer({
  routes: {
    '/things/special': { wasm_file: testInstrument('echo') },
    '/things/:name': { wasm_file: testInstrument('echo') },
    '/things/*': { wasm_file: testInstrument('echo') },
    '/echo': { wasm_file: testInstrument('echo') },
    '/post-only': { wasm_file: testInstrument('echo'), methods: ['POST'] },
    '/get-only': { wasm_file: testInstrument('echo'), methods: ['GET'] },
    '/count-runs': { wasm_file: testInstrument('writer'), methods: ['GET'], mounts: [{ guest: '/data', host: 'data' }] },
  },
}, { files: { 'data/.keep': '' } });

async function routeOf(path: string): Promise<{ route: string; pathParams: Readonly<Record<string, string>> }> {
  const { response, body } = await server.text(path);
  assert.equal(response.status, 200, `${path}: ${body}`);
  const payload = echoedPayload(body);
  return { route: payload.route, pathParams: payload.path_params };
}

test('an exact route beats a :param route, which beats a * route', async () => {
  assert.deepEqual(await routeOf('/things/special'), { route: '/things/special', pathParams: {} });
  assert.deepEqual(await routeOf('/things/other'), { route: '/things/:name', pathParams: { name: 'other' } });
  assert.deepEqual(await routeOf('/things/a/b/c'), { route: '/things/*', pathParams: {} });
});

test('an unknown path is 404 with a short body and a request id', async () => {
  for (const path of ['/nowhere', '/echo/more', '/thing/special']) {
    const { response, body } = await server.text(path);
    assert.equal(response.status, 404, path);
    assert.ok(body.length > 0 && body.length < 100, `short body: ${body}`);
    assert.ok(response.headers.get('x-request-id'));
  }
});

test('a method the route does not list is 405 with Allow', async () => {
  const postOnGetOnly = await server.text('/get-only', { method: 'POST', body: 'x' });
  assert.equal(postOnGetOnly.response.status, 405);
  assert.equal(postOnGetOnly.response.headers.get('allow'), 'GET, HEAD');

  const getOnPostOnly = await server.text('/post-only');
  assert.equal(getOnPostOnly.response.status, 405);
  assert.equal(getOnPostOnly.response.headers.get('allow'), 'POST');

  const deleteOnDefault = await server.text('/echo', { method: 'DELETE' });
  assert.equal(deleteOnDefault.response.status, 405);
  assert.equal(deleteOnDefault.response.headers.get('allow'), 'GET, HEAD, POST');

  const postOnPostOnly = await server.text('/post-only', { method: 'POST', body: 'x' });
  assert.equal(postOnPostOnly.response.status, 200);
});

test('HEAD is allowed wherever GET is, and runs the module exactly once', async () => {
  const head = await server.text('/count-runs?id=head-request', { method: 'HEAD' });
  assert.equal(head.response.status, 200);
  assert.equal(head.body, '');

  // The writer instrument appends one line per run to the mounted folder.
  const runs = readFileSync(join(server.dir, 'data', 'log.txt'), 'utf8');
  assert.equal(runs, 'head-request\n');

  const stats = (await (await server.request('/stats')).json()) as { routes: Record<string, { requests: number }> };
  assert.equal(stats.routes['/count-runs']?.requests, 1);
  const accessLines = server.logs.filter((line) => line.msg === 'request' && line['route'] === '/count-runs');
  assert.equal(accessLines.length, 1);
  assert.equal(accessLines[0]?.['method'], 'HEAD');
});
