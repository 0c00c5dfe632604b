/**
 * The Dockerfile, checked against the server without a Docker engine: the stages build what
 * the runtime stage copies, the files it copies exist and reach the build context, the
 * runtime runs `wasio serve` as a non-root user on the port it exposes, and its HEALTHCHECK
 * and STOPSIGNAL work. The image's own command is run here (with the image's paths mapped to
 * the repository and a temporary folder), its health check script is run against it, and the
 * stop signal is sent to it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { LogCapture, repoRoot, temporaryDirectory, testInstrument, withDeadline, writeFiles } from '../helpers/server.js';
import {
  dockerignoreMatcher, environmentOf, execForm, instructionsNamed, lastInstruction, parseCopy, parseDockerfile, parseHealthcheck,
  type Stage,
} from './dockerfile-parser.js';

const dockerfile = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const isIgnored = dockerignoreMatcher(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string>; engines: { node: string };
};
const runtime = dockerfile.stages.at(-1) as Stage;
/** How long `docker stop` waits before SIGKILL when not told otherwise. */
const DOCKER_STOP_TIMEOUT_MS = 10_000;

function stageNamed(name: string): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (stage === undefined) assert.fail(`no stage named ${name}`);
  return stage;
}

/** A stage's working directory after its WORKDIR instructions (absolute ones only here). */
function workdirOf(stage: Stage): string {
  return instructionsNamed(stage, 'WORKDIR').reduce((dir, instruction) => posix.resolve(dir, instruction.args), '/');
}

/** The image's command line: ENTRYPOINT followed by CMD, both in exec form. */
function imageCommand(): string[] {
  const entrypoint = execForm(lastInstruction(runtime, 'ENTRYPOINT')?.args ?? '[]');
  const cmd = execForm(lastInstruction(runtime, 'CMD')?.args ?? '[]');
  assert.ok(entrypoint && cmd, 'ENTRYPOINT and CMD use the exec form, so the server is PID 1 and gets the stop signal itself');
  return [...entrypoint, ...cmd];
}

/** The server's default port, as the config schema states it. */
const defaultPort = parseConfig('{}', '/srv/config.json').port;

test('three stages on one Node base: build with every dependency, production deps, runtime', () => {
  assert.deepEqual(dockerfile.stages.map((stage) => stage.name), ['build', 'deps', 'runtime']);
  const bases = new Set(dockerfile.stages.map((stage) => stage.base));
  assert.equal(bases.size, 1, `one base image for every stage: ${[...bases].join(', ')}`);
  const base = [...bases][0] as string;
  const major = /^node:(\d+)-/.exec(base)?.[1];
  const oldest = Number(/>=\s*(\d+)/.exec(packageJson.engines.node)?.[1]);
  assert.ok(major !== undefined && Number(major) >= oldest, `${base}: a Node.js the package supports (${packageJson.engines.node})`);
  assert.match(base, /-(bookworm|bullseye)-slim$/, 'a slim Debian base: coreutils touch, which the WASI host runs to set file times');

  const build = stageNamed('build');
  const buildRuns = instructionsNamed(build, 'RUN').map((run) => run.args);
  assert.ok(buildRuns.some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit=dev')), 'build installs every dependency');
  assert.ok(buildRuns.some((run) => /\btsc\b/.test(run)), 'build compiles the TypeScript');
  const depsRuns = instructionsNamed(stageNamed('deps'), 'RUN').map((run) => run.args);
  assert.ok(depsRuns.some((run) => /\bnpm ci\b.*--omit=dev/.test(run)), 'deps installs production dependencies only');
});

test('every file the Dockerfile copies from the context exists and is not left out by .dockerignore', () => {
  let copied = 0;
  for (const stage of dockerfile.stages) {
    for (const instruction of [...instructionsNamed(stage, 'COPY'), ...instructionsNamed(stage, 'ADD')]) {
      const copy = parseCopy(instruction.args);
      if (copy.from !== undefined) continue;
      for (const source of copy.sources) {
        copied += 1;
        assert.ok(existsSync(join(repoRoot, source)), `line ${instruction.line}: ${source} exists in the repository`);
        assert.equal(isIgnored(source), false, `line ${instruction.line}: ${source} reaches the build context`);
        assert.equal(isIgnored(`${source}/inner.ts`), false, `line ${instruction.line}: what lies in ${source} reaches it too`);
      }
    }
  }
  assert.ok(copied >= 6, `found only ${copied} copied sources`);
  for (const path of ['node_modules/fastify/package.json', 'dist/src/cli/main.js', '.git/HEAD', 'examples/config.json', 'test/helpers/server.ts']) {
    assert.equal(isIgnored(path), true, `${path} stays out of the build context`);
  }
});

test('the runtime copies from the other stages what they made there', () => {
  const tsconfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
  const expected: Record<string, string> = {
    build: posix.join(workdirOf(stageNamed('build')), tsconfig.compilerOptions.outDir, 'src'),
    deps: posix.join(workdirOf(stageNamed('deps')), 'node_modules'),
  };
  const fromStages = instructionsNamed(runtime, 'COPY').map((instruction) => parseCopy(instruction.args)).filter((copy) => copy.from !== undefined);
  assert.deepEqual(fromStages.map((copy) => [copy.from, copy.sources.join(' ')]).sort(), Object.entries(expected).sort());
  const copiedFromContext = instructionsNamed(runtime, 'COPY').map((instruction) => parseCopy(instruction.args))
    .filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources);
  assert.ok(copiedFromContext.includes('package.json'), 'package.json, which `wasio --version` reads at run time');
});

test('the runtime imports only Node built-ins and production dependencies', () => {
  const sources: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) sources.push(path);
    }
  };
  walk(join(repoRoot, 'src'));
  const builtins = new Set(builtinModules);
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);
      assert.ok(name in packageJson.dependencies, `${file} imports ${name}, which is not a production dependency (the image leaves dev dependencies out)`);
    }
  }
});

test('the runtime runs `wasio serve` as a non-root user on the port it exposes, stopped by SIGTERM', () => {
  const user = lastInstruction(runtime, 'USER')?.args ?? 'root';
  const [uid] = user.split(':');
  assert.ok(uid !== undefined && /^\d+$/.test(uid) && uid !== '0', `USER ${user}: a numeric non-root uid, so runAsNonRoot can verify it`);

  const exposed = instructionsNamed(runtime, 'EXPOSE').flatMap((instruction) => instruction.args.split(/\s+/));
  assert.deepEqual(exposed, [`${defaultPort}`], 'EXPOSE the server\'s default port');
  assert.equal(environmentOf(runtime).get('PORT'), `${defaultPort}`, 'PORT pins the port the image exposes and checks');
  assert.equal(lastInstruction(runtime, 'STOPSIGNAL')?.args, 'SIGTERM', 'the signal the server drains on');

  const [node, main, ...args] = imageCommand();
  assert.equal(node, 'node');
  assert.equal(main, posix.join(workdirOf(runtime), packageJson.bin['wasio'] as string), 'the package\'s `wasio` bin');
  assert.equal(args[0], 'serve');
  assert.equal(args[args.indexOf('--host') + 1], '0.0.0.0', 'listens beyond the container\'s loopback');
  assert.match(args[args.indexOf('--config') + 1] ?? '', /^\/srv\/wasio\//);
});

test('the HEALTHCHECK is bounded and probes /health with Node alone', () => {
  const healthcheck = parseHealthcheck(lastInstruction(runtime, 'HEALTHCHECK')?.args ?? assert.fail('no HEALTHCHECK'));
  const seconds = (value: string | undefined): number => Number(/^(\d+)s$/.exec(value ?? '')?.[1] ?? Number.NaN);
  assert.ok(seconds(healthcheck.options['timeout']) < seconds(healthcheck.options['interval']), 'a check ends before the next starts');
  assert.ok(Array.isArray(healthcheck.command) && healthcheck.command[0] === 'node' && healthcheck.command[1] === '-e',
    'exec form running `node -e` (the slim image has no curl)');
  assert.match(healthcheck.command[2] ?? '', /\/health'/);
});

test('the image command serves, passes its health check, writes nothing, and exits 0 on its stop signal', async () => {
  // The image's folders, mapped: /app is the repository (built by `npm test`), /srv/wasio a fresh folder.
  const srv = temporaryDirectory();
  mkdirSync(join(srv, 'instruments'));
  copyFileSync(testInstrument('echo'), join(srv, 'instruments', 'echo.wasm'));
  writeFiles(srv, { 'config.json': JSON.stringify({ workers: 1, routes: { '/echo': { wasm_file: 'instruments/echo.wasm' } } }) });
  // The process's own places to write, empty and watched: with a read-only root filesystem
  // the server must not need them.
  const scratch = { cwd: temporaryDirectory(), home: temporaryDirectory(), tmp: temporaryDirectory() };

  const appDir = workdirOf(runtime);
  const [node, ...rest] = imageCommand();
  assert.equal(node, 'node');
  const args = rest.map((arg) => arg.replace(`${appDir}/`, `${repoRoot}/`).replace('/srv/wasio/', `${srv}/`))
    // On this machine, loopback only; the image's 0.0.0.0 is checked above.
    .map((arg) => (arg === '0.0.0.0' ? '127.0.0.1' : arg));
  const imageEnv = Object.fromEntries(environmentOf(runtime));
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...imageEnv, HOME: scratch.home, TMPDIR: scratch.tmp,
    // A port of the system's choosing instead of the image's fixed one, so tests can run side by side.
    PORT: '0',
  };
  const child = spawn(process.execPath, args, { cwd: scratch.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = new LogCapture();
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => logs.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  try {
    const listening = await Promise.race([
      logs.waitFor('saying where the server listens', (line) => typeof line['port'] === 'number' && String(line.msg).includes('listening'), { timeoutMs: 10_000 }),
      exited.then((status) => assert.fail(`the image command exited early (${JSON.stringify(status)}): ${stderr}`)),
    ]);
    const port = listening['port'] as number;
    const echoed = await fetch(`http://127.0.0.1:${port}/echo`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(echoed.status, 200);
    await echoed.arrayBuffer();

    const healthcheck = parseHealthcheck(lastInstruction(runtime, 'HEALTHCHECK')?.args ?? '');
    const script = (healthcheck.command as string[])[2] as string;
    assert.equal(await runHealthcheck(script, { ...env, PORT: String(port) }), 0, 'healthy while serving');

    const stopSignal = lastInstruction(runtime, 'STOPSIGNAL')?.args as NodeJS.Signals;
    child.kill(stopSignal);
    const exit = await withDeadline(exited, DOCKER_STOP_TIMEOUT_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, `exits 0 within docker stop's default wait; stderr: ${stderr}`);
    assert.equal(await runHealthcheck(script, { ...env, PORT: String(port) }), 1, 'unhealthy once nothing listens');
    for (const [name, dir] of Object.entries(scratch)) assert.deepEqual(readdirSync(dir), [], `nothing written to ${name}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** Runs the HEALTHCHECK's `node -e` script as Docker would; resolves with its exit status. */
async function runHealthcheck(script: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  const child = spawn(process.execPath, ['-e', script], { env, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const status = await withDeadline(exited, 5_000);
  if (status === 'timeout') {
    child.kill('SIGKILL');
    assert.fail('the health check script ran past 5 s');
  }
  return status;
}
