import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerPolicy } from '../../core/models/policy';
import { initBackend, getTf } from '../../core/tensor';
import { gfnSampleFromTitle, objective, type ObjectiveBatch } from '../../core/flower/objective';
import { accumulatedGrads, microRanges } from '../../core/flower/accumulate';
import { scheduledLr } from '../../core/flower/optim';
import { plannedSteps } from '../../core/flower/fitPolicy';
import { runSingle } from '../../core/experiment/runner';
import type { RunEvent } from '../../core/experiment/events';
import { tinyFlowerConfig, tinyPolicySetup } from './tinyFlower';

const setup = () => tinyPolicySetup();

test('linear warmup then linear decay to 0 at the planned last step (Hugging Face linear schedule); constant without decaySteps', () => {
  const o = { lr: 1e-3, warmupSteps: 4, decaySteps: 14 };
  const got = Array.from({ length: 16 }, (_, s) => scheduledLr(o, s));
  const want = [0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3, 0.9e-3, 0.8e-3, 0.7e-3, 0.6e-3, 0.5e-3, 0.4e-3, 0.3e-3, 0.2e-3, 0.1e-3, 0, 0];
  got.forEach((v, s) => assert.ok(Math.abs(v - want[s]) < 1e-12, `step ${s}: lr ${v}, want ${want[s]}`));
  assert.equal(scheduledLr({ lr: 1e-3, warmupSteps: 4 }, 100), 1e-3);
  assert.equal(plannedSteps({ epochs: 7, batchSize: 256, stepsPerEpoch: 0 }, 1000), 28);
  assert.equal(plannedSteps({ epochs: 7, batchSize: 256, stepsPerEpoch: 2 }, 1000), 14);
});

test('micro-batch ranges cover the batch; micro ≥ batch is one range', () => {
  assert.deepEqual(microRanges(10, 4), [
    [0, 4],
    [4, 8],
    [8, 10],
  ]);
  assert.deepEqual(microRanges(10, 0), [[0, 10]]);
  assert.deepEqual(microRanges(10, 16), [[0, 10]]);
});

test('accumulated gradients = gradient of Σ_m (rows_m/rows)·L_m built in one graph; one micro-batch = the plain step bit for bit', async () => {
  await initBackend('auto');
  const tf = getTf();
  const { trie, vocab, cfg } = setup();
  const pol = new TransformerPolicy(cfg, 11);
  const varList = pol.names.map((n) => pol.weights[n]);
  const histories = [[0, 1], [2], [3, 4, 5], [1], [0], [2, 3]];
  const targets = [0, 1, 2, 3, 0, 3];
  const samples = [3, 2, 1, 0, 1, 2].map((t) => gfnSampleFromTitle(trie, vocab, t, 'none'));
  const slice = (lo: number, hi: number): ObjectiveBatch => ({
    histories: histories.slice(lo, hi),
    targets: targets.slice(lo, hi),
    samples: samples.slice(lo, hi),
  });
  const opts = { theta: 0.7, personalization: 'none' as const };
  const flat = (g: Record<string, TF.Tensor>) => varList.map((v) => Array.from(g[v.name].dataSync()));

  const plain = tf.variableGrads(() => objective(pol, trie, vocab, slice(0, 6), opts).total, varList);
  const one = accumulatedGrads(varList, 6, 0, (lo, hi) => objective(pol, trie, vocab, slice(lo, hi), opts));
  assert.equal(one.micro, 1);
  assert.equal(one.total, plain.value.dataSync()[0]);
  assert.deepEqual(flat(one.grads), flat(plain.grads), 'one micro-batch: gradients bit-identical to the plain step');

  const acc = accumulatedGrads(varList, 6, 4, (lo, hi) => objective(pol, trie, vocab, slice(lo, hi), opts));
  assert.equal(acc.micro, 2);
  const ref = tf.variableGrads(
    () =>
      tf.add(
        tf.mul(objective(pol, trie, vocab, slice(0, 4), opts).total, 4 / 6),
        tf.mul(objective(pol, trie, vocab, slice(4, 6), opts).total, 2 / 6),
      ) as TF.Scalar,
    varList,
  );
  assert.ok(Math.abs(acc.total - ref.value.dataSync()[0]) <= 1e-6 * Math.abs(acc.total), `loss ${acc.total} vs ${ref.value.dataSync()[0]}`);
  const a = flat(acc.grads),
    r = flat(ref.grads);
  let worst = 0,
    scale = 0;
  a.forEach((g, i) =>
    g.forEach((x, j) => {
      worst = Math.max(worst, Math.abs(x - r[i][j]));
      scale = Math.max(scale, Math.abs(r[i][j]));
    }),
  );
  assert.ok(scale > 0 && worst <= 1e-5 * scale, `max |accumulated − one-graph| = ${worst} (max |grad| ${scale})`);
  // and it is NOT the full-batch gradient (the token-mean differs per micro-batch), so the test can fail
  const p = flat(plain.grads);
  let diff = 0;
  a.forEach((g, i) =>
    g.forEach((x, j) => {
      diff = Math.max(diff, Math.abs(x - p[i][j]));
    }),
  );
  assert.ok(diff > 1e-6, 'accumulated gradient differs from the full-batch gradient');
  tf.dispose([
    plain.value,
    ...Object.values(plain.grads),
    ...Object.values(one.grads),
    ...Object.values(acc.grads),
    ref.value,
    ...Object.values(ref.grads),
  ]);
  pol.dispose();
});

test('a flower run with micro-batches and linear decay: lr falls to its last planned value; resume from epoch 1 repeats the unbroken run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-accum-'));
  writeFileSync(join(dir, 'titles.json'), JSON.stringify({ 'ab c': 8, 'ab d': 4, b: 2, ca: 1, cab: 1 }));
  const configPath = join(dir, 'tiny.flowloop.json');
  const cfg = (extra: Record<string, unknown> = {}) =>
    tinyFlowerConfig({
      microBatchSize: 6,
      warmupSteps: 1,
      lrSchedule: 'linear',
      distribution: { samples: 200 },
      snapshotNodes: 0,
      seed: 5,
      ...extra,
    });
  const run = async (c: Record<string, unknown>) => {
    const events: RunEvent[] = [];
    const r = await runSingle({ configPath, configObject: c, outDir: join(dir, 'runs'), onEvent: (e) => events.push(e) });
    assert.equal(r.status, 'finished', `run failed: ${r.error}`);
    const series = (n: string) => events.filter((e) => e.type === 'metric' && (e as any).name === n).map((e) => (e as any).value as number);
    return { ...r, series };
  };
  const full = await run(cfg());
  const lr = full.series('train/lr');
  // 32 rows / 16 = 2 steps per epoch, 2 epochs: N = 4, warmup 1 → 0.01, 0.01·3/3, 0.01·2/3, 0.01·1/3
  assert.deepEqual(
    lr.map((v) => +v.toFixed(12)),
    [0.01, 0.01, +(0.02 / 3).toFixed(12), +(0.01 / 3).toFixed(12)],
  );
  const again = await run(cfg());
  assert.deepEqual(again.series('train/total'), full.series('train/total'), 'same seed repeats the run');
  const resumed = await run(cfg({ resume: join(full.runDir, 'checkpoints', 'epoch-1') }));
  assert.deepEqual(resumed.series('train/total'), full.series('train/total').slice(2), "resumed epoch 2 = the unbroken run's epoch 2");
  assert.deepEqual(resumed.series('train/lr'), lr.slice(2));
});
