/**
 * One training step of the project's real models at the sizes of configs.json, mirrored in PyTorch by
 * bench/python/train_step_torch.py. Each step creates its batch (timed, as the peer's is):
 *  - policy: core/models/policy.ts TransformerPolicy `logProbsAt` (token and terminal log-probs from one
 *    full-vocabulary logSoftmaxGather, as core/flower/objective.ts calls it), token CE + SubTB
 *    (core/flower/subtb.ts), core/flower/optim.ts AdamW (no warmup, clipping or decay here), on random titles;
 *  - sasrec: core/models/train.ts `trainStep`, the function its training loop calls.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { getTf } from '../../core/tensor';
import { TransformerPolicy } from '../../core/models/policy';
import { SASRec } from '../../core/models/sasrec';
import { seqOptimizer, trainStep, type TrainRow } from '../../core/models/train';
import { subtbLossTensor } from '../../core/flower/subtb';
import { Rng } from '../../core/util/random';
import { AdamW } from '../../core/flower/optim';
import cfgs from './configs.json';

export interface StepRunner {
  params: number;
  /** Creates a batch and runs one optimizer step on it; returns the loss. */
  step(): number;
  dispose(): void;
}

/** Flower policy: logProbsAt → token CE + SubTB (core/flower/subtb.ts) over all states of each row, AdamW. */
export function policyStep(seed = 0): StepRunner {
  const tf = getTf();
  const c = cfgs.policy;
  const policy = new TransformerPolicy(
    {
      vocabSize: c.vocab,
      numItems: 0,
      dModel: c.dModel,
      layers: c.layers,
      heads: c.heads,
      ffn: c.ffn,
      maxHistory: 0,
      maxTokens: c.T,
      dropout: c.dropout,
      padId: 0,
      bosId: 1,
    },
    seed,
  );
  const vars = policy.names.map((n) => policy.weights[n]);
  const adamW = new AdamW({ lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0, warmupSteps: 0, clipNorm: 0 }, policy.weights);
  const nameOf = new Map(policy.names.map((n) => [policy.weights[n].name, n]));
  const rng = new Rng(seed + 1);
  const B = c.batch,
    T = c.T,
    V = c.vocab;
  let dropoutSeed = 1;
  return {
    params: policy.paramCount(),
    step() {
      const rows = Array.from({ length: B }, () => Array.from({ length: T - 1 }, () => 3 + rng.int(V - 3)));
      const tgt = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) tgt[b * T + t] = t < T - 1 ? rows[b][t] : c.terminal;
      const logR = Float32Array.from({ length: B * T }, () => -10 * rng.next());
      const lossFn = () => {
        // as core/flower/objective.ts: token and terminal log-probs from the model's logProbsAt
        const { lp } = policy.logProbsAt(
          [],
          rows,
          2,
          (T2) => {
            const lab = new Int32Array(2 * B * T2);
            for (let i = 0; i < B * T2; i++) {
              lab[2 * i] = tgt[i];
              lab[2 * i + 1] = c.terminal;
            }
            return lab;
          },
          dropoutSeed++,
        );
        const tokLp = tf.reshape(tf.slice(lp, [0, 0], [B * T, 1]), [B, T]) as Tensor2D;
        const termLp = tf.reshape(tf.slice(lp, [0, 1], [B * T, 1]), [B, T]) as Tensor2D;
        const ce = tf.neg(tf.mean(tokLp));
        const valid = tf.ones([B, T]) as Tensor2D;
        return tf.add(ce, subtbLossTensor(tokLp, termLp, tf.tensor2d(logR, [B, T]), valid)) as never;
      };
      // as core/flower/train.ts: variableGrads, named gradients, AdamW.apply
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const named: Record<string, Tensor> = {};
      for (const [k, g] of Object.entries(grads)) named[nameOf.get(k) ?? k] = g;
      adamW.apply(named);
      const v = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return v;
    },
    dispose() {
      policy.dispose();
      adamW.dispose();
    },
  };
}

/**
 * SASRec (docs/methods.md §C) training step exactly as core/models/train.ts runs it (`trainStep`: batch
 * padding, one uniform negative per row, BCE, Adam with L2 weight decay, reported loss + ½·wd·‖θ‖²), on
 * rows drawn from a fixed pool of synthetic histories (lengths 1..L, uniform item ids). Batch creation
 * (picking the rows, padding, negatives, tensors) is inside the step, as in PyTorch's peer.
 */
export function sasrecStep(seed = 0): StepRunner {
  const c = cfgs.sasrec;
  const rng = new Rng(seed);
  const model = new SASRec({ model: 'sasrec', numItems: c.items, maxLen: c.L, hidden: c.hidden, dropout: c.dropout }, rng);
  const vars = [...model.params.values()];
  const opt = seqOptimizer(1e-3, c.weightDecay);
  const rows: TrainRow[] = syntheticRows(c.items, c.L, c.pool, rng);
  const opts = { loss: 'bce' as const, negatives: 1, weightDecay: c.weightDecay };
  return {
    params: model.size,
    step() {
      const idx = Array.from({ length: c.batch }, () => rng.int(rows.length));
      const loss = trainStep(model, opt, vars, rows, idx, opts, rng);
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    dispose() {
      model.dispose();
      opt.dispose();
    },
  };
}

/** `n` training rows: histories of 1..L uniform item ids and a uniform next item. */
function syntheticRows(items: number, L: number, n: number, rng: Rng): TrainRow[] {
  return Array.from({ length: n }, () => ({
    seq: Array.from({ length: 1 + rng.int(L) }, () => rng.int(items)),
    next: rng.int(items),
  }));
}
