/**
 * Config problems through the command line: `wasio check` prints one line per problem naming
 * the file and the key and exits 1; `wasio serve` refuses to start with the same information
 * on stderr. A good config checks clean.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, temporaryDirectory, testInstrument, writeConfig } from '../helpers/server.js';

/** Three problems, one of each common kind: a typo, a wrong type, an unknown top-level key. */
const badDocument = {
  cache_ttl: 'five minutes',
  prot: 8080,
  routes: {
    '/hello': { wasm_file: testInstrument('echo'), timout_ms: 500 },
  },
};

describe('wasio check', () => {
  test('a broken config: exit 1, one line per problem naming the file and the key', async () => {
    const { configFile } = writeConfig(badDocument);
    const result = await runCli(['check', '-c', configFile]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, result.stdout);
    assert.ok(lines.every((line) => line.startsWith(configFile)), `every line names ${configFile}:\n${result.stdout}`);
    assert.ok(lines.some((line) => line.includes('cache_ttl')), 'names cache_ttl');
    assert.ok(lines.some((line) => line.includes('prot')), 'names prot');
    assert.ok(lines.some((line) => line.includes('routes["/hello"].timout_ms')), 'names the route key with its path');
    assert.ok(lines.some((line) => line.includes('WASIO_ERR_CONFIG_UNKNOWN_KEY')), 'lines carry their error code');
  });

  test('invalid JSON: exit 1, with the line and column', async () => {
    const dir = temporaryDirectory();
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, '{\n  "routes": {\n    "/a": { "wasm_file": "a.wasm" }\n  }\n  "port": 1\n}\n');
    const result = await runCli(['check', '-c', configFile]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`^${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: `));
  });

  test('a module that cannot be loaded: exit 1, naming the route\'s wasm_file', async () => {
    const { configFile } = writeConfig({
      routes: { '/fine': { wasm_file: testInstrument('echo') }, '/gone': { wasm_file: 'gone.wasm' } },
    });
    const result = await runCli(['check', '-c', configFile]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout.trimEnd().split('\n').length, 1, result.stdout);
    assert.match(result.stdout, /routes\["\/gone"\]\.wasm_file/);
    assert.match(result.stdout, /gone\.wasm/);
  });

  test('a good config: exit 0 and an ok line', async () => {
    const { configFile } = writeConfig({ routes: { '/echo': { wasm_file: testInstrument('echo') } } });
    const result = await runCli(['check', '-c', configFile]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok \(1 routes?\)/);
  });
});

describe('wasio serve', () => {
  test('a broken config: exits non-zero before listening, naming the file and each key on stderr', async () => {
    const { configFile } = writeConfig(badDocument);
    const result = await runCli(['serve', '-c', configFile, '--port', '0']);
    assert.notEqual(result.code, 0);
    assert.ok(result.stderr.includes(configFile), result.stderr);
    assert.match(result.stderr, /cache_ttl/);
    assert.match(result.stderr, /prot/);
    assert.match(result.stderr, /timout_ms/);
    assert.doesNotMatch(result.stdout, /listening/);
  });

  test('a missing config file: exits non-zero naming the file', async () => {
    const missing = join(temporaryDirectory(), 'nowhere.json');
    const result = await runCli(['serve', '-c', missing, '--port', '0']);
    assert.notEqual(result.code, 0);
    assert.ok(result.stderr.includes(missing), result.stderr);
  });

  test('a bad --port: exits non-zero naming the port', async () => {
    const { configFile } = writeConfig({ routes: {} });
    const result = await runCli(['serve', '-c', configFile, '--port', '70000']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /port/);
  });
});
