import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseConfig, type ConfigProblem } from '../../src/config/index.js';
import { fixture } from './fixtures.js';

const FILE = '/srv/wasio/config.json';

/** The ConfigError that parsing `text` throws. */
function failure(text: string): ConfigError {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${text} to be rejected`);
}

/** Like `failure`, for a document given as a value. */
function rejected(document: unknown): ConfigError {
  return failure(JSON.stringify(document, null, 2));
}

function only(error: ConfigError): ConfigProblem {
  assert.equal(error.problems.length, 1, error.message);
  return error.problems[0];
}

test('an unknown key is named with its path, its position and the file, with a suggestion', async () => {
  const file = fixture('invalid', 'typo.json');
  await assert.rejects(loadConfig(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'WASIO_ERR_CONFIG_UNKNOWN_KEY');
    assert.equal(error.file, file);
    assert.equal(error.keyPath, 'routes["/hello"].timout_ms');
    assert.deepEqual(error.problems, [{
      code: 'WASIO_ERR_CONFIG_UNKNOWN_KEY',
      keyPath: 'routes["/hello"].timout_ms',
      position: { line: 5, column: 7 },
      message: 'unknown key; did you mean "timeout_ms"?',
    }]);
    assert.equal(error.message,
      `Config file ${file}: routes["/hello"].timout_ms (line 5, column 7): unknown key; did you mean "timeout_ms"?`);
    return true;
  });
});

test('unknown keys are errors at every level', () => {
  const cases: [unknown, string][] = [
    [{ prot: 1 }, 'prot'],
    [{ defaults: { timeout: 1 } }, 'defaults.timeout'],
    [{ routes: { '/a': { wasm_file: 'a', filesystem: { mount: '/d', path: 'd', ro: true } } } }, 'routes["/a"].filesystem.ro'],
    [{ routes: { '/a': { wasm_file: 'a', mounts: [{ guest: '/d', host: 'd', read_only: true }] } } }, 'routes["/a"].mounts[0].read_only'],
  ];
  for (const [document, keyPath] of cases) {
    const problem = only(rejected(document));
    assert.equal(problem.code, 'WASIO_ERR_CONFIG_UNKNOWN_KEY');
    assert.equal(problem.keyPath, keyPath);
  }
  assert.match(only(rejected({ Port: 1 })).message, /did you mean "port"\?/, 'case slips are caught');
  assert.equal(only(rejected({ colour: 1 })).message, 'unknown key', 'no far-fetched suggestion');
});

test('a value of the wrong type says what was expected and what was found', () => {
  const cases: [unknown, string, string][] = [
    [{ index_page: 'yes' }, 'index_page', 'expected true or false, got "yes"'],
    [{ cache_ttl: 1.5 }, 'cache_ttl', 'expected an integer, got 1.5'],
    [{ port: true }, 'port', 'must be a TCP port 0-65535, as a number or a string of digits, got true'],
    [{ routes: [] }, 'routes', 'expected an object, got an array'],
    [{ routes: { '/a': { wasm_file: 7 } } }, 'routes["/a"].wasm_file', 'expected a string, got 7'],
    [{ routes: { '/a': { wasm_file: 'a', env: { N: 1 } } } }, 'routes["/a"].env.N', 'expected a string, got 1'],
    [{ routes: { '/a': { wasm_file: 'a', max_concurrency: 'many' } } }, 'routes["/a"].max_concurrency', 'expected an integer or null, got "many"'],
  ];
  for (const [document, keyPath, message] of cases) {
    const problem = only(rejected(document));
    assert.equal(problem.code, 'WASIO_ERR_CONFIG_INVALID_TYPE', keyPath);
    assert.equal(problem.keyPath, keyPath);
    assert.equal(problem.message, message);
  }
});

test('a missing wasm_file is named', () => {
  assert.deepEqual(only(failure('{"routes": {"/a": {"cache": true}}}')), {
    code: 'WASIO_ERR_CONFIG_MISSING_KEY',
    keyPath: 'routes["/a"].wasm_file',
    position: { line: 1, column: 13 },
    message: 'is required but missing',
  });
});

test('values out of range or of the wrong form are invalid values', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ port: 65536 }, 'port', /must be at most 65535, got 65536/],
    [{ port: '80a' }, 'port', /TCP port.*got "80a"/],
    [{ port: '99999' }, 'port', /TCP port/],
    [{ host: 'my host' }, 'host', /host name or IP address/],
    [{ workers: 0 }, 'workers', /must be at least 1, got 0/],
    [{ processes: 0 }, 'processes', /must be at least 1, got 0/],
    [{ processes: 'many' }, 'processes', /must be a positive integer or "auto", got "many"/],
    [{ defaults: { timeout_ms: 0 } }, 'defaults.timeout_ms', /at least 1/],
    [{ defaults: { timeout_ms: 2 ** 31 } }, 'defaults.timeout_ms', /at most 2147483647/],
    [{ defaults: { memory_limit_mb: 5000 } }, 'defaults.memory_limit_mb', /at most 4096/],
    [{ defaults: { max_body_bytes: -1 } }, 'defaults.max_body_bytes', /at least 0/],
    [{ routes: { '/a': { wasm_file: '' } } }, 'routes["/a"].wasm_file', /must not be empty/],
    [{ routes: { '/a': { wasm_file: 'a', protocol: 'http' } } }, 'routes["/a"].protocol', /one of "wasio", "cgi", got "http"/],
    [{ routes: { '/a': { wasm_file: 'a', methods: ['get'] } } }, 'routes["/a"].methods[0]', /upper-case HTTP method/],
    [{ routes: { '/a': { wasm_file: 'a', content_type: 'text/html\r\nX-Evil: 1' } } }, 'routes["/a"].content_type', /media type/],
    [{ routes: { '/a': { wasm_file: 'a', env: { 'A=B': 'x' } } } }, 'routes["/a"].env["A=B"]', /variable name/],
    [{ routes: { '/a': { wasm_file: 'a', args: ['a\0b'] } } }, 'routes["/a"].args[0]', /NUL/],
    [{ routes: { '/a': { wasm_file: 'a', mounts: [{ guest: 'data', host: 'd' }] } } }, 'routes["/a"].mounts[0].guest', /absolute guest path/],
    [{ routes: { '/a': { wasm_file: 'a', mounts: [{ guest: '/d/../..', host: 'd' }] } } }, 'routes["/a"].mounts[0].guest', /"\.\."/],
    [{ routes: { '/a': { wasm_file: 'a', filesystem: { mount: '/d', path: '' } } } }, 'routes["/a"].filesystem.path', /must not be empty/],
    [{ routes: { '/a': { wasm_file: 'a', filesystem: { mount: 'd', path: 'd' } } } }, 'routes["/a"].filesystem.mount', /absolute guest path/],
    [
      { routes: { '/a': { wasm_file: 'a', filesystem: { mount: '/d', path: 'x' }, mounts: [{ guest: '/d/', host: 'y' }] } } },
      'routes["/a"].mounts[0].guest',
      /mounts \/d a second time/,
    ],
  ];
  for (const [document, keyPath, message] of cases) {
    const problem = only(rejected(document));
    assert.equal(problem.code, 'WASIO_ERR_CONFIG_INVALID_VALUE', `${keyPath}: ${problem.message}`);
    assert.equal(problem.keyPath, keyPath);
    assert.match(problem.message, message);
  }
});

test('every problem is reported at once, in document order', () => {
  const error = failure(`{
  "port": "http",
  "routes": {
    "/a": { "wasm_file": 1 },
    "/b": { "wasm_file": "b.wasm", "ttl": -1, "cahce": true }
  },
  "workers": "4"
}`);
  assert.equal(error.code, 'WASIO_ERR_CONFIG_INVALID');
  assert.equal(error.keyPath, 'port');
  assert.deepEqual(error.problems.map((p) => [p.keyPath, p.code, p.position?.line]), [
    ['port', 'WASIO_ERR_CONFIG_INVALID_VALUE', 2],
    ['routes["/a"].wasm_file', 'WASIO_ERR_CONFIG_INVALID_TYPE', 4],
    ['routes["/b"].ttl', 'WASIO_ERR_CONFIG_INVALID_VALUE', 5],
    ['routes["/b"].cahce', 'WASIO_ERR_CONFIG_UNKNOWN_KEY', 5],
    ['workers', 'WASIO_ERR_CONFIG_INVALID_TYPE', 7],
  ]);
  assert.match(error.message, /^Config file \/srv\/wasio\/config\.json has 5 problems:\n {2}- port \(line 2, column 3\): /);
  assert.match(error.message, /\n {2}- routes\["\/b"\]\.cahce \(line 5, column 47\): unknown key; did you mean "cache"\?/);
});

test('a key written twice in one object is an error, since JSON would drop one value', () => {
  const error = failure('{\n  "routes": {\n    "/a": {"wasm_file": "a"},\n    "/a": {"wasm_file": "b"}\n  }\n}');
  assert.deepEqual(only(error), {
    code: 'WASIO_ERR_CONFIG_DUPLICATE_KEY',
    keyPath: 'routes["/a"]',
    position: { line: 4, column: 5 },
    message: 'the key is written twice (first at line 3); JSON keeps only one of them',
  });
});

test('$schema and _ keys are ignored anywhere, even repeated and of any type', () => {
  const config = parseConfig(`{
  "$schema": "./schema/config.schema.json",
  "_comment": "first",
  "_comment": ["second"],
  "routes": {
    "_": 1,
    "/a": { "wasm_file": "a", "$schema": 2, "_note": {"x": 1}, "env": {"_c": "not passed", "K": "v"} }
  }
}`, FILE);
  assert.deepEqual(Object.keys(config.routes), ['/a']);
  assert.deepEqual(config.routes['/a']?.env, { K: 'v' });
});

test('invalid JSON is reported with its line and column', async () => {
  const file = fixture('invalid', 'missing-comma.json');
  await assert.rejects(loadConfig(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'WASIO_ERR_CONFIG_INVALID_JSON');
    assert.equal(error.message,
      `Config file ${file}: routes (line 5, column 5): invalid JSON: unexpected '"' after the value of "/a"; expected "," or "}" (is a comma missing?)`);
    return true;
  });

  const cases: [string, number, number, RegExp][] = [
    ['', 1, 1, /the file is empty/],
    ['{"port": 8080', 1, 14, /the file ends/],
    ['{"port": 8080,}', 1, 15, /trailing comma/],
    ['{\n  "routes": [1, 2,]\n}', 2, 19, /trailing comma/],
    ['{\n  // a comment\n  "port": 1\n}', 2, 3, /comments are not allowed in JSON; write them as a key starting with "_"/],
    ["{'port': 1}", 1, 2, /expected a key in double quotes/],
    ['{"port": \'1\'}', 1, 10, /double quotes/],
    ['{"port": 08}', 1, 10, /invalid number "08"/],
    ['{"port": 1} x', 1, 13, /after the end of the JSON value/],
    ['{"port" 1}', 1, 9, /expected ":"/],
    ['{"host": "a\nb"}', 1, 12, /control character/],
    ['{"host": "\\x"}', 1, 11, /invalid escape/],
    ['{"host": "abc', 1, 10, /never closed/],
    ['{"port": tru}', 1, 10, /expected a value/],
    [`${'['.repeat(300)}${']'.repeat(300)}`, 1, 258, /nested more than 256 levels/],
  ];
  for (const [text, line, column, message] of cases) {
    const problem = only(failure(text));
    assert.equal(problem.code, 'WASIO_ERR_CONFIG_INVALID_JSON', text);
    assert.deepEqual(problem.position, { line, column }, text);
    assert.match(problem.message, message, text);
  }
});

test('JSON details: escapes, a byte order mark and CRLF line ends are read correctly', () => {
  const config = parseConfig('\uFEFF{\r\n "routes": {"/a": {"wasm_file": "a", "env": {"S": "\\"\\u00e9\\n\\/"}}}\r\n}', FILE);
  assert.deepEqual(config.routes['/a']?.env, { S: '"é\n/' });
  const error = failure('{\r\n  "port": true\r\n}');
  assert.deepEqual(only(error).position, { line: 2, column: 3 });
});

test('the top level must be an object', () => {
  for (const text of ['[]', '"config"', '42', 'null']) {
    const problem = only(failure(text));
    assert.equal(problem.code, 'WASIO_ERR_CONFIG_INVALID_TYPE');
    assert.equal(problem.keyPath, '');
  }
});

test('a missing file and an unreadable one have their own codes', async () => {
  const missing = fixture('invalid', 'does-not-exist.json');
  await assert.rejects(loadConfig(missing), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'WASIO_ERR_CONFIG_NOT_FOUND');
    assert.equal(error.file, missing);
    assert.equal(error.message, `Config file ${missing}: no such file`);
    return true;
  });
  await assert.rejects(loadConfig(fixture('invalid')), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'WASIO_ERR_CONFIG_UNREADABLE');
    assert.match(error.message, /cannot be read: .*EISDIR/);
    return true;
  });
});
