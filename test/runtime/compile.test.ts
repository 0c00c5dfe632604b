import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileModule } from '../../src/runtime/compile.js';
import { ModuleLoadError, ModuleStore } from '../../src/runtime/index.js';
import { CaptureSink, runCommand, type ProvidedMemory } from '../../src/wasi/index.js';

const HELLO_GO = fileURLToPath(new URL('../../../examples/instruments/hello_world.wasm', import.meta.url));
// Other bytes than HELLO_GO's: V8 hands a compile of bytes it has compiled before the same compiled module, without compiling.
const RANDOM_GO = fileURLToPath(new URL('../../../examples/instruments/random.wasm', import.meta.url));
const FIBONACCI_RUST = fileURLToPath(new URL('../../../examples/instruments/fibonacci.wasm', import.meta.url));

function greeting(module: WebAssembly.Module, memory?: ProvidedMemory): string {
  const stdout = new CaptureSink();
  const { exitCode } = runCommand(module, { args: ['hello_world'], stdin: Buffer.from('{"params":{"name":"Ada"}}'), stdout }, memory);
  assert.equal(exitCode, 0);
  return Buffer.from(stdout.bytes()).toString('utf8');
}

test('a module compiled whole runs like one compiled lazily', async () => {
  const bytes = readFileSync(HELLO_GO);
  const whole = await compileModule(bytes, 'whole');
  const lazy = await compileModule(bytes, 'lazy');
  assert.match(greeting(whole), /Hello, Ada!/);
  assert.equal(greeting(whole), greeting(lazy));
});

test('an asynchronous compile after a whole one settles: the process-wide flag is set back', () => {
  // In a process of its own with nothing else pending: on Node 24, an asynchronous compile
  // under the cleared flag leaves the event loop empty and the process exits 13 unsettled.
  const script = `
    import { readFileSync } from 'node:fs';
    const { compileModule } = await import(${JSON.stringify(new URL('../../src/runtime/compile.js', import.meta.url).href)});
    await compileModule(readFileSync(${JSON.stringify(HELLO_GO)}), 'whole');
    const module = await compileModule(readFileSync(${JSON.stringify(RANDOM_GO)}), 'lazy');
    console.log(module instanceof WebAssembly.Module ? 'settled' : 'not a module');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.stdout.trim(), 'settled', child.stderr);
  assert.equal(child.status, 0);
});

test('bytes that are not WebAssembly reject a whole compile, and the flag is set back all the same', async () => {
  await assert.rejects(compileModule(Uint8Array.from([0, 0x61, 0x73, 0x6d, 9, 9, 9, 9]), 'whole'), WebAssembly.CompileError);
  assert.ok(await compileModule(readFileSync(FIBONACCI_RUST), 'lazy') instanceof WebAssembly.Module);
});

test('the module store compiles whole when asked, and a later lazy request reuses that compilation', async () => {
  const store = new ModuleStore({ maxModules: 4 });
  const whole = await store.get(HELLO_GO, 64, 'whole');
  assert.equal(await store.get(HELLO_GO, 64, 'lazy'), whole);
  assert.deepEqual(store.stats(), { hits: 1, misses: 1, compiles: 1, cached: 1 });
  assert.match(greeting(whole.module, whole.memoryImport), /Hello, Ada!/);
  await assert.rejects(store.get(fileURLToPath(import.meta.url), 64, 'whole'), ModuleLoadError);
  store.close();
});

test('the module store gives a compilation at once only when it has finished, and counts it as a hit; a failed one never', async () => {
  const store = new ModuleStore({ maxModules: 4 });
  assert.equal(store.compiled(FIBONACCI_RUST, 64), undefined, 'nothing compiled yet');
  const loading = store.get(FIBONACCI_RUST, 64);
  assert.equal(store.compiled(FIBONACCI_RUST, 64), undefined, 'still compiling');
  const module = await loading;
  assert.equal(store.compiled(FIBONACCI_RUST, 64), module);
  assert.equal(store.compiled(`${FIBONACCI_RUST}/../fibonacci.wasm`, 64), module, 'the same file by another path');
  assert.equal(store.compiled(FIBONACCI_RUST, 32), undefined, 'another memory limit is another compilation');
  assert.deepEqual(store.stats(), { hits: 2, misses: 1, compiles: 1, cached: 1 });
  const notWasm = fileURLToPath(import.meta.url);
  await assert.rejects(store.get(notWasm, 64), ModuleLoadError);
  assert.equal(store.compiled(notWasm, 64), undefined);
  store.invalidate(FIBONACCI_RUST);
  assert.equal(store.compiled(FIBONACCI_RUST, 64), undefined, 'a changed file is compiled again');
  store.close();
});

test('the module store finds a compiled module by any number of paths asked for it', async () => {
  const store = new ModuleStore({ maxModules: 4 });
  const module = await store.get(FIBONACCI_RUST, 64);
  // More spellings of the path than the store remembers keys for: it forgets them and makes them anew.
  for (let n = 0; n < 1_100; n++) assert.equal(store.compiled(`${FIBONACCI_RUST}/../${n}/../fibonacci.wasm`, 64), module);
  assert.equal(store.compiled(FIBONACCI_RUST, 64), module);
  store.close();
});
