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
export function gfnSampleFromTitle(
  trie: PrefixTree,
  vocab: PolicyVocab,
  titleIndex: number,
  mode: PersonalizationMode,
  scale?: number,
): GfnSample {
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
  /**
   * Normalise the GFN term's log π(y|s) and log π(⊤|s) over the tree's children of each state plus the
   * terminal instead of the full vocabulary (off = docs/methods.md §A4, the reference). Needs samples on the tree.
   */
  gfnChildrenOnly?: boolean;
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
  /**
   * Mean over the GFN rows' states of the policy's full-vocabulary probability of the tree's children
   * plus the terminal (1 = the policy never leaves the tree); null without GFN rows.
   */
  onTreeMass: TF.Scalar | null;
}

/**
 * Policy ids of the allowed next tokens at each state s_0..s_k of a path (the tree's children + the
 * terminal); null for a state off the tree (an unconstrained sample).
 */
export function stateChildren(trie: PrefixTree, vocab: PolicyVocab, input: number[]): (number[] | null)[] {
  const out: (number[] | null)[] = [];
  let node = 0;
  for (let t = 0; t <= input.length; t++) {
    if (node < 0) {
      out.push(null);
      continue;
    }
    const ids = new Set<number>([vocab.terminal]);
    for (let c = trie.childStart[node], e = c + trie.childCount[node]; c < e; c++) {
      const p = vocab.toPolicy(trie.token[c]);
      if (p >= 0) ids.add(p);
    }
    out.push([...ids]);
    if (t < input.length) node = trie.child(node, vocab.toTokenizer(input[t]));
  }
  return out;
}

/** Token log-prob rows of `rows` (padding masked): [N, T] log π(target_t | s_t), valid mask, and the policy's extra gathers. */
function rowLogProbs(
  policy: TrainablePolicy,
  hist: number[][],
  inputs: number[][],
  targets: number[][],
  extra: (r: number, t: number) => number[],
  K: number,
  dropoutSeed?: number,
) {
  const tf = getTf();
  const N = inputs.length;
  let valid = new Float32Array(0);
  const { lp, T } = policy.logProbsAt(
    hist,
    inputs,
    K,
    (T) => {
      const lab = new Int32Array(N * T * K); // padding states and unused slots: label 0 (pad id), masked out below
      valid = new Float32Array(N * T);
      for (let r = 0; r < N; r++) {
        for (let t = 0; t < targets[r].length; t++) {
          const i = (r * T + t) * K;
          lab[i] = targets[r][t];
          valid[r * T + t] = 1;
          if (K > 1)
            extra(r, t).forEach((id, k) => {
              lab[i + 1 + k] = id;
            });
        }
      }
      return lab;
    },
    dropoutSeed,
  );
  const tokLp = (K === 1 ? lp : tf.slice(lp, [0, 0], [N * T, 1])).reshape([N, T]) as TF.Tensor2D;
  return { lp, T, tokLp, valid };
}

/**
 * Build the loss tensors for a batch (call inside tf.variableGrads). SFT rows and GFN rows are two forward
 * passes: the SFT rows with dropout when `dropoutSeed` is given (training mode), the GFN rows always
 * without, because their titles were sampled without dropout (KV-cache sampling in eval mode) and SubTB
 * needs log π of the distribution that sampled them. (The reference samples and scores in one
 * training-mode pass, dropout on for both; the point that matters, sampling and scoring by the same π,
 * holds in both.) log π is normalised over the full vocabulary (docs/methods.md §A4) unless `gfnChildrenOnly`.
 */
export function objective(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  batch: ObjectiveBatch,
  opts: ObjectiveOptions,
  dropoutSeed?: number,
): ObjectiveValue {
  const tf = getTf();
  const sHist: number[][] = [];
  const sIn: number[][] = [];
  const sTg: number[][] = [];
  const sftRows: number[] = [];
  for (let b = 0; b < batch.targets.length; b++) {
    if (batch.targets[b] < 0) continue;
    const r = titleRows(trie, vocab, batch.targets[b]);
    sHist.push(batch.histories[b]);
    sIn.push(r.input);
    sTg.push(r.targets);
    sftRows.push(b);
  }
  const gHist: number[][] = [];
  const gIn: number[][] = [];
  const gTg: number[][] = [];
  const gLogR: number[][] = [];
  if (batch.samples && opts.theta < 1) {
    batch.samples.forEach((s, b) => {
      if (s.logR.length !== s.input.length + 1)
        throw new Error(`GFN sample of ${s.input.length} tokens needs ${s.input.length + 1} log-rewards, got ${s.logR.length}`);
      gHist.push(batch.histories[b]);
      gIn.push(s.input);
      gTg.push([...s.input, vocab.terminal]); // the last state's entry is not used by SubTB
      gLogR.push(s.logR);
    });
  }
  if (sIn.length === 0 && gIn.length === 0) throw new Error('objective: empty batch');

  let sft: TF.Scalar | null = null;
  const nSft = sIn.length;
  if (nSft > 0) {
    const { tokLp, T, valid } = rowLogProbs(policy, sHist, sIn, sTg, () => [], 1, dropoutSeed);
    const w = new Float32Array(nSft * T);
    let count = 0;
    for (let r = 0; r < nSft; r++) {
      const wb = batch.weights ? batch.weights[sftRows[r]] : 1;
      for (let t = 0; t < T; t++) {
        w[r * T + t] = valid[r * T + t] * wb;
        count += valid[r * T + t];
      }
    }
    sft = tf.div(tf.neg(tf.sum(tf.mul(tokLp, tf.tensor2d(w, [nSft, T])))), Math.max(count, 1)) as TF.Scalar;
  }

  let gfn: TF.Scalar | null = null;
  let onTreeMass: TF.Scalar | null = null;
  const nG = gIn.length;
  if (nG > 0) {
    // per state: [target, terminal, children + terminal (C slots, masked)] — log π at the full vocabulary
    const kids = gIn.map((inp) => stateChildren(trie, vocab, inp));
    if (opts.gfnChildrenOnly && kids.some((k) => k.includes(null)))
      throw new Error('gfnChildrenOnly: a GFN sample leaves the tree (only tree-constrained samples can be normalised over the children)');
    let C = 1;
    for (const k of kids) for (const st of k) C = Math.max(C, st?.length ?? 0);
    const K = 2 + C;
    const { lp, T, tokLp, valid } = rowLogProbs(policy, gHist, gIn, gTg, (r, t) => [vocab.terminal, ...(kids[r][t] ?? [])], K);
    const mask = new Float32Array(nG * T * C).fill(-1e30);
    for (let r = 0; r < nG; r++)
      for (let t = 0; t < T; t++) {
        // padding states: one open slot (masked out of the loss by `valid`); off-tree states: none (mass 0)
        const st = t < kids[r].length ? (kids[r][t] ?? []) : [vocab.pad];
        for (let k = 0; k < st.length; k++) mask[(r * T + t) * C + k] = 0;
      }
    const logZ = tf.logSumExp(tf.add(tf.slice(lp, [0, 2], [nG * T, C]), tf.tensor2d(mask, [nG * T, C])), 1).reshape([nG, T]) as TF.Tensor2D;
    const validT = tf.tensor2d(valid, [nG, T]);
    onTreeMass = tf.div(
      tf.sum(tf.mul(tf.exp(logZ), validT)),
      Math.max(
        1,
        valid.reduce((a, v) => a + v, 0),
      ),
    ) as TF.Scalar;
    let term = tf.slice(lp, [0, 1], [nG * T, 1]).reshape([nG, T]) as TF.Tensor2D;
    let tok = tokLp;
    if (opts.gfnChildrenOnly) {
      tok = tf.sub(tokLp, logZ);
      term = tf.sub(term, logZ);
    }
    const logR = new Float32Array(nG * T);
    for (let r = 0; r < nG; r++)
      gLogR[r].forEach((v, t) => {
        logR[r * T + t] = v;
      });
    gfn = subtbLossTensor(tok, term, tf.tensor2d(logR, [nG, T]), validT);
  }
  let total: TF.Scalar;
  if (sft && gfn) total = tf.add(tf.mul(sft, opts.theta), tf.mul(gfn, 1 - opts.theta)) as TF.Scalar;
  else if (sft) total = sft;
  else total = gfn!;
  return { total, sft, gfn, onTreeMass };
}
