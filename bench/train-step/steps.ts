/**
 * One training step of the project's real models (core/models/policy.ts TransformerPolicy,
 * core/models/sasrec.ts SASRec) on synthetic batches at the sizes of configs.json, mirrored in PyTorch by
 * bench/python/train_step_torch.py. `asIs` runs the training code paths as committed: the policy's
 * `logProbsAt` (fused LayerNorm, full-vocabulary logSoftmaxGather of token + terminal, as
 * core/flower/objective.ts) and core/flower/optim.ts AdamW (fused kernel; no warmup/clipping/decay here);
 * SASRec's forward (fused LayerNorm) with core/models/train.ts's optimizer (FusedAdam, L2 as weight decay,
 * ε = backend epsilon) and its reported loss (BCE + ½·wd·‖θ‖²). `fast: true` is the earlier hand-written
 * what-if (logSoftmaxGather on the model's private members, FusedAdam, no L2 in the reported loss).
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { getTf } from '../../core/tensor';
import { logSoftmaxGather } from '../../core/tensor/ops';
import { TransformerPolicy } from '../../core/models/policy';
import { SASRec } from '../../core/models/sasrec';
import { subtbLossTensor } from '../../core/flower/subtb';
import { Rng } from '../../core/util/random';
import { FusedAdam } from '../../core/tensor/adam';
import { AdamW } from '../../core/flower/optim';
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
  const opt = fast ? new FusedAdam(1e-3, { beta1: 0.9, beta2: 0.98, epsilon: 1e-8 }) : undefined;
  const adamW = fast
    ? undefined
    : new AdamW({ lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0, warmupSteps: 0, clipNorm: 0 }, policy.weights);
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
        let tokLp: Tensor2D, termLp: Tensor2D;
        if (fused) {
          // the model's own hidden states and head weights (private members, read here for the what-if),
          // raw logits, then token / terminal log-probs by the fused kernel instead of logSoftmax + one-hot
          const p = policy as unknown as { layout(h: number[][], r: number[][]): unknown; hidden(bt: unknown, seed: number): Tensor2D };
          const h = p.hidden(p.layout([], rows), dropoutSeed++);
          const logits = tf.add(tf.matMul(h, policy.weights.headW), policy.weights['head.b']) as Tensor2D;
          // token and terminal log-probs from ONE softmax pass (labels [B*T, 2])
          const both = new Int32Array(2 * B * T);
          for (let i = 0; i < B * T; i++) {
            both[2 * i] = tgt[i];
            both[2 * i + 1] = c.terminal;
          }
          const lp = logSoftmaxGather(logits, tf.tensor2d(both, [B * T, 2], 'int32'));
          const [tk, tm] = tf.split(lp, 2, 1);
          tokLp = tf.reshape(tk, [B, T]) as Tensor2D;
          termLp = tf.reshape(tm, [B, T]) as Tensor2D;
        } else {
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
          tokLp = tf.reshape(tf.slice(lp, [0, 0], [B * T, 1]), [B, T]) as Tensor2D;
          termLp = tf.reshape(tf.slice(lp, [0, 1], [B * T, 1]), [B, T]) as Tensor2D;
        }
        const ce = tf.neg(tf.mean(tokLp));
        const valid = tf.ones([B, T]) as Tensor2D;
        return tf.add(ce, subtbLossTensor(tokLp, termLp, tf.tensor2d(logR, [B, T]), valid)) as never;
      };
      if (opt) {
        const loss = tf.tidy(() => opt.minimize(lossFn, true, vars)!);
        const v = loss.dataSync()[0];
        loss.dispose();
        return v;
      }
      // as core/flower/train.ts: variableGrads, named gradients, AdamW.apply
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const named: Record<string, Tensor> = {};
      for (const [k, g] of Object.entries(grads)) named[nameOf.get(k) ?? k] = g;
      adamW!.apply(named);
      const v = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return v;
    },
    dispose() {
      policy.dispose();
      opt?.dispose();
      adamW?.dispose();
    },
  };
}

/** SASRec (docs/methods.md §C) BCE step: next item vs one uniform negative at len-1, L2 weight decay (as core/models/train.ts). */
export function sasrecStep(seed = 0, fast = false): StepRunner {
  const tf = getTf();
  const c = cfgs.sasrec;
  const rng = new Rng(seed);
  const model = new SASRec({ model: 'sasrec', numItems: c.items, maxLen: c.L, hidden: c.hidden, dropout: c.dropout }, rng);
  const vars = [...model.params.values()];
  const opt = fast
    ? new FusedAdam(1e-3, { weightDecay: c.weightDecay })
    : new FusedAdam(1e-3, { beta1: 0.9, beta2: 0.999, epsilon: tf.backend().epsilon(), weightDecay: c.weightDecay });
  const B = c.batch,
    L = c.L,
    pad = c.items;
  return {
    params: model.size,
    step() {
      const seq = new Int32Array(B * L).fill(pad),
        lens = new Int32Array(B),
        pos = new Int32Array(B),
        neg = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        lens[b] = 1 + rng.int(L);
        for (let t = 0; t < lens[b]; t++) seq[b * L + t] = rng.int(c.items);
        pos[b] = rng.int(c.items);
        do neg[b] = rng.int(c.items);
        while (neg[b] === pos[b]);
      }
      const loss = tf.tidy(() => {
        const s = tf.tensor2d(seq, [B, L], 'int32'),
          l = tf.tensor1d(lens, 'int32');
        const p = tf.tensor1d(pos, 'int32'),
          n = tf.tensor1d(neg, 'int32');
        let l2: Tensor | undefined;
        if (!fast) {
          // core/models/train.ts reports BCE + ½·wd·‖θ‖² (its gradient is the optimizer's weight decay)
          l2 = tf.scalar(0);
          for (const v of vars) l2 = tf.add(l2, tf.sum(tf.square(v)));
          l2 = tf.mul(l2, 0.5 * c.weightDecay);
        }
        const data = opt.minimize(
          () => {
            const rep = model.represent(s, l, true, rng);
            return tf.mean(tf.add(tf.softplus(tf.neg(model.logitsFor(rep, p))), tf.softplus(model.logitsFor(rep, n)))) as never;
          },
          true,
          vars,
        )!;
        return l2 ? tf.add(data, l2) : data;
      });
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
