/**
 * GRU4Rec as in the DROS/LLaRA baselines (docs/methods.md §A8 family): item embeddings -> one GRU layer ->
 * hidden state after the last real item (position len-1) -> item output layer. PyTorch nn.GRU
 * parameter names and gate order (r, z, n), so a torch checkpoint exported the SASRec way imports:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr);  z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn));  h' = (1 − z) ⊙ n + z ⊙ h
 * Steps at or after len keep h unchanged (what pack_padded_sequence does).
 */
import { Rng } from '../util/random';
import { getTf, type Tensor } from '../tensor';
import { SeqModelBase, type SeqModelConfig, dropout, embed, linear, normalInit, uniformInit } from './layers';

export class GRU4Rec extends SeqModelBase {
  constructor(config: SeqModelConfig, rng: Rng) {
    super({ ...config, model: 'gru4rec' });
    const { numItems: N, hidden: H } = this.config;
    const b = 1 / Math.sqrt(H);
    this.addParam('item_embeddings.weight', [N + 1, H], normalInit(rng, (N + 1) * H, 0.01));
    this.addParam('gru.weight_ih_l0', [3 * H, H], uniformInit(rng, 3 * H * H, b));
    this.addParam('gru.weight_hh_l0', [3 * H, H], uniformInit(rng, 3 * H * H, b));
    this.addParam('gru.bias_ih_l0', [3 * H], uniformInit(rng, 3 * H, b));
    this.addParam('gru.bias_hh_l0', [3 * H], uniformInit(rng, 3 * H, b));
    this.addParam('s_fc.weight', [N, H], uniformInit(rng, N * H, b));
    this.addParam('s_fc.bias', [N], uniformInit(rng, N, b));
  }

  /** GRU hidden state after position len-1: [B, H]. */
  represent(seq: Tensor, lens: Tensor, training: boolean, rng?: Rng): Tensor {
    const t = getTf();
    const { maxLen: L, hidden: H, dropout: rate } = this.config;
    const B = seq.shape[0];
    const x = dropout(embed(this.p('item_embeddings.weight'), seq), rate, training, rng); // [B,L,H]
    const gi = t.unstack(linear(x, this.p('gru.weight_ih_l0'), this.p('gru.bias_ih_l0')), 1); // L x [B,3H]
    let h: Tensor = t.zeros([B, H]);
    for (let step = 0; step < L; step++) {
      const gh = linear(h, this.p('gru.weight_hh_l0'), this.p('gru.bias_hh_l0'));
      const [ir, iz, inn] = t.split(gi[step], 3, 1);
      const [hr, hz, hn] = t.split(gh, 3, 1);
      const r = t.sigmoid(t.add(ir, hr));
      const z = t.sigmoid(t.add(iz, hz));
      const n = t.tanh(t.add(inn, t.mul(r, hn)));
      const hNew = t.add(t.mul(t.sub(1, z), n), t.mul(z, h));
      const live = t.expandDims(t.cast(t.greater(lens, t.scalar(step, 'int32')), 'float32'), 1); // step < len
      h = t.add(t.mul(live, hNew), t.mul(t.sub(1, live), h));
    }
    return h;
  }
}
