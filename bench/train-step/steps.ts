/**
 * One training step of the project's real models (core/models/policy.ts TransformerPolicy,
 * core/models/sasrec.ts SASRec) on synthetic batches at the sizes of configs.json, mirrored in PyTorch by
 * bench/python/train_step_torch.py. `fast: true` keeps the models' forward code but computes the policy's
 * token log-probs with core/tensor's logSoftmaxGather (instead of the model's full logSoftmax + one-hot
 * product) and updates with core/tensor's FusedAdam (SASRec's L2 as Adam weight decay, like PyTorch's
 * weight_decay, instead of a loss term): what the model code gains by switching to Flowloop's fused ops.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { getTf } from '../../core/tensor';
import { logSoftmaxGather } from '../../core/tensor/ops';
import { TransformerPolicy } from '../../core/models/policy';
import { SASRec } from '../../core/models/sasrec';
import { subtbLossTensor } from '../../core/flower/subtb';
import { Rng } from '../../core/util/random';
import { FusedAdam } from '../../core/tensor/adam';
import cfgs from './configs.json';

export interface StepRunner {
  params: number;
  /** Runs one Adam step on a fresh synthetic batch; returns the loss. */
  step(): number;
  dispose(): void;
}

/** Flower policy: logProbsAll → token CE + SubTB (core/flower/subtb.ts) over all states of each row. */
export function policyStep(seed = 0, fast = false): StepRunner {
  const fused = fast;
  const tf = getTf();
  const c = cfgs.policy;
  const policy = new TransformerPolicy({
    vocabSize: c.vocab, numItems: 0, dModel: c.dModel, layers: c.layers, heads: c.heads, ffn: c.ffn,
    maxHistory: 0, maxTokens: c.T, dropout: c.dropout, padId: 0, bosId: 1,
  }, seed);
  const vars = policy.names.map((n) => policy.weights[n]);
  const opt = fast ? new FusedAdam(1e-3, { beta1: 0.9, beta2: 0.98, epsilon: 1e-8 }) : tf.train.adam(1e-3, 0.9, 0.98, 1e-8);
  const rng = new Rng(seed + 1);
  const B = c.batch, T = c.T, V = c.vocab;
  let dropoutSeed = 1;
  return {
    params: policy.paramCount(),
    step() {
      const rows = Array.from({ length: B }, () => Array.from({ length: T - 1 }, () => 3 + rng.int(V - 3)));
      const tgt = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) tgt[b * T + t] = t < T - 1 ? rows[b][t] : c.terminal;
      const logR = Float32Array.from({ length: B * T }, () => -10 * rng.next());
      const loss = tf.tidy(() => opt.minimize(() => {
        let tokLp: Tensor2D, termLp: Tensor2D;
        if (fused) {
          // the model's own hidden states and head weights (private members, read here for the what-if),
          // raw logits, then token / terminal log-probs by the fused kernel instead of logSoftmax + one-hot
          const p = policy as unknown as { layout(h: number[][], r: number[][]): unknown; hidden(bt: unknown, seed: number): Tensor2D };
          const h = p.hidden(p.layout([], rows), dropoutSeed++);
          const logits = tf.add(tf.matMul(h, policy.weights.headW), policy.weights['head.b']) as Tensor2D;
          // token and terminal log-probs from ONE softmax pass (labels [B*T, 2])
          const both = new Int32Array(2 * B * T);
          for (let i = 0; i < B * T; i++) { both[2 * i] = tgt[i]; both[2 * i + 1] = c.terminal; }
          const lp = logSoftmaxGather(logits, tf.tensor2d(both, [B * T, 2], 'int32'));
          const [tk, tm] = tf.split(lp, 2, 1);
          tokLp = tf.reshape(tk, [B, T]) as Tensor2D;
          termLp = tf.reshape(tm, [B, T]) as Tensor2D;
        } else {
          const { logp } = policy.logProbsAll([], rows, dropoutSeed++);
          tokLp = tf.reshape(tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(tgt, 'int32'), V)), 1), [B, T]) as Tensor2D;
          termLp = tf.reshape(tf.slice(logp, [0, c.terminal], [B * T, 1]), [B, T]) as Tensor2D;
        }
        const ce = tf.neg(tf.mean(tokLp));
        const valid = tf.ones([B, T]) as Tensor2D;
        return tf.add(ce, subtbLossTensor(tokLp, termLp, tf.tensor2d(logR, [B, T]), valid)) as never;
      }, true, vars)!);
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    dispose() { policy.dispose(); opt.dispose(); },
  };
}

/** SASRec (SASREC.md) BCE step: next item vs one uniform negative at len-1, L2 weight decay in the loss. */
export function sasrecStep(seed = 0, fast = false): StepRunner {
  const tf = getTf();
  const c = cfgs.sasrec;
  const rng = new Rng(seed);
  const model = new SASRec({ model: 'sasrec', numItems: c.items, maxLen: c.L, hidden: c.hidden, dropout: c.dropout }, rng);
  const vars = [...model.params.values()];
  const opt = fast ? new FusedAdam(1e-3, { weightDecay: c.weightDecay }) : tf.train.adam(1e-3);
  const B = c.batch, L = c.L, pad = c.items;
  return {
    params: model.size,
    step() {
      const seq = new Int32Array(B * L).fill(pad), lens = new Int32Array(B), pos = new Int32Array(B), neg = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        lens[b] = 1 + rng.int(L);
        for (let t = 0; t < lens[b]; t++) seq[b * L + t] = rng.int(c.items);
        pos[b] = rng.int(c.items);
        do neg[b] = rng.int(c.items); while (neg[b] === pos[b]);
      }
      const loss = tf.tidy(() => {
        const s = tf.tensor2d(seq, [B, L], 'int32'), l = tf.tensor1d(lens, 'int32');
        const p = tf.tensor1d(pos, 'int32'), n = tf.tensor1d(neg, 'int32');
        return opt.minimize(() => {
          const rep = model.represent(s, l, true, rng);
          let loss: Tensor = tf.mean(tf.add(tf.softplus(tf.neg(model.logitsFor(rep, p))), tf.softplus(model.logitsFor(rep, n))));
          if (!fast) {
            let l2: Tensor = tf.scalar(0);
            for (const v of vars) l2 = tf.add(l2, tf.sum(tf.square(v)));
            loss = tf.add(loss, tf.mul(l2, 0.5 * c.weightDecay));
          }
          return loss as never;
        }, true, vars)!;
      });
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    dispose() { model.dispose(); opt.dispose(); },
  };
}
