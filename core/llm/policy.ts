/**
 * The causal LM as a Flower policy (docs/methods.md §A6b): the "history" of a row is its PROMPT's token ids
 * (outside the prefix tree) and its tokens are MODEL token ids. The methods mirror the from-scratch
 * TransformerPolicy (core/models/policy.ts), so objectives and decoders drive either:
 * - `logProbsAt(prompts, rows, K, labels)` (training: full-vocabulary log π at chosen tokens, §A4),
 * - `nextLogProbs(prompts, prefixes)` (core/decode StepPolicy, stateless),
 * - `startSession(prompts)` (core/decode SessionPolicy, per-layer KV cache, core/models/policySession.ts),
 * - `completionLogProbs(prompts, completions)` (`flowloop lm score`).
 * All log-probs are normalised over the model's FULL vocabulary (config.json vocab_size).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { SessionPolicy, SessionStart } from '../decode';
import { getTf } from '../tensor';
import { logSoftmaxGather } from '../tensor/ops';
import { layoutRows, type SeqLayout } from './layout';
import type { CausalLM } from './model';
import { PolicySession, type SessionModel } from '../models/policySession';
import { emptyCaches } from '../models/attention';
import type { LogProbsAt } from '../models/trainablePolicy';

/** log softmax of one row of logits, in place (max and log-sum-exp in double precision). */
export function logSoftmaxInPlace(x: Float32Array): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  const lse = m + Math.log(s);
  for (let i = 0; i < x.length; i++) x[i] -= lse;
  return x;
}

export class LmPolicy implements SessionPolicy, SessionModel {
  /** Rows of logits materialised at once when downloading full-vocabulary log-probs. */
  readonly headChunk: number;
  constructor(
    readonly lm: CausalLM,
    readonly padId: number,
  ) {
    this.headChunk = Math.max(1, Math.floor((1 << 25) / lm.cfg.vocabSize));
  }

  get vocabSize(): number {
    return this.lm.cfg.vocabSize;
  }

  /** Hidden rows [B*T, D] of the token states: row b*T+t = state after prompt b and rows[b][0..t-1]. */
  private stateHidden(lay: SeqLayout, T: number, dropoutSeed?: number): TF.Tensor2D {
    const tf = getTf();
    const h = this.lm.hidden(lay, { dropoutSeed });
    const idx = new Int32Array(lay.B * T);
    for (let b = 0; b < lay.B; b++) for (let t = 0; t < T; t++) idx[b * T + t] = b * lay.L + lay.P - 1 + t;
    return tf.gather(h, tf.tensor1d(idx, 'int32')) as TF.Tensor2D;
  }

  private checkPrompts(prompts: number[][]): void {
    prompts.forEach((p, i) => {
      if (!p.length) throw new Error(`row ${i}: empty prompt (the causal LM needs at least one prompt token)`);
    });
  }

  /**
   * Full-vocabulary log-probs at chosen tokens: lp[b*T+t, k] = log π(labels[(b*T+t)*K+k] | prompt_b,
   * rows[b][0..t-1]), T = longest row + 1 (the TransformerPolicy.logProbsAt contract). Labels outside
   * [0, V) give 0 and no gradient. Call inside a tidy / gradient scope; `dropoutSeed` = training mode.
   */
  logProbsAt(...[prompts, rows, K, labels, dropoutSeed]: Parameters<LogProbsAt>): ReturnType<LogProbsAt> {
    const tf = getTf();
    this.checkPrompts(prompts);
    let T = 1;
    for (const r of rows) T = Math.max(T, r.length + 1);
    const lay = layoutRows(prompts, rows, this.padId, T - 1);
    const N = lay.B * T;
    const lab = labels(T);
    if (lab.length !== N * K) throw new Error(`logProbsAt: ${lab.length} labels for ${N} states x ${K}`);
    const lp = logSoftmaxGather(this.lm.logits(this.stateHidden(lay, T, dropoutSeed)), tf.tensor2d(lab, [N, K], 'int32'));
    return { lp, T, lens: rows.map((r) => r.length + 1) };
  }

  /** Full-vocabulary log-probs [B*T, V] at every state (as logProbsAt, all tokens). Call inside a tidy. */
  logProbsAll(prompts: number[][], rows: number[][], dropoutSeed?: number): { logp: TF.Tensor2D; T: number; lens: number[] } {
    this.checkPrompts(prompts);
    let T = 1;
    for (const r of rows) T = Math.max(T, r.length + 1);
    const lay = layoutRows(prompts, rows, this.padId, T - 1);
    return {
      logp: getTf().logSoftmax(this.lm.logits(this.stateHidden(lay, T, dropoutSeed))) as TF.Tensor2D,
      T,
      lens: rows.map((r) => r.length + 1),
    };
  }

  /**
   * Full-vocabulary log-probs of hidden rows [N, D], downloaded per chunk. The normaliser is summed in
   * double precision here: a float32 sum over 151,936 logits (tfjs logSoftmax on wasm) is off by ~6e-5.
   * Does not dispose `h`.
   */
  async headChunks(h: TF.Tensor2D): Promise<Float32Array[]> {
    const tf = getTf();
    const [N, D] = h.shape;
    const V = this.vocabSize;
    const out: Float32Array[] = [];
    for (let s = 0; s < N; s += this.headChunk) {
      const n = Math.min(this.headChunk, N - s);
      const t = tf.tidy(() => this.lm.logits(tf.slice(h, [s, 0], [n, D])));
      const data = (await t.data()) as Float32Array;
      t.dispose();
      for (let b = 0; b < n; b++) out.push(logSoftmaxInPlace(data.subarray(b * V, (b + 1) * V)));
    }
    return out;
  }

  /** StepPolicy: full-vocabulary log-probs of the next token after prompt b + prefixes[b] (stateless). */
  async nextLogProbs(prompts: number[][], prefixes: number[][]): Promise<Float32Array[]> {
    const tf = getTf();
    this.checkPrompts(prompts);
    const out: Float32Array[] = [];
    const chunk = 64;
    for (let s = 0; s < prefixes.length; s += chunk) {
      const ps = prefixes.slice(s, s + chunk);
      const lay = layoutRows(prompts.slice(s, s + chunk), ps, this.padId);
      const h = tf.tidy(() => {
        const all = this.lm.hidden(lay, { inference: true });
        const idx = Int32Array.from(ps, (p, b) => b * lay.L + lay.P - 1 + p.length);
        return tf.gather(all, tf.tensor1d(idx, 'int32')) as TF.Tensor2D;
      });
      try {
        out.push(...(await this.headChunks(h)));
      } finally {
        h.dispose();
      }
    }
    return out;
  }

  /** SessionPolicy: run the prompts once, keep every layer's K/V; states start with empty prefixes (core/models/policySession.ts). */
  async startSession(prompts: number[][]): Promise<SessionStart> {
    const tf = getTf();
    this.checkPrompts(prompts);
    const lay = layoutRows(prompts, undefined, this.padId);
    const start = tf.tidy(() => {
      const kv = emptyCaches();
      const h = this.lm.hidden(lay, { kv, inference: true });
      const idx = Int32Array.from({ length: lay.B }, (_, b) => b * lay.L + lay.L - 1);
      return { hidden: tf.gather(h, tf.tensor1d(idx, 'int32')) as TF.Tensor2D, ...kv };
    });
    return PolicySession.open(
      this,
      start,
      lay.leftPad,
      Int32Array.from(prompts, (p) => p.length),
    );
  }

  /** SessionModel: one incremental step of the causal LM (positions count real tokens, as in `hidden`). */
  stepHidden(...step: Parameters<SessionModel['stepHidden']>): ReturnType<SessionModel['stepHidden']> {
    return this.lm.stepHidden(...step);
  }

  /**
   * Σ_t log π(c_t | prompt, c_<t) over the FULL vocabulary for each (prompt, completion) row, batched
   * (prompts left-padded, completions right-padded, attention mask over padding). `batch` rows at once.
   */
  async completionLogProbs(prompts: number[][], completions: number[][], batch = 8): Promise<{ logprob: number; tokens: number }[]> {
    const tf = getTf();
    this.checkPrompts(prompts);
    const out: { logprob: number; tokens: number }[] = [];
    for (let s = 0; s < prompts.length; s += batch) {
      const ps = prompts.slice(s, s + batch);
      const cs = completions.slice(s, s + batch);
      const lay = layoutRows(ps, cs, this.padId);
      const idx: number[] = [];
      const lab: number[] = [];
      cs.forEach((c, b) =>
        c.forEach((tok, t) => {
          idx.push(b * lay.L + lay.P - 1 + t);
          lab.push(tok);
        }),
      );
      let sums = cs.map(() => 0);
      if (idx.length) {
        const lp = tf.tidy(() => {
          const h = tf.gather(this.lm.hidden(lay, { inference: true }), tf.tensor1d(Int32Array.from(idx), 'int32')) as TF.Tensor2D;
          return logSoftmaxGather(this.lm.logits(h), tf.tensor1d(Int32Array.from(lab), 'int32'));
        });
        const v = (await lp.data()) as Float32Array;
        lp.dispose();
        let k = 0;
        sums = cs.map((c) => {
          let a = 0;
          for (let t = 0; t < c.length; t++) a += v[k++];
          return a;
        });
      }
      cs.forEach((c, b) => out.push({ logprob: sums[b], tokens: c.length }));
    }
    return out;
  }
}
