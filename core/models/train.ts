/**
 * Training of the sequential recommenders (METHODS A8; SASREC.md "Training"):
 *  - `bce`: the positive next item vs ONE uniform random negative (≠ the target) per training row,
 *    binary cross-entropy on their logits (DROS/LLaRA and Flower's recipe);
 *  - `ce`: full softmax cross-entropy over all items.
 * Adam (lr, PyTorch-style L2 weight decay: wd·θ added to the gradient via ½·wd·‖θ‖² in the loss),
 * seeded shuffles/negatives/dropout, validation after each epoch with early stopping on a chosen
 * metric, and a callback per epoch (checkpoints, metric events). The best epoch's weights are restored.
 */
import { yieldIfDue } from '../experiment/context';
import { Rng } from '../util/random';
import { tf, type Tensor } from './tf';
import type { SeqModelBase } from './layers';
import { padHistories } from './batch';

export interface TrainRow {
  seq: number[];
  next: number;
}

export interface TrainOptions {
  loss: 'bce' | 'ce';
  /** Uniform negatives per row for `bce` (default 1). */
  negatives?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Stop after this many epochs without a better validation score (0 = never stop early). */
  patience: number;
  rng: Rng;
  signal?: AbortSignal;
  /** Validation score of the current weights (higher = better); called after each epoch. */
  validate: (epoch: number) => Promise<{ score: number; metrics: Record<string, number> }>;
  onStep?: (step: number, loss: number, epoch: number) => void;
  /** After validation: the epoch's metrics and whether it is the best so far (write a checkpoint here). */
  onEpoch?: (epoch: number, info: { loss: number; metrics: Record<string, number>; best: boolean; seconds: number }) => Promise<void> | void;
  onProgress?: (done: number, total: number, epoch: number) => void;
}

export interface TrainResult {
  bestEpoch: number;
  bestScore: number;
  epochsRun: number;
  stoppedEarly: boolean;
  cancelled: boolean;
  history: { epoch: number; loss: number; metrics: Record<string, number>; seconds: number }[];
}

/** One uniform negative per row, never the row's target (needs numItems >= 2). */
export function sampleNegatives(targets: ArrayLike<number>, numItems: number, rng: Rng): Int32Array {
  const neg = new Int32Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    let n = rng.int(numItems);
    while (n === targets[i]) n = rng.int(numItems);
    neg[i] = n;
  }
  return neg;
}

/** The training loss of one batch (a scalar). */
function batchLoss(model: SeqModelBase, seq: Tensor, lens: Tensor, pos: Tensor, neg: Tensor | undefined, opts: TrainOptions): Tensor {
  const t = tf();
  const rep = model.represent(seq, lens, true, opts.rng);
  let loss: Tensor;
  if (opts.loss === 'bce') {
    // BCE(pos, 1) + BCE(neg, 0) = softplus(-pos) + softplus(neg)
    // BCE over k negatives: softplus(-pos) + Σ_k softplus(neg_k); neg is [k, B]
    const lp = model.logitsFor(rep, pos);
    let per = t.softplus(t.neg(lp));
    for (const nk of t.unstack(neg!, 0)) per = t.add(per, t.softplus(model.logitsFor(rep, nk)));
    loss = t.mean(per);
  } else {
    const logp = t.logSoftmax(model.logitsAll(rep));
    const onehot = t.oneHot(pos, model.config.numItems);
    loss = t.neg(t.mean(t.sum(t.mul(onehot, logp), 1)));
  }
  if (opts.weightDecay > 0) {
    let l2: Tensor = t.scalar(0);
    for (const v of model.params.values()) l2 = t.add(l2, t.sum(t.square(v)));
    loss = t.add(loss, t.mul(l2, 0.5 * opts.weightDecay));
  }
  return loss;
}

export async function trainModel(model: SeqModelBase, rows: TrainRow[], opts: TrainOptions): Promise<TrainResult> {
  const t = tf();
  const { maxLen, numItems } = model.config;
  const optimizer = t.train.adam(opts.lr);
  const vars = [...model.params.values()];
  const history: TrainResult['history'] = [];
  let best = { epoch: -1, score: -Infinity, weights: [] as Float32Array[] };
  let since = 0, step = 0, cancelled = false, stoppedEarly = false;
  const order = rows.map((_, i) => i);
  const steps = Math.ceil(rows.length / opts.batchSize);

  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = Date.now();
    opts.rng.shuffle(order);
    let lossSum = 0, lossN = 0;
    for (let s = 0; s < steps; s++) {
      if (opts.signal?.aborted) { cancelled = true; break; }
      const idx = order.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
      const pb = padHistories(idx.map((i) => rows[i].seq), maxLen, model.padId);
      const targets = Int32Array.from(idx, (i) => rows[i].next);
      const k = opts.negatives ?? 1;
      const negs = opts.loss === 'bce' ? sampleNegatives(Int32Array.from({ length: k * targets.length }, (_, j) => targets[j % targets.length]), numItems, opts.rng) : undefined;
      const lossT = t.tidy(() => {
        const seq = t.tensor2d(pb.seq, [pb.batch, maxLen], 'int32');
        const lens = t.tensor1d(pb.lens, 'int32');
        const pos = t.tensor1d(targets, 'int32');
        const neg = negs ? t.tensor2d(negs, [k, pb.batch], 'int32') : undefined;
        return optimizer.minimize(() => batchLoss(model, seq, lens, pos, neg, opts) as any, true, vars)!;
      });
      const loss = (await lossT.data())[0];
      lossT.dispose();
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${epoch} step ${s + 1}`);
      lossSum += loss; lossN++; step++;
      opts.onStep?.(step, loss, epoch);
      opts.onProgress?.(s + 1, steps, epoch);
      // let the event loop breathe (cancel signals, IPC) every few steps
      await yieldIfDue();
    }
    if (cancelled) break;
    const { score, metrics } = await opts.validate(epoch);
    const seconds = (Date.now() - t0) / 1000;
    const isBest = score > best.score;
    history.push({ epoch, loss: lossSum / Math.max(1, lossN), metrics, seconds });
    if (isBest) {
      best = { epoch, score, weights: vars.map((v) => (v.dataSync() as Float32Array).slice()) };
      since = 0;
    } else since++;
    await opts.onEpoch?.(epoch, { loss: lossSum / Math.max(1, lossN), metrics, best: isBest, seconds });
    if (opts.patience > 0 && since >= opts.patience) { stoppedEarly = epoch < opts.epochs; break; }
  }
  optimizer.dispose();
  if (best.epoch >= 0) vars.forEach((v, i) => v.assign(t.tensor(best.weights[i], v.shape, 'float32')));
  return { bestEpoch: best.epoch, bestScore: best.score, epochsRun: history.length, stoppedEarly, cancelled, history };
}
