/**
 * The Flower training objective on one batch (docs/methods.md §A4, A5, A8):
 *   L = θ·L_SFT + (1−θ)·L_GFN
 * L_SFT = token-mean negative log-likelihood of the target titles (BIGRec), optionally with per-sample
 * weights (IFairLRS, docs/methods.md §A8: true per-sample weighting); L_GFN = modified SubTB over all pairs of
 * states of a title SAMPLED from the policy restricted to the trie (no gradient while sampling), the
 * sampled path re-scored with gradients in the same forward pass as the SFT rows.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { TrainablePolicy } from '../models/trainablePolicy';
import { getTf } from '../tensor';
import { subtbLogRewards, subtbLossTensor } from './subtb';
import { personalizeLogRewards, type PersonalizationMode } from './personalization';

/**
 * One GFN sample, ready for re-scoring: the policy-id tokens of its states' path WITHOUT a final terminal
 * (`input`, k tokens → states s_0..s_k) and log_r[0..k] (docs/methods.md §A4, personalised per A5 if asked).
 */
export interface GfnSample {
  input: number[];
  logR: number[];
}

/** A GFN sample for a trie title (the normal, constrained case). */
export function gfnSampleFromTitle(trie: PrefixTree, vocab: PolicyVocab, titleIndex: number, mode: PersonalizationMode, scale?: number): GfnSample {
  return { input: titleRows(trie, vocab, titleIndex).input, logR: pathLogRewards(trie, titleIndex, mode, scale) };
}

export interface ObjectiveBatch {
  /** History item ids per row (empty arrays for history-free fitting). */
  histories: number[][];
  /** Target title index (trie) per row for the SFT term; -1 = no SFT target for this row. */
  targets: number[];
  /** Per-sample SFT weights (IFairLRS); 1 when absent. */
  weights?: number[];
  /** GFN samples aligned with rows (absent = no GFN term). */
  samples?: GfnSample[];
}

export interface ObjectiveOptions {
  theta: number;
  personalization: PersonalizationMode;
}

/** Policy-id rows of a title: input (title tokens without the terminal) and targets (with it). */
export function titleRows(trie: PrefixTree, vocab: PolicyVocab, titleIndex: number): { input: number[]; targets: number[] } {
  const targets = vocab.encode(trie.tokens(titleIndex));
  return { input: targets.slice(0, -1), targets };
}

/**
 * docs/methods.md §A4 token log-rewards along a title's path: ℓ*_j = log R_p(y_j|s_j) for the title tokens and
 * ℓ*_⊤ for the terminal, personalised per docs/methods.md §A5 when a scale is given.
 */
export function pathLogRewards(trie: PrefixTree, titleIndex: number, mode: PersonalizationMode, scale?: number): number[] {
  const nodes = trie.path(titleIndex);
  const ell = nodes.slice(0, -1).map((v) => trie.logRp(v));
  const ellTerm = trie.logRp(nodes[nodes.length - 1]);
  const p = scale === undefined || mode === 'none' ? { ell, ellTerm } : personalizeLogRewards(mode, ell, ellTerm, scale);
  return subtbLogRewards(p.ell, p.ellTerm);
}

export interface ObjectiveValue {
  total: TF.Scalar;
  sft: TF.Scalar | null;
  gfn: TF.Scalar | null;
}

/**
 * Build the loss tensors for a batch (call inside tf.variableGrads). One forward pass over the SFT rows
 * followed by the GFN rows; padding masked in attention (policy) and in both loss terms.
 */
export function objective(policy: TrainablePolicy, trie: PrefixTree, vocab: PolicyVocab, batch: ObjectiveBatch, opts: ObjectiveOptions, dropoutSeed?: number): ObjectiveValue {
  const tf = getTf();
  const hist: number[][] = [];
  const inputs: number[][] = [];
  const targets: number[][] = [];
  const sftRows: number[] = [];
  for (let b = 0; b < batch.targets.length; b++) {
    if (batch.targets[b] < 0) continue;
    const r = titleRows(trie, vocab, batch.targets[b]);
    hist.push(batch.histories[b]);
    inputs.push(r.input);
    targets.push(r.targets);
    sftRows.push(b);
  }
  const nSft = inputs.length;
  const gfnRows: number[] = [];
  const gfnLogR: number[][] = [];
  if (batch.samples && opts.theta < 1) {
    batch.samples.forEach((s, b) => {
      if (s.logR.length !== s.input.length + 1) throw new Error(`GFN sample of ${s.input.length} tokens needs ${s.input.length + 1} log-rewards, got ${s.logR.length}`);
      hist.push(batch.histories[b]);
      inputs.push(s.input);
      targets.push([...s.input, vocab.terminal]); // the last state's entry is not used by SubTB
      gfnRows.push(b);
      gfnLogR.push(s.logR);
    });
  }
  if (inputs.length === 0) throw new Error('objective: empty batch');
  const N = inputs.length;
  const nG = gfnRows.length;
  // log π(target_t | s_t) (and log π(⊤ | s_t) for SubTB) at every state, normalised over the full
  // vocabulary (docs/methods.md §A4), from one fused log-softmax + gather (policy.logProbsAt).
  const K = nG > 0 ? 2 : 1;
  let valid = new Float32Array(0);
  const { lp, T } = policy.logProbsAt(hist, inputs, K, (T) => {
    const lab = new Int32Array(N * T * K); // padding states: label 0 (pad id), masked out below
    valid = new Float32Array(N * T);
    for (let r = 0; r < N; r++) {
      for (let t = 0; t < targets[r].length; t++) {
        lab[(r * T + t) * K] = targets[r][t];
        valid[r * T + t] = 1;
      }
    }
    if (K === 2) for (let i = 0; i < N * T; i++) lab[2 * i + 1] = vocab.terminal;
    return lab;
  }, dropoutSeed);
  const tokLp = (K === 1 ? lp : tf.slice(lp, [0, 0], [N * T, 1])).reshape([N, T]) as TF.Tensor2D;
  const validT = tf.tensor2d(valid, [N, T]);

  let sft: TF.Scalar | null = null;
  if (nSft > 0) {
    const w = new Float32Array(nSft * T);
    let count = 0;
    for (let r = 0; r < nSft; r++) {
      const wb = batch.weights ? batch.weights[sftRows[r]] : 1;
      for (let t = 0; t < T; t++) { w[r * T + t] = valid[r * T + t] * wb; count += valid[r * T + t]; }
    }
    const lp = tf.slice(tokLp, [0, 0], [nSft, T]);
    sft = tf.div(tf.neg(tf.sum(tf.mul(lp, tf.tensor2d(w, [nSft, T])))), Math.max(count, 1)) as TF.Scalar;
  }

  let gfn: TF.Scalar | null = null;
  if (nG > 0) {
    const logR = new Float32Array(nG * T);
    for (let r = 0; r < nG; r++) gfnLogR[r].forEach((v, t) => { logR[r * T + t] = v; });
    const term = tf.slice(lp, [0, 1], [N * T, 1]).reshape([N, T]);
    gfn = subtbLossTensor(
      tf.slice(tokLp, [nSft, 0], [nG, T]) as TF.Tensor2D,
      tf.slice(term, [nSft, 0], [nG, T]) as TF.Tensor2D,
      tf.tensor2d(logR, [nG, T]),
      tf.slice(validT, [nSft, 0], [nG, T]) as TF.Tensor2D,
    );
  }
  let total: TF.Scalar;
  if (sft && gfn) total = tf.add(tf.mul(sft, opts.theta), tf.mul(gfn, 1 - opts.theta)) as TF.Scalar;
  else if (sft) total = sft;
  else total = gfn!;
  return { total, sft, gfn };
}
