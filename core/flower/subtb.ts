/**
 * Modified sub-trajectory balance without a learned log Z (docs/methods.md §A4).
 *
 * For a sampled path y_0 … y_{k-1}, terminal ⊤ at step k, states s_0 … s_k:
 *   log_r[t] = −15 + Σ_{j<t} ℓ*_j              (t < k)
 *   log_r[k] = Σ_{j<k} ℓ*_j + ℓ*_⊤
 *   log F(s_t) = log_r[t] − log π(⊤ | s_t)
 *   res(m,n) = log F(s_m) + Σ_{t=m}^{n-1} log π(y_t | s_t) − log F(s_n),   all 0 ≤ m < n ≤ k
 *   L_GFN = mean of res² over all valid pairs in the batch.
 *
 * Writing D_t = log F(s_t) − Σ_{j<t} log π(y_j|s_j) gives res(m,n) = D_m − D_n, so the sum over all
 * pairs of one path is n·Σ(D_t − mean D)² with n = k+1 states: O(k) instead of O(k²), exact.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { getTf } from '../tensor';

/** The constant log-reward of a non-terminal state (docs/methods.md §A4). */
export const NON_TERMINAL_LOG_R = -15;

/** docs/methods.md §A4: log_r[0..k] from the token log-rewards ℓ*_0..ℓ*_{k-1} and ℓ*_⊤. */
export function subtbLogRewards(ell: number[], ellTerm: number): number[] {
  const k = ell.length;
  const out: number[] = [];
  let cum = 0;
  for (let t = 0; t < k; t++) {
    out.push(NON_TERMINAL_LOG_R + cum);
    cum += ell[t];
  }
  out.push(cum + ellTerm);
  return out;
}

/** docs/methods.md §A4: log F(s_t) = log_r[t] − log π(⊤|s_t), t = 0..k. */
export function subtbLogFlows(logR: number[], logPiTerm: number[]): number[] {
  return logR.map((r, t) => r - logPiTerm[t]);
}

/**
 * docs/methods.md §A4 residual res(m,n) for one path, plain numbers (reference implementation used by tests):
 * logPiTok[t] = log π(y_t|s_t) for t < k; logPiTerm[t] = log π(⊤|s_t) for t ≤ k.
 */
export function subtbResidual(logR: number[], logPiTok: number[], logPiTerm: number[], m: number, n: number): number {
  const logF = subtbLogFlows(logR, logPiTerm);
  let s = logF[m];
  for (let t = m; t < n; t++) s += logPiTok[t];
  return s - logF[n];
}

/** docs/methods.md §A4 L_GFN by the literal double loop over all pairs 0 ≤ m < n ≤ k of every path (reference). */
export function subtbLossReference(paths: { logR: number[]; logPiTok: number[]; logPiTerm: number[] }[]): { loss: number; pairs: number } {
  let sum = 0;
  let pairs = 0;
  for (const p of paths) {
    const k = p.logPiTok.length;
    for (let m = 0; m < k; m++) {
      for (let n = m + 1; n <= k; n++) {
        const r = subtbResidual(p.logR, p.logPiTok, p.logPiTerm, m, n);
        sum += r * r;
        pairs++;
      }
    }
  }
  return { loss: pairs > 0 ? sum / pairs : 0, pairs };
}

/**
 * docs/methods.md §A4 L_GFN on tensors (differentiable in tokLp and termLp). Layout [B, W] with W ≥ k_b+1:
 *  tokLp[b,t]  = log π(y_t | s_t) for t < k_b (entries t ≥ k_b are ignored),
 *  termLp[b,t] = log π(⊤ | s_t) for t ≤ k_b,
 *  logR[b,t]   = log_r[t] for t ≤ k_b (constant),
 *  valid[b,t]  = 1 for t ≤ k_b else 0 (padding masked).
 * Returns the mean of res² over all valid pairs of all rows (0 when no row has a pair).
 */
export function subtbLossTensor(tokLp: TF.Tensor2D, termLp: TF.Tensor2D, logR: TF.Tensor2D, valid: TF.Tensor2D): TF.Scalar {
  const tf = getTf();
  const W = tokLp.shape[1];
  // C[b,t] = Σ_{j<t} tokLp[b,j], by a constant strictly-upper-triangular matrix (2-D matMul).
  const tri = new Float32Array(W * W);
  for (let j = 0; j < W; j++) for (let t = j + 1; t < W; t++) tri[j * W + t] = 1;
  // Zero the ignored entries first so padding (possibly -inf-ish values) cannot leak into C.
  const tokMasked = tf.mul(tokLp, valid);
  const C = tf.matMul(tokMasked, tf.tensor2d(tri, [W, W]));
  const D = tf.mul(tf.sub(tf.sub(logR, termLp), C), valid); // D_t on valid states, 0 elsewhere
  const n = tf.sum(valid, 1, true); // states per row = k+1
  const mean = tf.div(tf.sum(D, 1, true), tf.maximum(n, 1));
  const dev = tf.mul(tf.sub(D, mean), valid);
  const perRow = tf.mul(n, tf.sum(tf.square(dev), 1, true)); // Σ_{m<n} (D_m − D_n)²
  const nv = n.dataSync();
  let pairs = 0;
  for (const c of nv) pairs += (c * (c - 1)) / 2;
  return tf.div(tf.sum(perRow), Math.max(pairs, 1)) as TF.Scalar;
}
