/**
 * Runs the official WASI preview 1 testsuite (WebAssembly/wasi-testsuite, branch
 * `prod/testsuite-base`) through `wasio run`, the way its wasmtime adapter drives wasmtime:
 * `--env K=V`, `--dir ROOT::/`, then the module and its arguments. Each test gets a fresh copy
 * of its root directory. The suite is not part of this repository: pass a checkout of it.
 *
 *   node dist/bench/wasi-testsuite.js PATH/TO/wasi-testsuite [--verbose]
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface TestConfig {
  args?: string[];
  env?: Record<string, string>;
  root?: string;
  exit_code?: number;
  stdout?: string;
}

interface Outcome {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SUITES = ['assemblyscript', 'c', 'rust'];
const TIMEOUT_MS = 30_000;

function runOne(suiteDir: string, wasmFile: string): Promise<Outcome> {
  const name = `${suiteDir.split('/').at(-3)}/${wasmFile.replace(/\.wasm$/, '')}`;
  const configPath = join(suiteDir, wasmFile.replace(/\.wasm$/, '.json'));
  const config: TestConfig = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as TestConfig) : {};
  const argv = [CLI, 'run'];
  for (const [key, value] of Object.entries(config.env ?? {})) argv.push('--env', `${key}=${value}`);
  let scratch: string | undefined;
  if (config.root !== undefined) {
    scratch = mkdtempSync(join(tmpdir(), 'wasi-testsuite-'));
    cpSync(join(suiteDir, config.root), scratch, { recursive: true, verbatimSymlinks: true });
    argv.push('--dir', `${scratch}::/`);
  }
  argv.push(join(suiteDir, wasmFile), ...(config.args ?? []));
  return new Promise((done) => {
    execFile(process.execPath, argv, { timeout: TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
      const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      const wantExit = config.exit_code ?? 0;
      const problems: string[] = [];
      if (exitCode !== wantExit) problems.push(`exit ${exitCode}, expected ${wantExit}`);
      if (config.stdout !== undefined && stdout !== config.stdout) {
        problems.push(`stdout ${JSON.stringify(stdout)}, expected ${JSON.stringify(config.stdout)}`);
      }
      if (problems.length > 0 && stderr.trim() !== '') problems.push(`stderr: ${stderr.trim().slice(0, 400)}`);
      done({ name, passed: problems.length === 0, detail: problems.join('; ') });
    });
  });
}

async function main(): Promise<void> {
  const root = process.argv[2];
  if (root === undefined) {
    process.stderr.write('usage: node dist/bench/wasi-testsuite.js PATH/TO/wasi-testsuite [--verbose]\n');
    process.exit(2);
  }
  const verbose = process.argv.includes('--verbose');
  const jobs: [string, string][] = [];
  for (const suite of SUITES) {
    const dir = resolve(root, 'tests', suite, 'testsuite', 'wasm32-wasip1');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((entry) => entry.endsWith('.wasm')).sort()) jobs.push([dir, file]);
  }
  const outcomes: Outcome[] = [];
  const workers = Array.from({ length: 2 }, async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) outcomes.push(await runOne(...job));
  });
  await Promise.all(workers);
  outcomes.sort((a, b) => a.name.localeCompare(b.name));
  for (const outcome of outcomes) {
    if (!outcome.passed || verbose) process.stdout.write(`${outcome.passed ? 'PASS' : 'FAIL'} ${outcome.name} ${outcome.detail}\n`);
  }
  const passed = outcomes.filter((outcome) => outcome.passed).length;
  process.stdout.write(`wasi-testsuite: ${passed}/${outcomes.length} passed\n`);
}

await main();
