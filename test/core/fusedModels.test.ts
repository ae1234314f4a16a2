/**
 * The real models and training loops use core/tensor's fused ops (layerNorm, logSoftmaxGather, the
 * FlowloopAdam kernel). Each replacement is checked here against the stock-op composition it replaced,
 * at the sizes of bench/trainStep/configs.json, forward values and gradients (or updated weights)
 * within 1e-5 relative (max |new − old| ≤ 1e-5 · max |old| per tensor):
 *  - Flower policy (core/models/policy.ts `ln`) + objective (core/flower/objective.ts, policy.logProbsAt):
 *    θ·SFT + (1−θ)·SubTB value, SFT and GFN parts and every parameter gradient vs the old objective
 *    (logProbsAll's full log-softmax, one-hot product, terminal column slice) with stock LayerNorm;
 *  - AdamW (core/flower/optim.ts): several steps with warmup, clipping and decoupled decay, fused vs stock;
 *  - SASRec LayerNorm (core/models/layers.ts) forward + gradients, fused vs stock;
 *  - core/models/train.ts: full-softmax CE by logSoftmaxGather vs logSoftmax + one-hot, and FusedAdam
 *    (ε = backend epsilon, weight decay in the optimizer) vs tf.train.adam(lr) with ½·wd·‖θ‖² in the loss.
 * "Stock" = the same code with the fused kernel unregistered (ops fall back to the old formula).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-core';
import { initBackend, getTf } from '../../core/tensor';
import { LAYER_NORM } from '../../core/tensor/kernels/layerNorm';
import { ADAM } from '../../core/tensor/kernels/adam';
import { logSoftmaxGather } from '../../core/tensor/ops';
import { FusedAdam } from '../../core/tensor/adam';
import { PrefixTree } from '../../core/trie';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { TransformerPolicy } from '../../core/models/policy';
import { gfnSampleFromTitle, objective, titleRows, type ObjectiveBatch } from '../../core/flower/objective';
import { subtbLossTensor } from '../../core/flower/subtb';
import { AdamW } from '../../core/flower/optim';
import { SASRec } from '../../core/models/sasrec';
import { layerNorm } from '../../core/models/layers';
import { Rng } from '../../core/util/random';
import cfgs from '../../bench/trainStep/configs.json';

const REL = 1e-5;

/** Runs `f` with kernel `name` unregistered on the current backend (the stock-op fallback), then restores it. */
async function withoutKernel<T>(names: string[], f: () => T | Promise<T>): Promise<T> {
  const tf = getTf();
  const be = tf.getBackend();
  const saved = names.map((n) => tf.getKernel(n, be)).filter((k): k is TF.KernelConfig => !!k);
  for (const k of saved) tf.unregisterKernel(k.kernelName, be);
  try {
    return await f();
  } finally {
    for (const k of saved) tf.registerKernel(k);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * max |got − want| ≤ REL · max(max |want|, floor) (and no NaN); returns the relative error. `floor`: the scale
 * for tensors that are mathematically zero (pure rounding noise), e.g. the attention key bias gradient.
 */
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, floor = 0): number {
  assert.equal(got.length, want.length, `${what}: sizes`);
  let d = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
  }
  const scale = Math.max(maxAbs(want), floor, 1e-30);
  assert.ok(d <= REL * scale, `${what}: max |diff| ${d} > ${REL} * ${scale}`);
  return d / scale;
}

/** The objective as it was before the fused ops (logProbsAll, one-hot product, terminal column). */
function oldObjective(
  policy: TransformerPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  batch: ObjectiveBatch,
  theta: number,
  dropoutSeed?: number,
) {
  const tf = getTf();
  const V = vocab.size;
  // stock ops: full log-softmax, one-hot gather; SFT rows with dropout (dropoutSeed), GFN rows without (as sampled)
  const rowsLp = (hist: number[][], inputs: number[][], targets: number[][], seed?: number) => {
    const { logp, T } = policy.logProbsAll(hist, inputs, seed);
    const N = inputs.length;
    const tgt = new Int32Array(N * T),
      valid = new Float32Array(N * T);
    targets.forEach((row, r) =>
      row.forEach((x, t) => {
        tgt[r * T + t] = x;
        valid[r * T + t] = 1;
      }),
    );
    const tokLp = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(tgt, 'int32'), V).asType('float32')), 1).reshape([N, T]) as TF.Tensor2D;
    return { logp, T, N, tokLp, valid };
  };
  const sH: number[][] = [],
    sI: number[][] = [],
    sT: number[][] = [];
  batch.targets.forEach((t, b) => {
    if (t < 0) return;
    const r = titleRows(trie, vocab, t);
    sH.push(batch.histories[b]);
    sI.push(r.input);
    sT.push(r.targets);
  });
  const S = rowsLp(sH, sI, sT, dropoutSeed);
  let count = 0;
  for (const v of S.valid) count += v;
  const sft = tf.div(tf.neg(tf.sum(tf.mul(S.tokLp, tf.tensor2d(S.valid, [S.N, S.T])))), count) as TF.Scalar;
  const gH: number[][] = [],
    gI: number[][] = [],
    gT: number[][] = [],
    logRs: number[][] = [];
  batch.samples!.forEach((s, b) => {
    gH.push(batch.histories[b]);
    gI.push(s.input);
    gT.push([...s.input, vocab.terminal]);
    logRs.push(s.logR);
  });
  const G = rowsLp(gH, gI, gT);
  const logR = new Float32Array(G.N * G.T);
  logRs.forEach((row, r) =>
    row.forEach((v, t) => {
      logR[r * G.T + t] = v;
    }),
  );
  const term = tf.slice(G.logp, [0, vocab.terminal], [G.N * G.T, 1]).reshape([G.N, G.T]) as TF.Tensor2D;
  const gfn = subtbLossTensor(G.tokLp, term, tf.tensor2d(logR, [G.N, G.T]), tf.tensor2d(G.valid, [G.N, G.T]));
  return { total: tf.add(tf.mul(sft, theta), tf.mul(gfn, 1 - theta)) as TF.Scalar, sft, gfn };
}

test('Flower policy + objective with fused LayerNorm and logSoftmaxGather equal the stock composition (bench sizes: V≈5000, 4 layers, 32 rows x up to 63 tokens)', async () => {
  await initBackend('auto');
  const tf = getTf();
  const c = cfgs.policy;
  const rng = new Rng(7);
  const TERM = 9999;
  // 400 titles of 3..62 tokens over ~5000 token ids
  const seqs: number[][] = [],
    names: string[] = [],
    rewards: number[] = [];
  for (let i = 0; i < 800; i++) {
    const len = 3 + rng.int(i < 40 ? 60 : 16);
    seqs.push([...Array.from({ length: len }, () => 10 + rng.int(c.vocab - 10)), TERM]);
    names.push(`t${i}`);
    rewards.push(1 + rng.int(5));
  }
  const trie = PrefixTree.fromTokenIds(names, seqs, rewards, TERM);
  const vocab = PolicyVocab.fromTrie(trie, { terminalId: TERM } as never);
  assert.ok(vocab.size > 4000, `vocabulary ${vocab.size}`);
  const H = 10,
    numItems = 500;
  const policy = new TransformerPolicy(
    {
      vocabSize: vocab.size,
      numItems,
      dModel: c.dModel,
      layers: c.layers,
      heads: c.heads,
      ffn: c.ffn,
      maxHistory: H,
      maxTokens: 64,
      dropout: c.dropout,
      padId: vocab.pad,
      bosId: vocab.bos,
    },
    3,
  );
  // trained-like LayerNorm parameters (not the init's γ = 1, β = 0)
  for (const n of policy.names)
    if (/ln.*\.(g|b)$/.test(n)) {
      const w = policy.weights[n];
      w.assign(
        tf.tensor(
          Float32Array.from({ length: w.size }, () => (n.endsWith('.g') ? 1 : 0) + 0.2 * rng.normal()),
          w.shape,
        ),
      );
    }
  const B = c.batch;
  const batch: ObjectiveBatch = {
    histories: Array.from({ length: B }, () => Array.from({ length: rng.int(H + 3) }, () => rng.int(numItems))),
    targets: Array.from({ length: B }, (_, b) => (b < 4 ? b : rng.int(800))),
    samples: Array.from({ length: B }, (_, b) => gfnSampleFromTitle(trie, vocab, b < 4 ? 4 + b : rng.int(800), 'none')),
  };
  const theta = 0.5;
  const vars = policy.names.map((n) => policy.weights[n]);
  const run = (fn: () => { total: TF.Scalar; sft: TF.Scalar | null; gfn: TF.Scalar | null }) => {
    let parts: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const o = fn();
      parts = [o.sft!.dataSync()[0], o.gfn!.dataSync()[0]];
      return o.total;
    }, vars);
    const out = { total: value.dataSync()[0], parts, grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  for (const seed of [undefined, 11]) {
    const before = tf.memory().numTensors;
    const fused = run(() => objective(policy, trie, vocab, batch, { theta, personalization: 'none' }, seed));
    const stock = await withoutKernel([LAYER_NORM], () => run(() => oldObjective(policy, trie, vocab, batch, theta, seed)));
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    close([fused.total, ...fused.parts], [stock.total, ...stock.parts], `loss (total, sft, gfn), dropout ${seed !== undefined}`);
    let worst = 0;
    vars.forEach((v, i) => {
      worst = Math.max(worst, close(fused.grads[i], stock.grads[i], `gradient ${policy.names[i]}, dropout ${seed !== undefined}`));
    });
    console.log(
      `policy objective: loss ${stock.total} vs ${fused.total}; worst gradient rel. error ${worst.toExponential(2)} (dropout ${seed !== undefined})`,
    );
  }
  // forward alone: stateless next-token log-probs (the decode path) with the fused LayerNorm vs stock
  const rows = batch.targets.slice(0, 8).map((t) => titleRows(trie, vocab, t).input.slice(0, 5));
  const lpF = await policy.nextLogProbs(batch.histories.slice(0, 8), rows);
  const lpS = await withoutKernel([LAYER_NORM], () => policy.nextLogProbs(batch.histories.slice(0, 8), rows));
  lpF.forEach((r, b) => close(r, lpS[b], `next-token log-probs row ${b}`));
  policy.dispose();
});

test('AdamW (core/flower/optim.ts) with the fused kernel equals its stock update: warmup, clipping, decay on matrices only', async () => {
  await initBackend('auto');
  const tf = getTf();
  const rng = new Rng(5);
  const shapes: Record<string, number[]> = { w: [64, 256], b: [256], e: [5000, 64] };
  const init = Object.fromEntries(
    Object.entries(shapes).map(([n, s]) => [n, Float32Array.from({ length: s.reduce((a, x) => a * x, 1) }, () => 0.05 * rng.normal())]),
  );
  const grads = Array.from({ length: 6 }, (_, k) =>
    Object.fromEntries(
      Object.entries(shapes).map(([n, s]) => [
        n,
        Float32Array.from(
          { length: s.reduce((a, x) => a * x, 1) },
          () => (k === 2 ? 50 : 0.01) * rng.normal() * (rng.next() < 0.1 ? 0 : 1),
        ),
      ]),
    ),
  );
  const opts = { lr: 3e-4, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, warmupSteps: 3, clipNorm: 1 };
  const train = () => {
    const params = Object.fromEntries(
      Object.entries(shapes).map(([n, s]) => {
        const t = tf.tensor(init[n], s);
        const v = tf.variable(t);
        t.dispose();
        return [n, v];
      }),
    );
    const opt = new AdamW(opts, params);
    const norms: number[] = [];
    for (const g of grads) {
      const gt = Object.fromEntries(Object.entries(g).map(([n, a]) => [n, tf.tensor(a, shapes[n])]));
      norms.push(opt.apply(gt));
      tf.dispose(Object.values(gt));
    }
    const out = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, p.dataSync() as Float32Array]));
    return { out, norms, opt, params };
  };
  const before = tf.memory().numTensors;
  const f = train();
  const s = await withoutKernel([ADAM], train);
  const [fs, ss] = [await f.opt.state(), await s.opt.state()];
  for (const n of Object.keys(shapes)) {
    close(f.out[n], s.out[n], `AdamW weights ${n}`);
    close(fs.get(`m/${n}`)!, ss.get(`m/${n}`)!, `AdamW m ${n}`);
    close(fs.get(`v/${n}`)!, ss.get(`v/${n}`)!, `AdamW v ${n}`);
  }
  assert.deepEqual(f.norms, s.norms);
  for (const r of [f, s]) {
    r.opt.dispose();
    Object.values(r.params).forEach((p) => p.dispose());
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
});

test('SASRec LayerNorm (core/models/layers.ts) fused equals stock at [1024, 10, 64], forward and gradients', async () => {
  await initBackend('auto');
  const tf = getTf();
  const rng = new Rng(9);
  const c = cfgs.sasrec;
  const x = tf.tensor3d(
    Float32Array.from({ length: c.batch * c.L * c.hidden }, () => rng.normal() * 0.7 + 0.3),
    [c.batch, c.L, c.hidden],
  );
  const g = tf.tensor1d(Float32Array.from({ length: c.hidden }, () => 1 + 0.2 * rng.normal()));
  const b = tf.tensor1d(Float32Array.from({ length: c.hidden }, () => 0.1 * rng.normal()));
  const dy = tf.tensor3d(
    Float32Array.from({ length: c.batch * c.L * c.hidden }, () => rng.normal()),
    [c.batch, c.L, c.hidden],
  );
  const run = () =>
    tf.tidy(() => {
      const f = (xx: TF.Tensor, gg: TF.Tensor, bb: TF.Tensor) => tf.sum(tf.mul(layerNorm(xx, gg, bb), dy)) as TF.Scalar;
      const y = layerNorm(x, g, b).dataSync() as Float32Array;
      const gr = tf
        .grads(f)([x, g, b])
        .map((t) => t.dataSync() as Float32Array);
      return { y, gr };
    });
  const fused = run();
  const stock = await withoutKernel([LAYER_NORM], run);
  close(fused.y, stock.y, 'LayerNorm forward');
  ['dx', 'dγ', 'dβ'].forEach((n, i) => close(fused.gr[i], stock.gr[i], `LayerNorm ${n}`));
  tf.dispose([x, g, b, dy]);
});

test('core/models/train.ts: CE by logSoftmaxGather equals logSoftmax + one-hot (SASRec, bench sizes: loss and gradients)', async () => {
  await initBackend('auto');
  const tf = getTf();
  const c = cfgs.sasrec;
  const B = 512,
    L = c.L;
  const data = new Rng(21);
  const seq = new Int32Array(B * L).fill(c.items),
    lens = new Int32Array(B),
    pos = new Int32Array(B);
  for (let r = 0; r < B; r++) {
    lens[r] = 1 + data.int(L);
    for (let t = 0; t < lens[r]; t++) seq[r * L + t] = data.int(c.items);
    pos[r] = data.int(c.items);
  }
  const model = new SASRec({ model: 'sasrec', numItems: c.items, maxLen: L, hidden: c.hidden, dropout: 0 }, new Rng(1));
  const vars = [...model.params.values()];
  const names = [...model.params.keys()];
  const run = (fused: boolean) =>
    tf.tidy(() => {
      const s = tf.tensor2d(seq, [B, L], 'int32'),
        l = tf.tensor1d(lens, 'int32'),
        p = tf.tensor1d(pos, 'int32');
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.logitsAll(model.represent(s, l, false)) as TF.Tensor2D;
        return (
          fused
            ? tf.neg(tf.mean(logSoftmaxGather(logits, p)))
            : tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(p, c.items), tf.logSoftmax(logits)), 1)))
        ) as TF.Scalar;
      }, vars);
      return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    });
  const f = run(true),
    s = run(false);
  close([f.loss], [s.loss], 'CE loss');
  // mh_attn.linear_k.bias has a zero gradient in exact arithmetic (softmax is shift invariant): scale = all gradients'
  const gmax = Math.max(...s.grads.map(maxAbs));
  names.forEach((n, i) => close(f.grads[i], s.grads[i], `CE gradient ${n}`, 1e-3 * gmax));
  model.dispose();
});

test('core/models/train.ts: FusedAdam (ε = backend epsilon, weightDecay) equals tf.train.adam(lr) on gradient + wd·θ (the ½·wd·‖θ‖² loss term), same gradients, 5 steps', async () => {
  await initBackend('auto');
  const tf = getTf();
  const c = cfgs.sasrec;
  const wd = 1e-4,
    lr = 1e-3;
  const model = new SASRec({ model: 'sasrec', numItems: c.items, maxLen: c.L, hidden: c.hidden, dropout: 0 }, new Rng(1));
  const shapes = [...model.params.values()].map((v) => v.shape);
  const w0 = [...model.params.values()].map((v) => (v.dataSync() as Float32Array).slice());
  const names = [...model.params.keys()];
  model.dispose();
  const rng = new Rng(3);
  const gradSeq = Array.from({ length: 5 }, () =>
    w0.map((w) => Float32Array.from({ length: w.length }, () => (rng.next() < 0.3 ? 0 : 0.01 * rng.normal()))),
  );
  const run = (fused: boolean) => {
    const vars = w0.map((w, i) => {
      const t = tf.tensor(w, shapes[i]);
      const v = tf.variable(t, true, `fa${fused}${i}`);
      t.dispose();
      return v;
    });
    const opt = fused
      ? new FusedAdam(lr, { beta1: 0.9, beta2: 0.999, epsilon: tf.backend().epsilon(), weightDecay: wd })
      : tf.train.adam(lr);
    for (const gs of gradSeq) {
      tf.tidy(() => {
        const named: Record<string, TF.Tensor> = {};
        vars.forEach((v, i) => {
          const g = tf.tensor(gs[i], shapes[i]);
          // the old loss term's gradient: d/dθ (½·wd·Σθ²) = (½·wd)·2θ, added to the data gradient
          named[v.name] = fused ? g : tf.add(g, tf.mul(tf.mul(v, 2), 0.5 * wd));
        });
        if (fused) (opt as FusedAdam).applyGradients(named, vars);
        else (opt as TF.AdamOptimizer).applyGradients(named as never);
      });
    }
    const out = vars.map((v) => (v.dataSync() as Float32Array).slice());
    opt.dispose();
    vars.forEach((v) => v.dispose());
    return out;
  };
  const f = run(true),
    s = run(false);
  // float64 reference of the same 5 steps (torch.optim.Adam's formula, exact constants)
  const ref = w0.map((w, i) => {
    const x = Float64Array.from(w),
      m = new Float64Array(w.length),
      v = new Float64Array(w.length);
    gradSeq.forEach((gs, k) => {
      const t = k + 1,
        eps = tf.backend().epsilon();
      for (let j = 0; j < x.length; j++) {
        const g = gs[i][j] + wd * x[j];
        m[j] = 0.9 * m[j] + 0.1 * g;
        v[j] = 0.999 * v[j] + 0.001 * g * g;
        x[j] -= (lr * m[j]) / (1 - 0.9 ** t) / (Math.sqrt(v[j] / (1 - 0.999 ** t)) + eps);
      }
    });
    return x;
  });
  // the weights are float32: a change is known to within the rounding of the weight itself (4 ulps of max |w|)
  const ulp = (x: number) => 2 ** (Math.floor(Math.log2(x)) - 23);
  names.forEach((n, i) => {
    const fl = Math.max(5 * lr, (4 * ulp(maxAbs(w0[i]))) / REL);
    const dF = f[i].map((x, j) => x - w0[i][j]),
      dS = s[i].map((x, j) => x - w0[i][j]),
      dR = ref[i].map((x, j) => x - w0[i][j]);
    close(f[i], s[i], `weights after 5 steps ${n}, FusedAdam vs tf.train.adam`);
    close(dF, dR, `weight change after 5 steps ${n}, FusedAdam vs float64`, fl);
    // tf.train.adam keeps β2^t as a float32 running product: 1 − float32(0.999) is 1.3e-5 off 1 − 0.999, so its
    // early steps are ~6e-6 (relative) larger than the exact rule; FusedAdam recomputes β^t in double
    close(dS, dR, `weight change after 5 steps ${n}, tf.train.adam vs float64 (3e-5)`, fl * 3);
    close(dF, dS, `weight change after 5 steps ${n}, FusedAdam vs tf.train.adam (3e-5)`, fl * 3);
  });
});
