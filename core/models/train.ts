/**
 * Training of the sequential recommenders (docs/methods.md §A8; docs/methods.md §C "Training"):
 *  - `bce`: the positive next item vs ONE uniform random negative (≠ the target) per training row,
 *    binary cross-entropy on their logits (DROS/LLaRA and Flower's recipe);
 *  - `ce`: full softmax cross-entropy over all items.
 * Adam (lr, PyTorch-style L2 weight decay: wd·θ added to the gradient — core/tensor's FusedAdam
 * `weightDecay`, the gradient of ½·wd·‖θ‖², which the reported loss still includes),
 * seeded shuffles/negatives/dropout, validation after each epoch with early stopping on a chosen
 * metric, and a callback per epoch (checkpoints, metric events). The best epoch's weights are restored.
 *
 * Resume (docs/design.md "a run can be resumed from its last checkpoint"): each epoch draws its shuffle,
 * negatives and dropout from its own generator (`epochRng`, derived from one draw of `rng` and the epoch
 * number), so nothing but the weights, Adam's moments and update count, and the counters of
 * `TrainState` carries from one epoch to the next. `TrainCheckpoint` holds exactly those; a run started
 * from one (`resume`) repeats the uninterrupted run bit for bit on the same backend.
 */
import { yieldIfDue } from '../experiment/context';
import { Rng } from '../util/random';
import type { Scalar, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { FusedAdam } from '../tensor/adam';
import { logSoftmaxGather } from '../tensor/ops';
import { getTf, type Tensor, type Variable } from '../tensor';
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
  onEpoch?: (
    epoch: number,
    info: { loss: number; metrics: Record<string, number>; best: boolean; seconds: number; checkpoint: () => Promise<TrainCheckpoint> },
  ) => Promise<void> | void;
  onProgress?: (done: number, total: number, epoch: number) => void;
  /** Continue from this state (taken by `info.checkpoint()` at the end of an epoch) instead of epoch 0. */
  resume?: TrainCheckpoint;
}

/** Counters that carry from epoch to epoch (everything of the training loop but tensors). */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Best epoch so far (-1: none) and its validation score. */
  bestEpoch: number;
  bestScore: number;
  /** Epochs since the best one (early stopping). */
  since: number;
  stoppedEarly: boolean;
  history: TrainResult['history'];
}

/** Everything needed to continue training after an epoch, tensors as plain arrays keyed by parameter name. */
export interface TrainCheckpoint {
  state: TrainState;
  /** Adam's update count t (β1^t, β2^t for information: the bias corrections are recomputed from t). */
  adam: { iterations: number; accBeta1: number; accBeta2: number };
  /** Adam's first and second moments per parameter (empty before the first step). */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /** The best epoch's weights when that is not the current epoch (restored at the end of training). */
  best?: Map<string, Float32Array>;
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

/** The data loss of one batch (a scalar; the L2 term is the optimizer's weight decay, see `l2Term`). */
function batchLoss(
  model: SeqModelBase,
  seq: Tensor,
  lens: Tensor,
  pos: Tensor,
  neg: Tensor | undefined,
  opts: Pick<TrainOptions, 'loss'>,
  rng: Rng,
): Tensor {
  const t = getTf();
  const rep = model.represent(seq, lens, true, rng);
  let loss: Tensor;
  if (opts.loss === 'bce') {
    // BCE(pos, 1) + BCE(neg, 0) = softplus(-pos) + softplus(neg)
    // BCE over k negatives: softplus(-pos) + Σ_k softplus(neg_k); neg is [k, B]
    const lp = model.logitsFor(rep, pos);
    let per = t.softplus(t.neg(lp));
    for (const nk of t.unstack(neg!, 0)) per = t.add(per, t.softplus(model.logitsFor(rep, nk)));
    loss = t.mean(per);
  } else {
    // full softmax CE: log-softmax over all items read at the target, one fused pass (core/tensor)
    loss = t.neg(t.mean(logSoftmaxGather(model.logitsAll(rep) as Tensor2D, pos as Tensor1D)));
  }
  return loss;
}

/**
 * ½·wd·‖θ‖² at the current weights: the L2 part of the reported loss. Its gradient wd·θ is applied by
 * FusedAdam's `weightDecay` (g + wd·θ, as torch.optim.Adam), so it is evaluated outside the gradient.
 */
function l2Term(model: SeqModelBase, weightDecay: number): Tensor {
  const t = getTf();
  let l2: Tensor = t.scalar(0);
  for (const v of model.params.values()) l2 = t.add(l2, t.sum(t.square(v)));
  return t.mul(l2, 0.5 * weightDecay);
}

/**
 * One optimizer step of `trainModel` on rows[idx]: the padded batch (docs/methods.md §C layout), the
 * negatives for `bce` (drawn from `rng` before the forward pass, whose dropout draws from it next), the data
 * loss, one Adam update of `vars`. Returns the reported loss (data loss + ½·wd·‖θ‖² at the weights before
 * the update) as a scalar tensor the caller disposes.
 */
export function trainStep(
  model: SeqModelBase,
  optimizer: FusedAdam,
  vars: Variable[],
  rows: readonly TrainRow[],
  idx: readonly number[],
  opts: Pick<TrainOptions, 'loss' | 'negatives' | 'weightDecay'>,
  rng: Rng,
): Tensor {
  const t = getTf();
  const { maxLen, numItems } = model.config;
  const pb = padHistories(
    idx.map((i) => rows[i].seq),
    maxLen,
    model.padId,
  );
  const targets = Int32Array.from(idx, (i) => rows[i].next);
  const k = opts.negatives ?? 1;
  const negs =
    opts.loss === 'bce'
      ? sampleNegatives(
          Int32Array.from({ length: k * targets.length }, (_, j) => targets[j % targets.length]),
          numItems,
          rng,
        )
      : undefined;
  return t.tidy(() => {
    const seq = t.tensor2d(pb.seq, [pb.batch, maxLen], 'int32');
    const lens = t.tensor1d(pb.lens, 'int32');
    const pos = t.tensor1d(targets, 'int32');
    const neg = negs ? t.tensor2d(negs, [k, pb.batch], 'int32') : undefined;
    const l2 = opts.weightDecay > 0 ? l2Term(model, opts.weightDecay) : undefined; // at the weights before the update
    const data = optimizer.minimize(() => batchLoss(model, seq, lens, pos, neg, opts, rng) as Scalar, true, vars)!;
    return l2 ? t.add(data, l2) : data;
  });
}

/** trainModel's optimizer: tf.train.adam(lr)'s update (β 0.9/0.999, ε = the backend's float epsilon) with L2 weight decay. */
export function seqOptimizer(lr: number, weightDecay: number): FusedAdam {
  return new FusedAdam(lr, { beta1: SEQ_BETA1, beta2: SEQ_BETA2, epsilon: getTf().backend().epsilon(), weightDecay });
}
const SEQ_BETA1 = 0.9,
  SEQ_BETA2 = 0.999;

/** The generator of one epoch (shuffle, negatives, dropout): independent of the epochs before it. */
export function epochRng(base: number, epoch: number): Rng {
  return new Rng((base ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
}

/**
 * Train with BCE / CE and Adam (docs/methods.md §A8), validating after every epoch; the best epoch's weights are
 * restored at the end. With `opts.resume` it continues after `resume.state.epoch`.
 */
export async function trainModel(model: SeqModelBase, rows: TrainRow[], opts: TrainOptions): Promise<TrainResult> {
  const t = getTf();
  // tf.train.adam(lr)'s update (β 0.9/0.999, ε = the backend's float epsilon, 1e-7) in one fused kernel per
  // variable, with the L2 gradient wd·θ added inside it
  const beta1 = SEQ_BETA1,
    beta2 = SEQ_BETA2;
  const optimizer = seqOptimizer(opts.lr, opts.weightDecay);
  const names = [...model.params.keys()];
  const vars = [...model.params.values()];
  const rs = opts.resume?.state;
  const history: TrainResult['history'] = rs ? rs.history.slice() : [];
  let best = { epoch: rs?.bestEpoch ?? -1, score: rs?.bestScore ?? -Infinity, weights: [] as Float32Array[] };
  let since = rs?.since ?? 0,
    step = rs?.step ?? 0,
    cancelled = false,
    stoppedEarly = rs?.stoppedEarly ?? false;
  const order = rows.map((_, i) => i);
  const steps = Math.ceil(rows.length / opts.batchSize);
  const base = opts.rng.int(0x7fffffff);
  if (opts.resume) {
    const r = opts.resume;
    const moments = new Map<Variable, { m: Float32Array; v: Float32Array }>();
    if (r.m.size) {
      names.forEach((n, i) => {
        const m = r.m.get(n),
          v = r.v.get(n);
        if (!m || !v || m.length !== vars[i].size || v.length !== vars[i].size)
          throw new Error(`resume: Adam moment ${n}/${!m || m.length !== vars[i].size ? 'm' : 'v'} missing or of the wrong size`);
        moments.set(vars[i], { m, v });
      });
    }
    optimizer.restore(r.adam.iterations, moments);
    if (best.epoch >= 0) {
      best.weights = names.map((n, i) => {
        if (best.epoch === r.state.epoch) return (vars[i].dataSync() as Float32Array).slice();
        const a = r.best?.get(n);
        if (!a) throw new Error(`resume: the best epoch's weights (${n}) are missing`);
        return a.slice();
      });
    }
  }

  /** The state after the current epoch (call from onEpoch). */
  const checkpoint = async (epoch: number): Promise<TrainCheckpoint> => {
    const m = new Map<string, Float32Array>(),
      v = new Map<string, Float32Array>();
    names.forEach((n, i) => {
      const mv = optimizer.moments(vars[i]);
      if (mv) {
        m.set(n, mv.m);
        v.set(n, mv.v);
      }
    });
    const it = optimizer.iterations;
    return {
      state: { epoch, step, bestEpoch: best.epoch, bestScore: best.score, since, stoppedEarly, history: history.slice() },
      adam: { iterations: it, accBeta1: Math.fround(beta1 ** it), accBeta2: Math.fround(beta2 ** it) },
      m,
      v,
      best: best.epoch >= 0 && best.epoch !== epoch ? new Map(names.map((n, i) => [n, best.weights[i]])) : undefined,
    };
  };

  const first = (rs?.epoch ?? 0) + 1;
  for (let epoch = first; epoch <= opts.epochs && !stoppedEarly; epoch++) {
    const t0 = Date.now();
    const rng = epochRng(base, epoch);
    order.forEach((_, i) => {
      order[i] = i;
    });
    rng.shuffle(order);
    let lossSum = 0,
      lossN = 0;
    for (let s = 0; s < steps; s++) {
      if (opts.signal?.aborted) {
        cancelled = true;
        break;
      }
      const idx = order.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
      const lossT = trainStep(model, optimizer, vars, rows, idx, opts, rng);
      const loss = (await lossT.data())[0];
      lossT.dispose();
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${epoch} step ${s + 1}`);
      lossSum += loss;
      lossN++;
      step++;
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
    if (opts.patience > 0 && since >= opts.patience) stoppedEarly = epoch < opts.epochs;
    await opts.onEpoch?.(epoch, {
      loss: lossSum / Math.max(1, lossN),
      metrics,
      best: isBest,
      seconds,
      checkpoint: () => checkpoint(epoch),
    });
  }
  optimizer.dispose();
  if (best.epoch >= 0) vars.forEach((v, i) => v.assign(t.tensor(best.weights[i], v.shape, 'float32')));
  return { bestEpoch: best.epoch, bestScore: best.score, epochsRun: history.length, stoppedEarly, cancelled, history };
}
