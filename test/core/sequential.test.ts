import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { initBackend } from '../../core/tensor';
import { createModel } from '../../core/models/factory';
import { trainModel, sampleNegatives } from '../../core/models/train';
import { fullRanking, rankOf } from '../../core/models/evaluate';
import { TfjsScorer } from '../../core/models/tfjsScorer';
import { serializeModel, loadModelDir } from '../../core/models/checkpoint';
import type { ModelKind } from '../../core/models/layers';
import { Rng } from '../../core/util/random';
import { runSequentialExperiment } from '../../core/models/experiment';
import { recordingContext } from './recordingContext';

const N = 40;
/** Synthetic sequences with a rule to learn: next = (last + 3) % N. */
function synthetic(rows: number, rng: Rng) {
  return Array.from({ length: rows }, () => {
    const len = 1 + rng.int(6);
    const start = rng.int(N);
    const seq = Array.from({ length: len }, (_, i) => (start + 3 * i) % N);
    return { seq, next: (seq[len - 1] + 3) % N };
  });
}

for (const model of ['sasrec', 'gru4rec', 'caser'] as ModelKind[]) {
  test(`${model} learns next = last + 3 from scratch (BCE, 1 negative): test HR@1 > 0.8`, async () => {
    await initBackend('wasm');
    const rng = new Rng(11);
    const train = synthetic(1500, rng),
      valid = synthetic(200, rng);
    const net = createModel({ model, numItems: N, maxLen: 6, hidden: 16, dropout: 0, numFilters: 8, filterSizes: [1, 2] }, new Rng(1));
    const scorer = new TfjsScorer(net, model, model);
    const res = await trainModel(net, train, {
      loss: 'bce',
      epochs: 12,
      batchSize: 64,
      lr: 0.01,
      weightDecay: 0,
      patience: 3,
      rng: new Rng(2),
      validate: async () => {
        const m = await fullRanking(scorer, valid, [1]);
        return { score: m['hr@1'], metrics: m };
      },
    });
    const m = await fullRanking(scorer, valid, [1, 5]);
    assert.ok(
      m['hr@1'] > 0.8,
      `${model}: HR@1 ${m['hr@1']} after ${res.epochsRun} epochs (history ${JSON.stringify(res.history.map((h) => [h.loss.toFixed(3), h.metrics['hr@1']]))})`,
    );
    net.dispose();
  });
}

test('training is repeatable with the seed: same seed, same losses and weights; another seed differs', async () => {
  await initBackend('wasm');
  const run = async (seed: number) => {
    const net = createModel({ model: 'sasrec', numItems: N, maxLen: 6, hidden: 8, dropout: 0.1 }, new Rng(seed));
    const losses: number[] = [];
    await trainModel(net, synthetic(200, new Rng(5)), {
      loss: 'bce',
      epochs: 1,
      batchSize: 50,
      lr: 1e-3,
      weightDecay: 1e-5,
      patience: 0,
      rng: new Rng(seed + 1),
      validate: async () => ({ score: 0, metrics: {} }),
      onStep: (_s, l) => losses.push(l),
    });
    const w = Array.from(net.params.get('s_fc.weight')!.dataSync().slice(0, 20));
    net.dispose();
    return { losses, w };
  };
  const a = await run(3),
    b = await run(3),
    c = await run(4);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.losses, c.losses);
});

test('full softmax CE training lowers the loss', async () => {
  await initBackend('wasm');
  const net = createModel({ model: 'gru4rec', numItems: N, maxLen: 6, hidden: 16, dropout: 0 }, new Rng(1));
  const res = await trainModel(net, synthetic(600, new Rng(9)), {
    loss: 'ce',
    epochs: 3,
    batchSize: 64,
    lr: 0.01,
    weightDecay: 0,
    patience: 0,
    rng: new Rng(2),
    validate: async () => ({ score: 0, metrics: {} }),
  });
  assert.ok(res.history[2].loss < res.history[0].loss - 0.5, `CE losses ${res.history.map((h) => h.loss)}`);
  net.dispose();
});

test('negatives never equal the target; ranks count strictly better items (or titles)', () => {
  const neg = sampleNegatives(
    Int32Array.from({ length: 500 }, (_, i) => i % 2),
    2,
    new Rng(1),
  );
  neg.forEach((n, i) => assert.notEqual(n, i % 2));
  const s = Float32Array.from([0.1, 0.9, 0.5, 0.9]);
  assert.equal(rankOf(s, 2), 2);
  // items 1 and 3 share a title: as titles, only one title beats item 2
  assert.equal(rankOf(s, 2, Int32Array.from([0, 1, 2, 1]), new Float32Array(3)), 1);
});

test('a checkpoint folder reloads to identical scores for each architecture', async () => {
  await initBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-ckpt-'));
  try {
    for (const model of ['sasrec', 'gru4rec', 'caser'] as ModelKind[]) {
      const net = createModel({ model, numItems: N, maxLen: 6, hidden: 8, dropout: 0.1 }, new Rng(7));
      const { manifest, bin } = serializeModel(net, { epoch: 3 });
      const d = join(dir, model);
      mkdirSync(d);
      writeFileSync(join(d, 'manifest.json'), manifest);
      writeFileSync(join(d, 'weights.bin'), bin);
      const back = loadModelDir(d).model;
      assert.equal(back.config.model, model);
      const h = [[1, 2, 3], [5], [0, 1, 2, 3, 4, 5, 6, 7]];
      const a = await new TfjsScorer(net, 'a', 'a').scoreAll(h),
        b = await new TfjsScorer(back, 'b', 'b').scoreAll(h);
      assert.deepEqual(
        b.map((x) => Array.from(x)),
        a.map((x) => Array.from(x)),
        model,
      );
      net.dispose();
      back.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const fakeContext = recordingContext;

test('kind sequential on a LastFM subset: per-epoch metric events, checkpoints, candidate HR@1 and a prior CSV', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'flowloop-seqrun-'));
  try {
    const { ctx, events } = fakeContext(
      {
        kind: 'sequential',
        model: 'sasrec',
        dataset: shared('lastfm'),
        epochs: 2,
        batchSize: 256,
        maxTrainRows: 1024,
        device: 'wasm',
        hidden: 16,
        patience: 0,
        checkpoints: 'every',
      },
      runDir,
    );
    const m = await runSequentialExperiment(ctx);
    assert.equal(m.trainRows, 1024);
    assert.equal(m.epochsRun, 2);
    for (const k of ['test/hr@10', 'test/ndcg@10', 'test/cand_hr@1']) assert.equal(typeof m[k], 'number', k);
    const valid = events.filter((e) => e.type === 'metric' && e.name === 'valid/ndcg@20');
    assert.deepEqual(
      valid.map((e) => e.epoch),
      [1, 2],
    );
    for (const p of [
      'model/manifest.json',
      'checkpoints/epoch-1/weights.bin',
      'checkpoints/epoch-2/manifest.json',
      'checkpoints/last/weights.bin',
      'prior.csv',
    ])
      assert.ok(existsSync(join(runDir, p)), p);
    const prior = readFileSync(join(runDir, 'prior.csv'), 'utf8').trim().split('\n');
    assert.equal(prior[0], 'id,generate,real');
    assert.equal(prior.length, 123);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('gradients on the wasm backend (Flowloop kernels) match the cpu backend for all three models', async () => {
  const hist = synthetic(64, new Rng(21));
  const grads: Record<string, Record<string, Float32Array>> = {};
  for (const dev of ['cpu', 'wasm'] as const) {
    const { tf } = await initBackend(dev);
    for (const model of ['sasrec', 'gru4rec', 'caser'] as ModelKind[]) {
      const net = createModel({ model, numItems: N, maxLen: 6, hidden: 16, dropout: 0, numFilters: 4, filterSizes: [2, 3] }, new Rng(4));
      // move LayerNorm β off 0 so SASRec's sign(|Σq|) query mask is not decided by rounding (see sasrec.ts)
      for (const [name, v] of net.params) if (/ln_\d\.bias|layer_norm\.bias/.test(name)) v.assign(tf.fill(v.shape, 0.1));
      const { padHistories } = await import('../../core/models/batch');
      const pb = padHistories(
        hist.map((h) => h.seq),
        6,
        N,
      );
      const neg = new Rng(8);
      const { grads: g } = tf.variableGrads(() => {
        const rep = net.represent(tf.tensor2d(pb.seq, [64, 6], 'int32'), tf.tensor1d(pb.lens, 'int32'), false);
        const lp = net.logitsFor(
          rep,
          tf.tensor1d(
            hist.map((h) => h.next),
            'int32',
          ),
        );
        const ln = net.logitsFor(
          rep,
          tf.tensor1d(
            hist.map(() => neg.int(N)),
            'int32',
          ),
        );
        return tf.mean(tf.add(tf.softplus(tf.neg(lp)), tf.softplus(ln))) as any;
      }, [...net.params.values()]);
      grads[dev + model] = Object.fromEntries([...net.params].map(([n, v]) => [n, g[v.name].dataSync() as Float32Array]));
      net.dispose();
    }
  }
  for (const model of ['sasrec', 'gru4rec', 'caser']) {
    for (const [name, a] of Object.entries(grads['cpu' + model])) {
      const b = grads['wasm' + model][name];
      let scale = 1e-6,
        diff = 0;
      for (let i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]));
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      assert.ok(diff <= 1e-4 * scale + 1e-7, `${model} ${name}: max |cpu - wasm| ${diff} (max |grad| ${scale})`);
    }
  }
  await initBackend('wasm');
});
