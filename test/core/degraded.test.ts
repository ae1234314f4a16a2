import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { ROOT } from '../../harness/paths';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KIND_RUNNERS } from '../../core/experiment/kinds';
import { runSingle } from '../../core/experiment/runner';
import { readEvents, readRunInfo } from '../../core/experiment/runStore';
import { exitCode } from '../../core/cli';

// The `degraded` contract (core/experiment/context.ts RunContext.degrade): a kind that reports it ends
// `degraded` (not `finished`) with the reasons in run.json, or `failed` when it asks to fail fast.
// The kind here is registered for this test only: the contract is the runner's, not a kind's.

// a real, valid config of kind sequential (its runner is swapped for this test)
function workspace(): { configPath: string; out: string } {
  return {
    configPath: join(ROOT, 'examples', 'quick.flowloop.json'),
    out: join(mkdtempSync(join(tmpdir(), 'flowloop-degraded-')), 'runs'),
  };
}

test('a run whose kind reports degrade() ends degraded: run.json status + reasons, a run-degraded event before run-finished, exit code 3', async () => {
  const saved = KIND_RUNNERS.sequential;
  KIND_RUNNERS.sequential = async () => async (ctx) => {
    ctx.saveMetrics({ 'hr@1': 0 });
    ctx.degrade('122/122 LLM calls failed');
    return { 'hr@1': 0 };
  };
  try {
    const { configPath, out } = workspace();
    const r = await runSingle({ configPath, outDir: out });
    assert.equal(r.status, 'degraded');
    assert.deepEqual(r.degraded, ['122/122 LLM calls failed']);
    const info = readRunInfo(r.runDir)!;
    assert.equal(info.status, 'degraded', JSON.stringify(info));
    assert.deepEqual(info.degraded, ['122/122 LLM calls failed']);
    const types = readEvents(r.runDir).map((e) => e.type);
    assert.ok(types.indexOf('run-degraded') >= 0 && types.indexOf('run-degraded') < types.indexOf('run-finished'), types.join(','));
    const fin = readEvents(r.runDir).find((e) => e.type === 'run-finished') as any;
    assert.deepEqual(fin.degraded, ['122/122 LLM calls failed']);
    assert.equal(exitCode(info.status), 3);
  } finally {
    KIND_RUNNERS.sequential = saved;
  }
});

test('degrade(reason, { failFast: true }) ends the run failed with the reason as its error; metrics saved before stay on disk', async () => {
  const saved = KIND_RUNNERS.sequential;
  KIND_RUNNERS.sequential = async () => async (ctx) => {
    ctx.saveMetrics({ 'hr@1': 0 });
    ctx.degrade('10/10 LLM calls failed (HTTP 401)', { failFast: true });
    return { never: 1 };
  };
  try {
    const { configPath, out } = workspace();
    const r = await runSingle({ configPath, outDir: out });
    assert.equal(r.status, 'failed');
    assert.equal(r.error, '10/10 LLM calls failed (HTTP 401)');
    const info = readRunInfo(r.runDir)!;
    assert.equal(info.status, 'failed');
    assert.equal(info.error, '10/10 LLM calls failed (HTTP 401)');
    assert.deepEqual(info.degraded, ['10/10 LLM calls failed (HTTP 401)']);
    assert.deepEqual(r.metrics, { 'hr@1': 0 });
    // no stack trace logged for a reported failure
    assert.ok(!readEvents(r.runDir).some((e) => e.type === 'log' && e.level === 'error'));
    assert.equal(exitCode(info.status), 1);
  } finally {
    KIND_RUNNERS.sequential = saved;
  }
});

test('exit codes: finished 0, degraded 3, failed 1, cancelled 130', () => {
  assert.deepEqual((['finished', 'degraded', 'failed', 'cancelled'] as const).map(exitCode), [0, 3, 1, 130]);
});
