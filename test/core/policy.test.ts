import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-core';
import { TransformerPolicy } from '../../core/models/policy';
import { initBackend, getTf } from '../../core/tensor';
import { gfnSampleFromTitle, objective } from '../../core/flower/objective';
import { Rng } from '../../core/util/random';
import { tinyPolicySetup } from './tinyFlower';

const setup = (maxHistory = 3) => tinyPolicySetup({ maxHistory });

test('policy log-probs are a full-vocabulary distribution and padding does not change a row (attention mask fix)', async () => {
  await initBackend('auto');
  const tf = getTf();
  const { vocab, cfg } = setup();
  const pol = new TransformerPolicy(cfg, 3);
  const alone = await pol.nextLogProbs([[1, 2]], [[2]]);
  const inBatch = await pol.nextLogProbs([[4, 0, 5], [1, 2], [3]], [[2, 3, 4, 2], [2], []]);
  let s = 0;
  for (const v of alone[0]) s += Math.exp(v);
  assert.ok(Math.abs(s - 1) < 1e-4, `probabilities sum to ${s}`);
  for (let i = 0; i < vocab.size; i++)
    assert.ok(Math.abs(alone[0][i] - inBatch[1][i]) < 1e-4, `token ${i}: alone ${alone[0][i]} vs in a padded batch ${inBatch[1][i]}`);
  // all-positions output agrees with the last-position output
  const all = tf.tidy(() => pol.logProbsAll([[1, 2]], [[2]]).logp.arraySync()) as number[][];
  for (let i = 0; i < vocab.size; i++) assert.ok(Math.abs(all[1][i] - alone[0][i]) < 1e-4, `token ${i}: all-positions vs last`);
  pol.dispose();
});

test('incremental session (KV cache) equals nextLogProbs, with and without a history prefix (maxHistory 3 and 0)', async () => {
  await initBackend('auto');
  const tf = getTf();
  for (const H of [3, 0]) {
    const { vocab, cfg } = setup(H);
    const pol = new TransformerPolicy({ ...cfg, dropout: 0.3 }, 4);
    const before = tf.memory().numTensors;
    const hist = [[4, 0, 5, 1], [], [2]];
    const { session, logProbs } = await pol.startSession(hist);
    // states: [h0: 2], [h0: 3], [h2: 4] → [h0: 2 4], [h2: 4 4], [h2: 4 2]
    const s1 = await session.step([0, 0, 2], [2, 3, 4]);
    const s2 = await session.step([0, 2, 2], [4, 4, 2]);
    const cases: [Float32Array[], number[][], number[][]][] = [
      [logProbs, hist, [[], [], []]],
      [s1, [hist[0], hist[0], hist[2]], [[2], [3], [4]]],
      [
        s2,
        [hist[0], hist[2], hist[2]],
        [
          [2, 4],
          [4, 4],
          [4, 2],
        ],
      ],
    ];
    for (const [got, hs, ps] of cases) {
      const want = await pol.nextLogProbs(hs, ps);
      for (let b = 0; b < ps.length; b++)
        for (let i = 0; i < vocab.size; i++)
          assert.ok(
            Math.abs(got[b][i] - want[b][i]) < 1e-5,
            `H=${H} prefix ${JSON.stringify(ps[b])} token ${i}: cached ${got[b][i]} vs stateless ${want[b][i]}`,
          );
    }
    session.dispose();
    assert.equal(tf.memory().numTensors, before, 'session tensors released');
    pol.dispose();
  }
});

test('same seed gives the same initial weights and outputs; another seed differs', async () => {
  await initBackend('auto');
  const { cfg } = setup();
  const a = new TransformerPolicy(cfg, 11),
    b = new TransformerPolicy(cfg, 11),
    c = new TransformerPolicy(cfg, 12);
  const [la] = await a.nextLogProbs([[1]], [[2]]);
  const [lb] = await b.nextLogProbs([[1]], [[2]]);
  const [lc] = await c.nextLogProbs([[1]], [[2]]);
  assert.deepEqual(Array.from(la), Array.from(lb));
  assert.notDeepEqual(Array.from(la), Array.from(lc));
  a.dispose();
  b.dispose();
  c.dispose();
});

test('Flower objective gradient (θ·SFT + (1−θ)·SubTB, IFairLRS weights) matches central finite differences on a tiny model', async () => {
  await initBackend('auto');
  const tf = getTf();
  const { trie, vocab, cfg } = setup();
  const pol = new TransformerPolicy(cfg, 5);
  const batch = {
    histories: [[1, 2], [3], [0, 4, 5]],
    targets: [0, 3, 2],
    weights: [1, 0.5, 2],
    samples: [
      gfnSampleFromTitle(trie, vocab, 3, 'div'),
      gfnSampleFromTitle(trie, vocab, 1, 'div'),
      gfnSampleFromTitle(trie, vocab, 2, 'div', 1.3),
    ],
  };
  const opts = { theta: 0.7, personalization: 'div' as const };
  const f = () => objective(pol, trie, vocab, batch, opts).total;
  const names = pol.names;
  const vars = names.map((n) => pol.weights[n]);
  const { value, grads } = tf.variableGrads(f as () => TF.Scalar, vars);
  const L0 = value.dataSync()[0];
  assert.ok(Number.isFinite(L0) && L0 > 0, `loss ${L0}`);
  // Directional derivative along d = g/|g| + a random perturbation, over ALL parameters: Σ g·d vs (f(w+εd) − f(w−εd)) / 2ε.
  const rng = new Rng(99);
  const dirs = new Map<string, Float32Array>();
  let gnorm = 0;
  for (const n of names) for (const v of grads[pol.weights[n].name].dataSync()) gnorm += v * v;
  gnorm = Math.sqrt(gnorm);
  let norm = 0;
  for (const n of names) {
    const g = grads[pol.weights[n].name].dataSync();
    const d = new Float32Array(pol.weights[n].size).map((_, i) => g[i] / gnorm + 0.01 * rng.normal());
    dirs.set(n, d);
    for (const v of d) norm += v * v;
  }
  norm = Math.sqrt(norm);
  let analytic = 0;
  for (const n of names) {
    const g = grads[pol.weights[n].name].dataSync();
    const d = dirs.get(n)!;
    for (let i = 0; i < d.length; i++) {
      d[i] /= norm;
      analytic += g[i] * d[i];
    }
  }
  const orig = new Map(names.map((n) => [n, pol.weights[n].dataSync().slice() as Float32Array]));
  const evalAt = (eps: number) => {
    for (const n of names) {
      const o = orig.get(n)!,
        d = dirs.get(n)!;
      pol.weights[n].assign(
        tf.tensor(
          o.map((v, i) => v + eps * d[i]),
          pol.weights[n].shape,
        ),
      );
    }
    return tf.tidy(() => f().dataSync()[0]);
  };
  const eps = 3e-3;
  const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
  if (process.env.FL_DEBUG) console.log('directional', analytic, numeric);
  assert.ok(
    Math.abs(numeric - analytic) <= 0.01 * Math.abs(analytic) + 0.05,
    `directional derivative: analytic ${analytic}, finite differences ${numeric}`,
  );
  // and per-coordinate on the largest gradient entries of two tensors
  for (const n of ['headW', 'l0.wqkv']) {
    const g = grads[pol.weights[n].name].dataSync();
    let best = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[best])) best = i;
    const o = orig.get(n)!;
    const at = (e: number) => {
      for (const m of names) pol.weights[m].assign(tf.tensor(orig.get(m)!, pol.weights[m].shape));
      const x = o.slice();
      x[best] += e;
      pol.weights[n].assign(tf.tensor(x, pol.weights[n].shape));
      return tf.tidy(() => f().dataSync()[0]);
    };
    const num = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(num - g[best]) <= 0.02 * Math.abs(g[best]) + 0.02, `${n}[${best}]: analytic ${g[best]}, finite differences ${num}`);
  }
  tf.dispose(grads);
  value.dispose();
  pol.dispose();
});
