import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTempDir, outcome, runProbe } from '../helpers/wasi.js';

// No descriptor is ever a socket: an open one answers notsock, as POSIX does for a file (the
// official WASI testsuite checks shutdown(stdout) for ENOTSOCK), an unopened one badf.
test('sock_accept, sock_recv, sock_send and sock_shutdown fail with notsock or badf on every kind of fd', (context) => {
  const mount = makeTempDir(context);
  const run = runProbe('sockets', { mounts: [{ guest: '/data', host: mount }] });
  assert.equal(run.exitCode, 0);
  assert.equal(run.lines.at(-1), 'done');
  const calls = run.lines.filter((line) => line.startsWith('sock_'));
  assert.equal(calls.length, 16, run.stdout);
  assert.deepEqual(calls.filter((line) => !line.includes(' unopened ') && outcome(line) !== 'notsock'), []);
  // A descriptor that was never opened is badf whatever the call.
  assert.deepEqual(calls.filter((line) => line.includes(' unopened ')).map(outcome), ['badf', 'badf', 'badf', 'badf']);
});
