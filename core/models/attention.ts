/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1: softmax(Q Kᵀ / √d_h + mask) V) with grouped-query heads
 * (each key/value head serves heads/kvHeads query heads; heads = kvHeads is plain multi-head attention) and an optional
 * key/value cache. The one attention of both transformers: the Flower policy trained from scratch (core/models/policy.ts,
 * docs/methods.md §A6) and the pretrained causal LM (core/llm/model.ts, §A6b), in their training forward and in
 * incremental decoding (core/models/policySession.ts).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { getTf } from '../tensor';

/** The keys/values of earlier positions of one layer, [states, kvHeads, slots, headDim]. */
export interface KvCache {
  K: TF.Tensor4D;
  V: TF.Tensor4D;
  /** Cache row each new row continues (beams that branch or end); undefined: row i continues row i. */
  parents?: TF.Tensor1D;
}

/**
 * Every layer's keys and values, [states, kvHeads, slots, headDim] each: what a forward collects (the prefix of
 * every state) and what a decoding session keeps between steps (core/models/policySession.ts), for both policies.
 */
export interface LayerCaches {
  K: TF.Tensor4D[];
  V: TF.Tensor4D[];
}

/** An empty LayerCaches for a forward to push each layer's keys/values into. */
export function emptyCaches(): LayerCaches {
  return { K: [], V: [] };
}

/** Layer `l`'s cache, each new row continuing cache row `parents[i]` (undefined: row i). */
export function layerCache(caches: LayerCaches, l: number, parents?: TF.Tensor1D): KvCache {
  return { K: caches.K[l], V: caches.V[l], parents };
}

/**
 * q [B, heads, Lq, dh], k and v [B, kvHeads, Lq, dh] (the new positions); `mask` additive, broadcastable to
 * [B, heads, Lq, Lk] where Lk = cached slots + Lq. Returns the heads merged per position, [B*Lq, heads*dh] (row
 * b*Lq+i = position i of row b), and the keys/values of all Lk slots (the cache of the next step).
 */
export function attend(
  q: TF.Tensor4D,
  k: TF.Tensor4D,
  v: TF.Tensor4D,
  mask: TF.Tensor,
  cache?: KvCache,
): { merged: TF.Tensor2D; k: TF.Tensor4D; v: TF.Tensor4D } {
  const tf = getTf();
  const [B, nh, Lq, dh] = q.shape;
  const nkv = k.shape[1];
  const rep = nh / nkv;
  const past = (t: TF.Tensor4D) => (cache?.parents ? (tf.gather(t, cache.parents, 0) as TF.Tensor4D) : t);
  const kAll = cache ? (tf.concat([past(cache.K), k], 2) as TF.Tensor4D) : k;
  const vAll = cache ? (tf.concat([past(cache.V), v], 2) as TF.Tensor4D) : v;
  const Lk = kAll.shape[2];
  // the query heads of one key/value group are consecutive: [B*kvHeads, rep*Lq, dh]
  const qg = q.reshape([B * nkv, rep * Lq, dh]) as TF.Tensor3D;
  const scores = tf
    .mul(tf.matMul(qg, kAll.reshape([B * nkv, Lk, dh]) as TF.Tensor3D, false, true), 1 / Math.sqrt(dh))
    .reshape([B, nh, Lq, Lk]);
  const att = tf.softmax(tf.add(scores, mask)).reshape([B * nkv, rep * Lq, Lk]) as TF.Tensor3D;
  const ctx = tf.matMul(att, vAll.reshape([B * nkv, Lk, dh]) as TF.Tensor3D).reshape([B, nh, Lq, dh]);
  const merged = tf.transpose(ctx, [0, 2, 1, 3]).reshape([B * Lq, nh * dh]) as TF.Tensor2D;
  return { merged, k: kAll, v: vAll };
}
