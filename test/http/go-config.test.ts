/**
 * A config written for the Go version of WASIO, with only the keys it knew, loads and serves
 * unchanged: relative module paths, `filesystem` mounts (an empty one meaning none), `cache`
 * with `ttl` (0 meaning cache_ttl), and the index built from description, category, example.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleInstrument, startServerFromFile, testInstrument, writeConfig } from '../helpers/server.js';

const goConfig = {
  port: '8080',
  cache_ttl: 300,
  routes: {
    '/hello_world': {
      wasm_file: 'instruments/hello_world.wasm',
      cache: true,
      ttl: 600,
      description: 'Greets whoever is named in the query',
      category: 'Basic',
      example: '?name=Alice',
    },
    '/file_processor': {
      wasm_file: 'instruments/process_file.wasm',
      cache: false,
      ttl: 0,
      description: 'Counts the lines of /data/input.txt',
      category: 'File I/O',
      example: '',
      filesystem: { mount: '/data', path: './data' },
    },
    '/random': {
      wasm_file: 'instruments/random.wasm',
      cache: false,
      description: 'A random number',
      category: 'Basic',
      example: '',
      filesystem: { mount: '', path: '' },
    },
    '/writer': {
      wasm_file: 'instruments/writer.wasm',
      cache: false,
      description: 'Appends to a log in its folder',
      category: 'File I/O',
      example: '?id=go',
      filesystem: { mount: '/data', path: './data' },
    },
  },
};

const { dir, configFile } = writeConfig(goConfig, {
  'instruments/hello_world.wasm': readFileSync(exampleInstrument('hello_world')),
  'instruments/process_file.wasm': readFileSync(exampleInstrument('process_file')),
  'instruments/random.wasm': readFileSync(exampleInstrument('random')),
  'instruments/writer.wasm': readFileSync(testInstrument('writer')),
  'data/input.txt': 'one\ntwo\nthree\n',
});
const server = await startServerFromFile(configFile);

test('the Go config loads with its meaning kept', () => {
  assert.equal(server.config.routes['/hello_world']?.ttl, 600);
  assert.equal(server.config.routes['/file_processor']?.ttl, 300, 'a ttl of 0 is cache_ttl');
  assert.deepEqual(server.config.routes['/random']?.mounts, [], 'an empty filesystem is no mount');
});

test('a cached Go route answers, then answers from the cache', async () => {
  const first = await server.text('/hello_world?name=Gopher');
  assert.equal(first.response.status, 200);
  assert.match(first.body, /Hello, Gopher!/);
  assert.equal(first.response.headers.get('x-cache'), 'MISS');
  const second = await server.text('/hello_world?name=Gopher');
  assert.equal(second.response.headers.get('x-cache'), 'HIT');
  assert.equal(second.body, first.body);
});

test('a filesystem mount reads files relative to the config', async () => {
  const { response, body } = await server.text('/file_processor');
  assert.equal(response.status, 200, body);
  assert.match(body, /3 lines/);
});

test('a filesystem mount is writable, as in the Go version', async () => {
  assert.equal((await server.text('/writer?id=go')).body, 'written');
  assert.equal(readFileSync(join(dir, 'data', 'log.txt'), 'utf8'), 'go\n');
});

test('a route with an empty filesystem runs without a mount', async () => {
  const { response, body } = await server.text('/random');
  assert.equal(response.status, 200);
  assert.match(body, /\d+/);
});

test('the index shows the Go routes with their descriptions, categories and examples', async () => {
  const { body } = await server.text('/');
  for (const [path, route] of Object.entries(goConfig.routes)) {
    assert.ok(body.includes(path), path);
    assert.ok(body.includes(route.description), route.description);
  }
  assert.ok(body.includes('File I/O') || body.includes('File I&#47;O'));
  assert.match(body, /href="\/hello_world\?name=Alice"/);
});
