/**
 * HTTPS: `tls: {cert, key}` in the config (paths relative to it) and `--tls-cert/--tls-key`
 * on `wasio serve`, with a self-signed certificate made for each run by `openssl`. Requests
 * trust exactly that certificate; one that does not is refused. CGI instruments see the
 * scheme in `X_FULL_URL`. Unusable certificate files stop the start with a coded message.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { WasioServer } from '../../src/http/server.js';
import { Runtime } from '../../src/runtime/index.js';
import {
  cliMain, LogCapture, repoRoot, runCli, startServerFromFile, temporaryDirectory, testInstrument, withDeadline, writeConfig,
} from '../helpers/server.js';
import { requireExecutable } from '../helpers/services.js';

/** A self-signed certificate for localhost and 127.0.0.1, and its key, as PEM files in `dir`. */
function makeCertificate(dir: string, name = 'server'): { cert: string; key: string } {
  const openssl = requireExecutable('openssl', 'openssl');
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'pipe', timeout: 10_000 });
  return { cert, key };
}

interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GET `url` over HTTPS, trusting `ca` only (none: the system's CAs). */
function httpsGet(url: string, ca?: Buffer): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { ...(ca === undefined ? {} : { ca }), timeout: 10_000, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end();
  });
}

describe('tls in the config file', async () => {
  const { dir, configFile } = writeConfig({
    workers: 1,
    tls: { cert: 'tls/server.crt', key: 'tls/server.key' },
    routes: {
      '/echo': { wasm_file: testInstrument('echo') },
      '/go/*': { wasm_file: join(repoRoot, 'test', 'instruments', 'protocols', 'cgi_go.wasm'), protocol: 'cgi' },
    },
  });
  const { cert } = makeCertificate(join(dir, 'tls'));
  const ca = readFileSync(cert);
  const server = await startServerFromFile(configFile);
  const port = new URL(server.url).port;

  test('serves HTTPS with the certificate, relative to the config file', async () => {
    const health = await httpsGet(`https://localhost:${port}/health`, ca);
    assert.equal(health.status, 200);
    assert.equal(health.body, 'OK');
    const echo = await httpsGet(`https://127.0.0.1:${port}/echo?name=tls`, ca);
    assert.equal(echo.status, 200);
    assert.match(echo.body, /"name":"tls"/);
  });

  test('a client that does not trust the certificate is refused', async () => {
    await assert.rejects(httpsGet(`https://localhost:${port}/health`), (error: NodeJS.ErrnoException) => {
      assert.match(error.code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY/);
      return true;
    });
  });

  test('CGI instruments see https in X_FULL_URL, and the port of the Host header', async () => {
    const answer = await httpsGet(`https://localhost:${port}/go/some/where?x=1`, ca);
    assert.equal(answer.status, 200, answer.body);
    const view = JSON.parse(answer.body) as { env: Record<string, string> };
    assert.equal(view.env['X_FULL_URL'], `https://localhost:${port}/go/some/where?x=1`);
    assert.equal(view.env['SERVER_PORT'], port);
  });
});

test('wasio check reads the TLS files: a pair that does not match is one problem line', async () => {
  const dir = temporaryDirectory();
  const one = makeCertificate(dir, 'one');
  const two = makeCertificate(dir, 'two');
  const good = writeConfig({ tls: { cert: one.cert, key: one.key } });
  const goodResult = await runCli(['check', '-c', good.configFile]);
  assert.equal(goodResult.code, 0, goodResult.stdout);
  const bad = writeConfig({ tls: { cert: one.cert, key: two.key } });
  const badResult = await runCli(['check', '-c', bad.configFile]);
  assert.equal(badResult.code, 1);
  assert.match(badResult.stdout, /: tls: the TLS certificate .* cannot be used: .* \[WASIO_ERR_TLS_FILES\]/);
});

test('a certificate and a key that do not belong together stop the server from being made, with a code', async () => {
  const dir = temporaryDirectory();
  const one = makeCertificate(dir, 'one');
  const two = makeCertificate(dir, 'two');
  const { configFile } = writeConfig({ tls: { cert: one.cert, key: two.key } });
  const config = await loadConfig(configFile);
  const runtime = new Runtime({ workers: 1, maxQueue: 1, maxModules: 1, watchModules: false });
  try {
    assert.throws(() => new WasioServer({ config, runtime, logger: pino({ level: 'silent' }) }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'WASIO_ERR_TLS_FILES');
      assert.ok(error.message.includes(one.cert) && error.message.includes(two.key), error.message);
      return true;
    });
  } finally {
    await runtime.close();
  }
});

describe('wasio serve --tls-cert --tls-key', () => {
  test('serves HTTPS with the files named on the command line, and says so', async () => {
    const dir = temporaryDirectory();
    const { cert, key } = makeCertificate(dir);
    copyFileSync(testInstrument('echo'), join(dir, 'echo.wasm'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ workers: 1, routes: { '/echo': { wasm_file: 'echo.wasm' } } }));
    const child = spawn(process.execPath, [cliMain, 'serve', '-c', join(dir, 'config.json'), '--port', '0', '--tls-cert', cert, '--tls-key', key], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: '', WASIO_LOG_FORMAT: 'json' },
    });
    const logs = new LogCapture();
    child.stdout.on('data', (chunk: Buffer) => logs.write(chunk));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const listening = await logs.waitFor('saying where it listens', (line) => String(line.msg).startsWith('WASIO listening'), { timeoutMs: 10_000 });
      assert.match(String(listening.msg), /^WASIO listening on https:\/\//);
      const answer = await httpsGet(`https://localhost:${listening['port'] as number}/echo`, readFileSync(cert));
      assert.equal(answer.status, 200);
      child.kill('SIGTERM');
      assert.deepEqual(await withDeadline(exited, 10_000), { code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('one flag without the other, or an unreadable file, is a usage error (exit 2) that names the problem', async () => {
    const { configFile } = writeConfig({ routes: {} });
    const alone = await runCli(['serve', '-c', configFile, '--port', '0', '--tls-cert', 'cert.pem']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--tls-cert and --tls-key go together/);

    const missing = await runCli(['serve', '-c', configFile, '--port', '0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /TLS certificate \/nonexistent\/cert\.pem cannot be read/);
  });
});
