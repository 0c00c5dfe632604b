import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, LIMIT_DEFAULTS, loadConfig, parseConfig, type Config } from '../../src/config/index.js';
import { fixture } from './fixtures.js';

const FILE = '/srv/wasio/config.json';

function parse(document: unknown, overrides = {}): Config {
  return parseConfig(JSON.stringify(document), FILE, overrides);
}

function route(config: Config, path: string) {
  const found = config.routes[path];
  assert.ok(found, `route ${path} is missing`);
  return found;
}

test('a config written for the Go version loads, with its meaning kept', async () => {
  const file = fixture('go-wasio', 'config.json');
  const dir = dirname(file);
  const config = await loadConfig(file);

  assert.equal(config.file, file);
  assert.equal(config.port, 8080);
  assert.equal(config.cache_ttl, 300);
  assert.equal(config.cache_size, 1024);
  assert.equal(config.index_page, true);
  assert.equal(config.monitoring, true);
  assert.deepEqual(Object.keys(config.routes), ['/hello_world', '/file_processor', '/random']);

  const hello = route(config, '/hello_world');
  assert.equal(hello.path, '/hello_world');
  assert.equal(hello.wasm_file, join(dir, 'instruments', 'hello_world.wasm'));
  assert.equal(hello.cache, true);
  assert.equal(hello.ttl, 600);
  assert.equal(hello.description, 'Greets whoever is named in the query');
  assert.equal(hello.category, 'Basic');
  assert.equal(hello.example, '?name=Alice');
  assert.deepEqual(hello.mounts, []);

  const files = route(config, '/file_processor');
  assert.equal(files.ttl, 300, 'a ttl of 0 falls back to cache_ttl, as in the Go version');
  assert.deepEqual(files.mounts, [{ guest: '/data', host: join(dir, 'data'), readonly: false }]);

  assert.deepEqual(route(config, '/random').mounts, [], 'an empty filesystem is no mount, as in the Go version');
});

test('a minimal config gets every default', () => {
  const config = parse({ routes: { '/a': { wasm_file: 'a.wasm' } } });
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.cache_ttl, 300);
  assert.equal(config.cache_size, 1024);
  assert.equal(config.index_page, true);
  assert.equal(config.monitoring, true);
  assert.equal(config.workers, availableParallelism());
  assert.equal(config.processes, 1, 'one HTTP process unless asked');
  assert.equal(config.max_queue, 1024);
  assert.deepEqual(config.defaults, LIMIT_DEFAULTS);
  assert.deepEqual(config.cache, { backend: 'memory', key_prefix: 'wasio:', timeout_ms: 100 }, 'each server caches in its own memory');
  assert.equal(config.tls, undefined, 'plain HTTP');
  assert.deepEqual(route(config, '/a'), {
    path: '/a',
    wasm_file: '/srv/wasio/a.wasm',
    cache: false,
    ttl: 300,
    description: '',
    category: '',
    example: '',
    mounts: [],
    env: {},
    args: [],
    methods: ['GET', 'HEAD', 'POST'],
    protocol: 'wasio',
    timeout_ms: 10_000,
    memory_limit_mb: 256,
    max_output_bytes: 16 * 1024 * 1024,
    max_body_bytes: 1024 * 1024,
    max_concurrency: null,
  });
});

test('an empty object is a valid config without routes', () => {
  assert.deepEqual(parse({}).routes, {});
});

test('every key can be set, and $schema and _ keys are ignored wherever they are', async () => {
  const file = fixture('full', 'config.json');
  const dir = dirname(file);
  const config = await loadConfig(file);

  assert.deepEqual(
    { ...config, routes: undefined },
    {
      file,
      port: 9090,
      host: '0.0.0.0',
      cache_ttl: 60,
      cache_size: 16,
      index_page: false,
      monitoring: false,
      workers: 3,
      processes: 2,
      max_queue: 10,
      defaults: { timeout_ms: 2000, memory_limit_mb: 64, max_output_bytes: 4096, max_body_bytes: 512, max_concurrency: 8 },
      cache: { backend: 'redis', url: 'redis://cache.internal:6380/2', key_prefix: 'site-a:', timeout_ms: 50 },
      tls: { cert: join(dir, 'tls', 'cert.pem'), key: '/etc/wasio/key.pem' },
      routes: undefined,
    },
  );
  assert.deepEqual(Object.keys(config.routes), ['/users/:id', '/files/*']);
  assert.deepEqual(route(config, '/users/:id'), {
    path: '/users/:id',
    wasm_file: join(dir, 'modules', 'users.wasm'),
    cache: true,
    ttl: 30,
    description: 'One user',
    category: 'People',
    example: '/users/42',
    mounts: [
      { guest: '/data', host: join(dir, 'data'), readonly: true },
      { guest: '/tmp', host: '/var/tmp/wasio', readonly: false },
    ],
    env: { GREETING: 'hello' },
    args: ['--verbose', 'two words'],
    methods: ['GET', 'PUT'],
    protocol: 'cgi',
    content_type: 'application/json',
    timeout_ms: 500,
    memory_limit_mb: 32,
    max_output_bytes: 1024,
    max_body_bytes: 0,
    max_concurrency: null,
  });
  const files = route(config, '/files/*');
  assert.equal(files.wasm_file, join(dir, '..', 'shared', 'files.wasm'));
  assert.deepEqual(files.mounts, [
    { guest: '/files', host: join(dir, '..', 'shared', 'files'), readonly: false },
    { guest: '/cache', host: join(dir, 'cache'), readonly: false },
  ], 'filesystem comes first, then mounts');
});

test('each limit comes from the route, else defaults, else the built-in value', () => {
  const config = parse({
    defaults: { timeout_ms: 2000, max_concurrency: 4 },
    routes: {
      '/plain': { wasm_file: 'a.wasm' },
      '/own': { wasm_file: 'a.wasm', timeout_ms: 100, memory_limit_mb: 16, max_concurrency: 1 },
      '/unlimited': { wasm_file: 'a.wasm', max_concurrency: null },
    },
  });
  const limits = (path: string) => {
    const { timeout_ms, memory_limit_mb, max_output_bytes, max_body_bytes, max_concurrency } = route(config, path);
    return { timeout_ms, memory_limit_mb, max_output_bytes, max_body_bytes, max_concurrency };
  };
  const builtIn = { max_output_bytes: LIMIT_DEFAULTS.max_output_bytes, max_body_bytes: LIMIT_DEFAULTS.max_body_bytes };
  assert.deepEqual(limits('/plain'), { timeout_ms: 2000, memory_limit_mb: 256, max_concurrency: 4, ...builtIn });
  assert.deepEqual(limits('/own'), { timeout_ms: 100, memory_limit_mb: 16, max_concurrency: 1, ...builtIn });
  assert.deepEqual(limits('/unlimited'), { timeout_ms: 2000, memory_limit_mb: 256, max_concurrency: null, ...builtIn },
    'null on a route lifts the limit that defaults set');
  assert.deepEqual(config.defaults, { ...LIMIT_DEFAULTS, timeout_ms: 2000, max_concurrency: 4 });
});

test('ttl falls back to cache_ttl; cache_ttl and cache_size of 0 mean their defaults, as in the Go version', () => {
  const config = parse({
    cache_ttl: 0,
    cache_size: 0,
    routes: { '/a': { wasm_file: 'a.wasm' }, '/b': { wasm_file: 'b.wasm', ttl: 0 }, '/c': { wasm_file: 'c.wasm', ttl: 5 } },
  });
  assert.equal(config.cache_ttl, 300);
  assert.equal(config.cache_size, 1024);
  assert.deepEqual(Object.values(config.routes).map((r) => r.ttl), [300, 300, 5]);
  assert.equal(route(parse({ cache_ttl: 42, routes: { '/a': { wasm_file: 'a' } } }), '/a').ttl, 42);
});

test('paths are resolved from the config file\'s folder, and absolute ones are kept', () => {
  const config = parseConfig(JSON.stringify({
    routes: {
      '/a': {
        wasm_file: '../modules/a.wasm',
        filesystem: { mount: '/data', path: 'data' },
        mounts: [{ guest: '/abs', host: '/var/lib/wasio' }, { guest: '/up', host: '../../shared' }],
      },
      '/b': { wasm_file: '/opt/modules/b.wasm' },
    },
  }), '/srv/app/conf/config.json');
  const a = route(config, '/a');
  assert.equal(a.wasm_file, '/srv/app/modules/a.wasm');
  assert.deepEqual(a.mounts.map((m) => m.host), ['/srv/app/conf/data', '/var/lib/wasio', '/srv/shared']);
  assert.equal(route(config, '/b').wasm_file, '/opt/modules/b.wasm');
});

test('a relative config file name is taken from the current directory', () => {
  const config = parseConfig('{}', join('some', 'dir', 'config.json'));
  assert.equal(config.file, join(process.cwd(), 'some', 'dir', 'config.json'));
});

test('guest paths are normalized', () => {
  const config = parse({
    routes: { '/a': { wasm_file: 'a', mounts: [{ guest: '/data/', host: 'd' }, { guest: '//x/./y', host: 'e' }, { guest: '/', host: 'f' }] } },
  });
  assert.deepEqual(route(config, '/a').mounts.map((m) => m.guest), ['/data', '/x/y', '/']);
});

test('port may be a number or a string of digits; "" means 8080 as in the Go version', () => {
  assert.equal(parse({ port: 3000 }).port, 3000);
  assert.equal(parse({ port: '3000' }).port, 3000);
  assert.equal(parse({ port: '' }).port, 8080);
  assert.equal(parse({ port: 0 }).port, 0, 'port 0 asks the system for a free port');
});

test('overrides replace the file\'s port and host, and are validated like them', () => {
  const config = parse({ port: 3000, host: '127.0.0.1' }, { port: '9000', host: '::' });
  assert.equal(config.port, 9000);
  assert.equal(config.host, '::');
  assert.equal(parse({ port: 3000 }, { port: 1234 }).port, 1234);
  assert.equal(parse({ port: 3000 }, { port: undefined }).port, 3000);

  assert.throws(() => parse({}, { port: 'eighty' }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'WASIO_ERR_CONFIG_INVALID_VALUE');
    assert.equal(error.keyPath, 'port');
    assert.match(error.message, /: port: override must be a TCP port 0-65535, .*got "eighty"$/);
    return true;
  });
  assert.throws(() => parse({}, { port: 70000 }), { message: /port: override must be at most 65535, got 70000$/ });
  assert.throws(() => parse({}, { host: '' }), ConfigError);
});

test('the redis cache backend needs a URL, from the file or WASIO_CACHE_URL; memory takes none', () => {
  assert.throws(() => parse({ cache: { backend: 'redis' } }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'WASIO_ERR_CONFIG_MISSING_KEY');
    assert.equal(error.keyPath, 'cache.url');
    assert.match(error.message, /cache\.url \(line 1, column \d+\): is required by backend "redis"/);
    return true;
  });
  assert.equal(parse({ cache: { backend: 'redis' } }, { cacheUrl: 'redis://cache:6379' }).cache.url, 'redis://cache:6379');
  assert.equal(parse({ cache: { backend: 'redis', url: 'redis://file:6379' } }, { cacheUrl: 'rediss://:secret@env:6380' }).cache.url,
    'rediss://:secret@env:6380', 'the variable wins over the file');
  assert.equal(parse({}, { cacheUrl: 'redis://cache:6379' }).cache.url, undefined, 'a memory cache ignores the variable');
  assert.throws(() => parse({ cache: { backend: 'memory', url: 'redis://cache:6379' } }), { message: /cache\.url[^:]*: is used only by backend "redis"/ });
  assert.throws(() => parse({ cache: { backend: 'redis', url: 'http://cache:6379' } }), { message: /cache\.url[^:]*: must be a redis:\/\/ or rediss:\/\/ URL/ });
  assert.throws(() => parse({ cache: { backend: 'memcached' } }), { message: /cache\.backend/ });
  assert.throws(() => parse({}, { cacheUrl: 'cache:6379' }), { message: /cache\.url[^:]*: override must be a redis/ });
  assert.throws(() => parse({ cache: { backend: 'redis', url: 'redis://c', timeout_ms: 0 } }), { message: /cache\.timeout_ms/ });
});

test('tls paths are resolved from the config file\'s folder; --tls-cert/--tls-key from the current directory', () => {
  const config = parse({ tls: { cert: 'certs/server.pem', key: '/etc/keys/server.key' } });
  assert.deepEqual(config.tls, { cert: '/srv/wasio/certs/server.pem', key: '/etc/keys/server.key' });
  const overridden = parse({ tls: { cert: 'a.pem', key: 'b.pem' } }, { tls: { cert: 'here.pem', key: '/abs/key.pem' } });
  assert.deepEqual(overridden.tls, { cert: join(process.cwd(), 'here.pem'), key: '/abs/key.pem' });
  assert.throws(() => parse({ tls: { cert: 'a.pem' } }), { message: /tls\.key[^:]*: is required but missing/ });
  assert.throws(() => parse({ tls: { cert: '', key: 'b.pem' } }), { message: /tls\.cert[^:]*: cert must not be empty/ });
});

test('route paths may hold :params and a final *, and nothing else unusual', () => {
  const valid = ['/', '/hello_world', '/a/b/', '/users/:id', '/users/:id/posts/:post_id', '/files/*', '/*', '/v1.2/~me/a-b', '/%C3%A9'];
  const config = parse({ routes: Object.fromEntries(valid.map((path) => [path, { wasm_file: 'a.wasm' }])) });
  assert.deepEqual(Object.keys(config.routes), valid);

  const invalid = ['hello/x', '', '/a//b', '/files*', '/a/*/b', '/a/:', '/a/:1x', '/a/b:c', '/a b', '/a?b', '/a#b', '/users/:id/:id'];
  for (const path of invalid) {
    assert.throws(() => parse({ routes: { [path]: { wasm_file: 'a.wasm' } } }), (error: unknown) => {
      assert.ok(error instanceof ConfigError, path);
      assert.equal(error.code, 'WASIO_ERR_CONFIG_INVALID_VALUE', path);
      assert.equal(error.keyPath, `routes[${JSON.stringify(path)}]`, path);
      return true;
    });
  }
  assert.throws(() => parse({ routes: { hello: { wasm_file: 'a.wasm' } } }), { keyPath: 'routes.hello' });
});

test('methods default to GET, HEAD and POST and must be upper-case names', () => {
  assert.deepEqual(route(parse({ routes: { '/a': { wasm_file: 'a', methods: ['DELETE'] } } }), '/a').methods, ['DELETE']);
  for (const methods of [['get'], [], ['GET', 'GET'], ['G E T']]) {
    assert.throws(() => parse({ routes: { '/a': { wasm_file: 'a', methods } } }), ConfigError, JSON.stringify(methods));
  }
});

test('the result is deeply frozen', () => {
  const config = parse({ routes: { '/a': { wasm_file: 'a', env: { A: '1' }, args: ['x'], mounts: [{ guest: '/d', host: 'd' }] } } });
  const a = route(config, '/a');
  for (const value of [config, config.defaults, config.routes, a, a.env, a.args, a.methods, a.mounts, a.mounts[0]]) {
    assert.ok(Object.isFrozen(value));
  }
  assert.throws(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (a.methods as string[]).push('PUT');
  }, TypeError);
});

test('processes is a count, or "auto" for one per core', () => {
  assert.equal(parse({ processes: 3 }).processes, 3);
  assert.equal(parse({ processes: 'auto' }).processes, availableParallelism());
});
