/**
 * SASRec, the LLaRA/DROS variant used by both papers (docs/methods.md §C; docs/methods.md §A8 baseline, B3 prior and
 * reward model). One block, one head, left-aligned sequences, padding id = numItems, output read
 * at position len-1. Parameter names are the PyTorch ones so reference checkpoints import as is.
 *
 *   x = E[seq] + P;  m = (seq != pad);  x = x*m
 *   q = LN1(x);  Q = q Wqᵀ+bq;  K = x Wkᵀ+bk;  V = x Wvᵀ+bv
 *   A = QKᵀ/sqrt(H), masked to -2^32+1 where key j is all-zero or j > i;  A = softmax(A) * sign|Σq_i|
 *   h = A V + q;  h2 = LN2(h);  f = LN_ff(W2 relu(W1 h2 + b1) + b2 + h2);  f = LN3(f*m)
 *   logits = f[len-1] W_fcᵀ + b_fc
 * Training adds dropout (embeddings, attention weights, feed-forward output), as the reference does.
 */
import { Rng } from '../util/random';
import { getTf, type Tensor } from '../tensor';
import {
  SeqModelBase,
  type SeqModelConfig,
  constInit,
  dropout,
  embed,
  layerNorm,
  linear,
  normalInit,
  positionMask,
  takePositions,
  uniformInit,
} from './layers';

/** -2^32 + 1, the reference's masking value (float32: -4294967296). */
const MASKED = -(2 ** 32) + 1;

export class SASRec extends SeqModelBase {
  constructor(config: SeqModelConfig, rng: Rng) {
    super({ ...config, model: 'sasrec' });
    const { numItems: N, maxLen: L, hidden: H } = this.config;
    const lin = 1 / Math.sqrt(H);
    // Reference init: item embeddings N(0, 0.01); positional N(0, 1) (PyTorch default; `positionalInitStd`
    // changes it); Linear/Conv1d PyTorch default.
    this.addParam('item_embeddings.weight', [N + 1, H], normalInit(rng, (N + 1) * H, 0.01));
    this.addParam('positional_embeddings.weight', [L, H], normalInit(rng, L * H, this.config.positionalInitStd ?? 1));
    for (const ln of ['ln_1', 'ln_2', 'ln_3', 'feed_forward.layer_norm']) {
      this.addParam(`${ln}.weight`, [H], constInit(H, 1));
      this.addParam(`${ln}.bias`, [H], constInit(H, 0));
    }
    for (const w of ['q', 'k', 'v']) {
      this.addParam(`mh_attn.linear_${w}.weight`, [H, H], uniformInit(rng, H * H, lin));
      this.addParam(`mh_attn.linear_${w}.bias`, [H], uniformInit(rng, H, lin));
    }
    for (const w of ['w_1', 'w_2']) {
      this.addParam(`feed_forward.${w}.weight`, [H, H, 1], uniformInit(rng, H * H, lin));
      this.addParam(`feed_forward.${w}.bias`, [H], uniformInit(rng, H, lin));
    }
    this.addParam('s_fc.weight', [N, H], uniformInit(rng, N * H, lin));
    this.addParam('s_fc.bias', [N], uniformInit(rng, N, lin));
  }

  /** docs/methods.md §C forward up to f[len-1]: [B, H]. */
  represent(seq: Tensor, lens: Tensor, training: boolean, rng?: Rng): Tensor {
    const t = getTf();
    const { maxLen: L, hidden: H, dropout: rate } = this.config;
    const B = seq.shape[0];
    const p = (n: string) => this.p(n);

    // x = E[seq] + P[0..L-1]; dropout; x = x * m
    const m = positionMask(seq, this.padId); // [B,L,1]
    let x = t.add(embed(p('item_embeddings.weight'), seq), p('positional_embeddings.weight'));
    x = t.mul(dropout(x, rate, training, rng), m);

    // q = LN1(x); Q from q, K and V from x
    const q = layerNorm(x, p('ln_1.weight'), p('ln_1.bias'));
    const Q = linear(q, p('mh_attn.linear_q.weight'), p('mh_attn.linear_q.bias'));
    const K = linear(x, p('mh_attn.linear_k.weight'), p('mh_attn.linear_k.bias'));
    const V = linear(x, p('mh_attn.linear_v.weight'), p('mh_attn.linear_v.bias'));

    // A = QKᵀ/sqrt(H) with key-padding and causal masks (same batch dims: no broadcasting matMul)
    let A = t.div(t.matMul(Q, K, false, true), Math.sqrt(H)); // [B,L,L]
    const keyMask = t.reshape(t.sign(t.abs(t.sum(x, -1))), [B, 1, L]);
    const causal = t.linalg.bandPart(t.ones([L, L]), -1, 0); // lower triangle incl. diagonal
    const allowed = t.mul(keyMask, causal); // [B,L,L], 1 = attend
    A = t.add(t.mul(A, allowed), t.mul(t.sub(1, allowed), MASKED));
    A = t.softmax(A, -1);
    // rows of queries whose normalised vector sums to 0 are zeroed (sign(|Σ q_i|)). Reference quirk: with a
    // fresh LN1 (β = 0) Σq_i is 0 up to rounding, so at initialisation a few rows may be zeroed by accident
    // (which ones depends on the backend's rounding); trained weights (β ≠ 0) make the mask 1 in practice.
    A = t.mul(A, t.expandDims(t.sign(t.abs(t.sum(q, -1))), -1));
    A = dropout(A, rate, training, rng);

    // h = A V + q (residual with the normalised queries)
    const h = t.add(t.matMul(A, V), q);
    const h2 = layerNorm(h, p('ln_2.weight'), p('ln_2.bias'));

    // position-wise feed-forward (1x1 Conv1d == Linear), dropout, residual, LN_ff
    const w1 = t.reshape(p('feed_forward.w_1.weight'), [H, H]);
    const w2 = t.reshape(p('feed_forward.w_2.weight'), [H, H]);
    let f = linear(t.relu(linear(h2, w1, p('feed_forward.w_1.bias'))), w2, p('feed_forward.w_2.bias'));
    f = dropout(f, rate, training, rng);
    f = layerNorm(t.add(f, h2), p('feed_forward.layer_norm.weight'), p('feed_forward.layer_norm.bias'));
    f = layerNorm(t.mul(f, m), p('ln_3.weight'), p('ln_3.bias'));

    return takePositions(f, t.sub(lens, t.scalar(1, 'int32')));
  }
}
