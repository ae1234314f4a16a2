/**
 * Gradient accumulation (docs/methods.md §A6: the released trainer's batch 256 = micro-batch 8 ×
 * accumulation 32): one optimizer step's rows are cut into consecutive micro-batches, each micro-batch's
 * loss is differentiated on its own (so only one micro-batch's activations are alive at a time), and the
 * gradients are summed with weight rows_m / rows_batch. With equal micro-batches that is the mean of the
 * micro-batch losses — what the Hugging Face Trainer optimises (loss / accumulation steps per micro-batch);
 * a shorter last micro-batch weighs less. A single micro-batch (micro-batch ≥ batch) is the plain step,
 * bit for bit. Policy-agnostic: the caller builds each micro-batch's loss.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { getTf } from '../tensor';

/** One micro-batch's loss terms (core/flower/objective ObjectiveValue); null = nothing to train on in these rows. */
export interface MicroLoss {
  total: TF.Scalar;
  sft: TF.Scalar | null;
  gfn: TF.Scalar | null;
}

export interface AccumulatedStep {
  /** Weighted loss over the micro-batches (= the batch loss when there is one). */
  total: number;
  /** Weighted SFT / GFN terms over the micro-batches that have them (NaN when none has). */
  sft: number;
  gfn: number;
  /** Gradients keyed by tf variable name (as tf.variableGrads); the caller disposes them. */
  grads: Record<string, TF.Tensor>;
  micro: number;
}

/** Consecutive [lo, hi) row ranges of at most `micro` rows covering 0..n-1 (one range when micro ≤ 0 or ≥ n). */
export function microRanges(n: number, micro: number): [number, number][] {
  const m = micro > 0 && micro < n ? micro : n;
  const out: [number, number][] = [];
  for (let lo = 0; lo < n; lo += m) out.push([lo, Math.min(n, lo + m)]);
  return out;
}

/**
 * Differentiate `loss(lo, hi, index)` (built inside the gradient scope) for every micro-batch range of
 * `n` rows and sum the gradients with weight (hi − lo)/n over the micro-batches that return a loss.
 */
export function accumulatedGrads(
  varList: TF.Variable[],
  n: number,
  microBatch: number,
  loss: (lo: number, hi: number, index: number) => MicroLoss | null,
): AccumulatedStep {
  const tf = getTf();
  const ranges = microRanges(n, microBatch);
  let grads: Record<string, TF.Tensor> | null = null;
  let total = 0,
    sft = 0,
    sftW = 0,
    gfn = 0,
    gfnW = 0,
    wSum = 0;
  ranges.forEach(([lo, hi], index) => {
    let parts: (TF.Scalar | null)[] = [];
    let empty = false;
    const r = tf.variableGrads(() => {
      const o = loss(lo, hi, index);
      if (!o) {
        empty = true;
        return tf.scalar(0);
      }
      parts = [o.sft ? tf.keep(o.sft) : null, o.gfn ? tf.keep(o.gfn) : null];
      return o.total;
    }, varList);
    const [s, g] = parts.map((p) => (p ? p.dataSync()[0] : NaN));
    const v = r.value.dataSync()[0];
    tf.dispose([r.value, ...parts.filter((p): p is TF.Scalar => p !== null)]);
    if (empty) {
      tf.dispose(Object.values(r.grads));
      return;
    }
    const w = ranges.length === 1 ? 1 : (hi - lo) / n;
    wSum += w;
    total += w * v;
    if (!Number.isNaN(s)) {
      sft += w * s;
      sftW += w;
    }
    if (!Number.isNaN(g)) {
      gfn += w * g;
      gfnW += w;
    }
    if (grads === null) {
      if (w === 1) grads = r.grads;
      else {
        grads = tf.tidy(() => Object.fromEntries(Object.entries(r.grads).map(([k, t]) => [k, tf.mul(t, w)])));
        tf.dispose(Object.values(r.grads));
      }
    } else {
      const acc: Record<string, TF.Tensor> = grads;
      const next = tf.tidy(() =>
        Object.fromEntries(Object.entries(acc).map(([k, t]) => [k, r.grads[k] ? tf.add(t, tf.mul(r.grads[k], w)) : t.clone()])),
      );
      tf.dispose([...Object.values(acc), ...Object.values(r.grads)]);
      grads = next;
    }
  });
  if (grads === null) throw new Error('objective: empty batch (no SFT target and no GFN sample in any micro-batch)');
  return { total: wSum > 0 ? total : NaN, sft: sftW > 0 ? sft / sftW : NaN, gfn: gfnW > 0 ? gfn / gfnW : NaN, grads, micro: ranges.length };
}
