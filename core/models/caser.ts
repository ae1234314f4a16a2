/**
 * Caser as in the DROS/LLaRA baselines (docs/methods.md §A8 family): the padded sequence's embedding matrix
 * [L, H] (padding rows zeroed) read by horizontal convolutions of heights `filterSizes` (numFilters
 * each, ReLU, max-pool over time) and one vertical convolution (a learned weighted sum of the L rows,
 * ReLU); their concatenation, after dropout, goes to the item output layer. PyTorch parameter names.
 * Convolutions are written as 2-D matMuls over gathered windows (no conv2d gradient needed).
 */
import { Rng } from '../util/random';
import { getTf, type Tensor } from '../tensor';
import { SeqModelBase, type SeqModelConfig, dropout, embed, linear, normalInit, positionMask, uniformInit } from './layers';

export class Caser extends SeqModelBase {
  constructor(config: SeqModelConfig, rng: Rng) {
    const cfg = { ...config, model: 'caser' as const, numFilters: config.numFilters ?? 16, filterSizes: config.filterSizes ?? [2, 3, 4] };
    super(cfg);
    const { numItems: N, maxLen: L, hidden: H } = cfg;
    for (const h of cfg.filterSizes) if (h < 1 || h > L) throw new Error(`caser: filter size ${h} outside 1..maxLen (${L})`);
    this.addParam('item_embeddings.weight', [N + 1, H], normalInit(rng, (N + 1) * H, 0.01));
    cfg.filterSizes.forEach((h, i) => {
      const b = 1 / Math.sqrt(h * H);
      this.addParam(`horizontal_cnn.${i}.weight`, [cfg.numFilters, 1, h, H], uniformInit(rng, cfg.numFilters * h * H, b));
      this.addParam(`horizontal_cnn.${i}.bias`, [cfg.numFilters], uniformInit(rng, cfg.numFilters, b));
    });
    this.addParam('vertical_cnn.weight', [1, 1, L, 1], uniformInit(rng, L, 1 / Math.sqrt(L)));
    this.addParam('vertical_cnn.bias', [1], uniformInit(rng, 1, 1 / Math.sqrt(L)));
    const D = H + cfg.numFilters * cfg.filterSizes.length;
    this.addParam('s_fc.weight', [N, D], uniformInit(rng, N * D, 1 / Math.sqrt(D)));
    this.addParam('s_fc.bias', [N], uniformInit(rng, N, 1 / Math.sqrt(D)));
  }

  /** [horizontal max-pooled features (numFilters × |filterSizes|), vertical features (H)]: [B, D]. */
  represent(seq: Tensor, _lens: Tensor, training: boolean, rng?: Rng): Tensor {
    const t = getTf();
    const { maxLen: L, hidden: H, dropout: rate } = this.config;
    const nf = this.config.numFilters!;
    const B = seq.shape[0];
    const e = t.mul(embed(this.p('item_embeddings.weight'), seq), positionMask(seq, this.padId)); // [B,L,H]
    const pooled: Tensor[] = [];
    this.config.filterSizes!.forEach((h, i) => {
      const T = L - h + 1;
      // window s..s+h-1 flattened (row-major [h, H]) to match the weight [nf, 1, h, H]
      const win = t.concat(
        Array.from({ length: h }, (_, s) => t.slice(e, [0, s, 0], [B, T, H])),
        2,
      ); // [B,T,h*H]
      const w = t.reshape(this.p(`horizontal_cnn.${i}.weight`), [nf, h * H]);
      const c = t.relu(linear(win, w, this.p(`horizontal_cnn.${i}.bias`))); // [B,T,nf]
      pooled.push(t.max(c, 1)); // [B,nf]
    });
    // vertical conv: Σ_t w_t e[:, t, :] + b
    const eT = t.reshape(t.transpose(e, [0, 2, 1]), [B * H, L]);
    const v = t.reshape(t.matMul(eT, t.reshape(this.p('vertical_cnn.weight'), [L, 1])), [B, H]);
    const vOut = t.relu(t.add(v, this.p('vertical_cnn.bias')));
    return dropout(t.concat([...pooled, vOut], 1), rate, training, rng);
  }
}
