/**
 * Several replicas on one machine, the way production runs them: two `wasio serve` processes
 * sharing one `redis-server`, behind an `nginx` that runs deploy/nginx/wasio.conf (with this
 * test's ports). A response cached through one replica is a hit through the other, and one
 * replica stopped with SIGTERM in the middle of a steady load loses no request: nginx moves
 * what the stopping replica refuses to the other one, and what it had accepted is finished.
 *
 * Everything runs on 127.0.0.1 with ports the system picks, is bounded in time, and is
 * stopped by pid when the test ends.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot, startChildServer, testInstrument, withDeadline, writeConfig, type ChildServer } from '../helpers/server.js';
import { TestNginx, TestRedis } from '../helpers/services.js';

/** The load: this many GETs, one every `LOAD_INTERVAL_MS`, the first replica stopped halfway. */
const LOAD_REQUESTS = 200;
const LOAD_INTERVAL_MS = 10;

/**
 * deploy/nginx/wasio.conf with this test's addresses: its `listen` on `port` of 127.0.0.1,
 * its upstream servers on the replicas' ports, in order.
 */
function nginxConfig(port: number, replicaPorts: readonly number[]): string {
  const shipped = readFileSync(join(repoRoot, 'deploy', 'nginx', 'wasio.conf'), 'utf8');
  const upstreamServers = [...shipped.matchAll(/^(\s*server\s+)127\.0\.0\.1:\d+/gm)];
  assert.equal(upstreamServers.length, replicaPorts.length, 'the shipped upstream lists one server per replica of this test');
  let index = 0;
  const config = shipped
    .replace(/^(\s*server\s+)127\.0\.0\.1:\d+/gm, (_line, prefix: string) => `${prefix}127.0.0.1:${replicaPorts[index++]}`)
    .replace(/^(\s*)listen\s+80;/m, `$1listen 127.0.0.1:${port};`);
  assert.notEqual(config, shipped);
  assert.match(config, new RegExp(`listen 127\\.0\\.0\\.1:${port};`));
  return config;
}

interface Answer {
  readonly index: number;
  readonly status: number | string;
  readonly body: string;
  readonly upstream: string;
  readonly sentAt: number;
}

describe('two replicas sharing one Redis behind nginx', async () => {
  const redis = await TestRedis.start();
  const config = writeConfig({
    workers: 2,
    cache: { backend: 'redis', url: redis.url },
    routes: {
      '/cached': { wasm_file: testInstrument('echo'), cache: true, ttl: 300 },
      '/echo': { wasm_file: testInstrument('echo') },
      '/sleep': { wasm_file: testInstrument('sleeper') },
    },
  });
  const replicas: ChildServer[] = await Promise.all([startChildServer(config.configFile), startChildServer(config.configFile)]);
  await Promise.all(replicas.map((replica) => replica.logs.waitFor('saying the shared cache is connected',
    (line) => line.msg === 'response cache connected', { timeoutMs: 5_000 })));
  const [first, second] = replicas as [ChildServer, ChildServer];
  const nginx = await TestNginx.start((port) => nginxConfig(port, [first.port, second.port]));
  const viaNginx = (path: string, init?: RequestInit): Promise<Response> =>
    fetch(`http://127.0.0.1:${nginx.port}${path}`, { signal: AbortSignal.timeout(10_000), ...init });

  test('a response cached through one replica is a hit through the other, and through nginx', async () => {
    const miss = await first.text('/cached?case=replicas');
    assert.equal(miss.response.headers.get('x-cache'), 'MISS');
    const hit = await second.text('/cached?case=replicas');
    assert.equal(hit.response.headers.get('x-cache'), 'HIT', 'the second replica answers from the shared cache');
    assert.equal(hit.body, miss.body, 'the module did not run again');
    assert.equal(hit.response.headers.get('etag'), miss.response.headers.get('etag'));

    // Through nginx, round robin: whichever replica answers, it is a hit.
    const upstreams = new Set<string>();
    for (let request = 0; request < 4; request += 1) {
      const response = await viaNginx('/cached?case=replicas');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-cache'), 'HIT');
      assert.equal(await response.text(), miss.body);
      upstreams.add(response.headers.get('x-upstream') ?? '');
    }
    assert.equal(upstreams.size, 2, `both replicas answered: ${[...upstreams].join(', ')}`);
  });

  test(`one replica stopped with SIGTERM during ${LOAD_REQUESTS} GETs loses none of them`, async (t) => {
    const started = performance.now();
    const answers: Promise<Answer>[] = [];
    let stopped: Promise<unknown> | undefined;
    let stoppedAt = Number.POSITIVE_INFINITY;
    for (let index = 0; index < LOAD_REQUESTS; index += 1) {
      // Half of them sleep in the instance, so some are running when the signal comes.
      const path = index % 2 === 0 ? `/echo?i=${index}` : `/sleep?ms=30&i=${index}`;
      const sentAt = performance.now() - started;
      answers.push(viaNginx(path).then(
        async (response) => ({ index, status: response.status, body: await response.text(), upstream: response.headers.get('x-upstream') ?? '', sentAt }),
        (error: Error) => ({ index, status: error.message, body: '', upstream: '', sentAt }),
      ));
      if (index === LOAD_REQUESTS / 2) {
        stoppedAt = performance.now() - started;
        stopped = first.stop('SIGTERM', 10_000);
      }
      await delay(LOAD_INTERVAL_MS);
    }
    const results = await withDeadline(Promise.all(answers), 20_000);
    if (results === 'timeout') assert.fail('the load did not finish within 20 s');
    const exit = await stopped;
    assert.deepEqual(exit, { code: 0, signal: null }, 'the stopped replica drained and exited 0');

    const failed = results.filter((answer) => answer.status !== 200);
    assert.deepEqual(failed, [], `every request answered 200; failed: ${JSON.stringify(failed.slice(0, 5))}`);
    for (const answer of results) {
      const expected = answer.index % 2 === 0 ? `"i":"${answer.index}"` : 'slept';
      assert.ok(answer.body.includes(expected), `request ${answer.index} got its own answer: ${answer.body.slice(0, 120)}`);
    }
    const firstAddress = `127.0.0.1:${first.port}`;
    const servedByFirst = results.filter((answer) => answer.upstream.endsWith(firstAddress));
    assert.ok(servedByFirst.some((answer) => answer.sentAt < stoppedAt), 'the stopped replica served its share before the signal');
    const exitedAt = results.find((answer) => answer.sentAt > stoppedAt + 2_000);
    assert.ok(exitedAt === undefined || !exitedAt.upstream.endsWith(firstAddress), 'nothing reached it long after it stopped');
    const retried = results.filter((answer) => answer.upstream.includes(','));
    // Retries are how nginx hides the stop; how many depends on timing, so they are only reported.
    t.diagnostic(`retried on the other replica: ${retried.length}`);
    assert.ok(performance.now() - started < 15_000, 'bounded');
  });
});
