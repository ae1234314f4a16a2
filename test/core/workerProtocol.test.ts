/**
 * Host ↔ worker protocol (core/experiment/events.ts): messages are checked at run time, and a worker refuses a
 * start request of another protocol version with a clear error instead of misreading it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { isWorkerMessage, isWorkerRequest, WORKER_PROTOCOL } from '../../core/experiment/events';
import { ROOT, TSX_IMPORT } from '../../harness/paths';

test('isWorkerRequest / isWorkerMessage accept the protocol and reject malformed messages', () => {
  assert.ok(isWorkerRequest({ type: 'start', protocol: WORKER_PROTOCOL, configPath: '/a.flowloop.json', workspace: '/' }));
  assert.ok(isWorkerRequest({ type: 'cancel' }));
  for (const bad of [
    null,
    'start',
    [],
    { type: 'start', configPath: 'x', workspace: '/' },
    { type: 'start', protocol: 1, configPath: 3, workspace: '/' },
    { type: 'start', protocol: 1, configPath: 'x', workspace: '/', set: [1] },
    { type: 'stop' },
  ]) {
    assert.equal(isWorkerRequest(bad), false, JSON.stringify(bad));
  }
  assert.ok(isWorkerMessage({ type: 'event', event: { type: 'log', runId: 'r', t: 1, level: 'info', message: 'm' } }));
  assert.ok(isWorkerMessage({ type: 'done', status: 'finished' }));
  for (const bad of [
    { type: 'done', status: 'weird' },
    { type: 'event', event: 'x' },
    { type: 'event', event: { type: 'log' } },
    { type: 'hello' },
    42,
  ]) {
    assert.equal(isWorkerMessage(bad), false, JSON.stringify(bad));
  }
});

test('a worker refuses a start request of another protocol version: done/failed naming both versions, no run', async () => {
  const child = fork(join(ROOT, 'core', 'experiment', 'worker.ts'), [], {
    execArgv: TSX_IMPORT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const got: unknown[] = [];
  child.on('message', (m) => got.push(m));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.send({ type: 'start', protocol: WORKER_PROTOCOL + 1, configPath: join(ROOT, 'nope.flowloop.json'), workspace: ROOT });
  const code = await exited;
  assert.equal(code, 2, `exit code ${code}; messages ${JSON.stringify(got)}`);
  assert.equal(got.length, 1, JSON.stringify(got));
  const done = got[0] as { type: string; status: string; error: string };
  assert.equal(done.type, 'done');
  assert.equal(done.status, 'failed');
  assert.match(done.error, new RegExp(`protocol ${WORKER_PROTOCOL + 1}, this worker ${WORKER_PROTOCOL}`));
});
