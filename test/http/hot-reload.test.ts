/**
 * Watching files (SPEC section 5), through `wasio serve` itself: a module replaced on disk is
 * used from the next request on; a changed config is swapped in; a broken one is refused with
 * a logged error while the previous config keeps serving. The tests build on each other in
 * order, on one server.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LogLevel, exampleInstrument, startChildServer, testInstrument, writeConfig } from '../helpers/server.js';

const routes = {
  '/swap': { wasm_file: 'modules/swap.wasm' },
  '/echo': { wasm_file: testInstrument('echo') },
};
const { dir, configFile } = writeConfig({ workers: 1, routes }, {
  'modules/swap.wasm': new Uint8Array(0),
});
copyFileSync(exampleInstrument('tiny_hello'), join(dir, 'modules', 'swap.wasm'));
const server = await startChildServer(configFile);

/** Writes the config file in place, the way an editor saving it would. */
function saveConfig(document: unknown): void {
  writeFileSync(configFile, typeof document === 'string' ? document : JSON.stringify(document, null, 2));
}

test('a module file replaced on disk is used from the next request on', async () => {
  const before = await server.text('/swap?name=Bob');
  assert.equal(before.response.status, 200);
  assert.match(before.body, /Hello, Bob!/);

  const since = server.logs.lines.length;
  copyFileSync(testInstrument('echo'), join(dir, 'modules', 'swap.wasm'));
  await server.logs.waitFor('about the changed module', (line) => String(line['module']).endsWith('swap.wasm')
    && String(line.msg).includes('changed'), { since });

  const after = await server.text('/swap?name=Bob');
  assert.equal(after.response.status, 200);
  assert.match(after.body, /"route":"\/swap"/, `the echo module answered: ${after.body}`);
});

test('a route added to the config file is served after the reload', async () => {
  assert.equal((await server.text('/added')).response.status, 404);

  const since = server.logs.lines.length;
  saveConfig({ workers: 1, routes: { ...routes, '/added': { wasm_file: testInstrument('stderr_lines') } } });
  await server.logs.waitFor('saying the config was reloaded', (line) => line.msg === 'config reloaded', { since });

  const added = await server.text('/added');
  assert.equal(added.response.status, 200);
  assert.equal(added.body, 'ok');
});

test('a broken config is refused with a logged error, and the previous one keeps serving', async () => {
  const since = server.logs.lines.length;
  saveConfig({ workers: 1, routes: { ...routes, '/added': { wasm_file: testInstrument('stderr_lines'), timout_ms: 5 } } });
  const refusal = await server.logs.waitFor('refusing the broken config', (line) => line.level >= LogLevel.error
    && String(line.msg).includes('not reloaded'), { since });
  assert.match(String(refusal.msg), /timout_ms/, 'the log names the bad key');
  assert.equal(refusal['file'], configFile);

  assert.equal((await server.text('/added')).body, 'ok');
  assert.equal((await server.text('/echo')).response.status, 200);

  const half = server.logs.lines.length;
  saveConfig('{ "routes": ');
  await server.logs.waitFor('refusing a config that is not JSON', (line) => line.level >= LogLevel.error
    && String(line.msg).includes('not reloaded'), { since: half });
  assert.equal((await server.text('/added')).body, 'ok');
});

test('a config fixed after a broken one is taken again', async () => {
  const since = server.logs.lines.length;
  saveConfig({ workers: 1, routes });
  await server.logs.waitFor('saying the config was reloaded', (line) => line.msg === 'config reloaded', { since });
  assert.equal((await server.text('/added')).response.status, 404, 'the route removed from the file is gone');
  assert.equal(server.child.exitCode, null, 'the server never stopped');
});
