/**
 * The Flower policy's layers (docs/methods.md §A6), written once over an op algebra `BlockOps<T>`: the tfjs model
 * (core/models/policy.ts: training forward and incremental decoding with a key/value cache) and the ONNX export
 * (core/models/onnx/policy.ts) both run `policyLayers`, so they read the same weights in the same order.
 *
 * Block l (pre-layer-norm transformer, GPT-2 style):
 *   x ← x + dropout(Attn(LN₁(x) W_qkv + b_qkv) W_o + b_o)
 *   x ← x + dropout(ReLU(LN₂(x) W₁ + b₁) W₂ + b₂)
 * after the last block the final layer norm LN_f; LN = layer norm over the model width (biased variance, eps 1e-5).
 */

export interface PolicyConfig {
  /** Policy vocabulary size (PolicyVocab.size; id 0 = pad, 1 = BOS). */
  vocabSize: number;
  /** Number of item-embedding rows: dataset item ids 0..numItems-1 map to rows 1..numItems (0 = pad). 0 = no history. */
  numItems: number;
  dModel: number;
  layers: number;
  heads: number;
  /** Hidden width of the feed-forward block. */
  ffn: number;
  /** History slots (0 for history-free distribution fitting). */
  maxHistory: number;
  /** Max title tokens incl. BOS (positions H .. H+maxTokens-1). */
  maxTokens: number;
  dropout: number;
  padId: number;
  bosId: number;
}

/** The operations a block needs, on values of type T (tfjs tensors or ONNX graph value names). */
export interface BlockOps<T> {
  /** x W + b for the weights named `w` and `b`. */
  linear(x: T, w: string, b: string): T;
  /** Layer norm with gain `${name}.g` and bias `${name}.b`, eps `LN_EPS`. */
  layerNorm(x: T, name: string): T;
  relu(x: T): T;
  add(a: T, b: T): T;
  /** Dropout on a residual branch in training; the identity otherwise. */
  dropout(x: T): T;
  /** Multi-head self-attention of layer `layer` from the fused projection [.., 3·D] (q | k | v) to the merged heads [.., D]. */
  attention(qkv: T, layer: number): T;
}

export const LN_EPS = 1e-5;

/** Shapes of the policy's parameters, by name, in checkpoint order. */
export function policyShapes(cfg: PolicyConfig): Record<string, number[]> {
  const D = cfg.dModel;
  const s: Record<string, number[]> = {
    tokEmb: [cfg.vocabSize, D],
    posEmb: [cfg.maxHistory + cfg.maxTokens, D],
  };
  if (cfg.maxHistory > 0) s.itemEmb = [cfg.numItems + 1, D];
  for (let l = 0; l < cfg.layers; l++) {
    Object.assign(s, {
      [`l${l}.ln1.g`]: [D],
      [`l${l}.ln1.b`]: [D],
      [`l${l}.wqkv`]: [D, 3 * D],
      [`l${l}.bqkv.b`]: [3 * D],
      [`l${l}.wo`]: [D, D],
      [`l${l}.bo.b`]: [D],
      [`l${l}.ln2.g`]: [D],
      [`l${l}.ln2.b`]: [D],
      [`l${l}.w1`]: [D, cfg.ffn],
      [`l${l}.b1.b`]: [cfg.ffn],
      [`l${l}.w2`]: [cfg.ffn, D],
      [`l${l}.b2.b`]: [D],
    });
  }
  Object.assign(s, { 'lnf.g': [D], 'lnf.b': [D], headW: [D, cfg.vocabSize], 'head.b': [cfg.vocabSize] });
  return s;
}

/** Block `l` (see the file comment). */
export function policyBlock<T>(o: BlockOps<T>, l: number, x: T): T {
  const p = (n: string) => `l${l}.${n}`;
  const merged = o.attention(o.linear(o.layerNorm(x, p('ln1')), p('wqkv'), p('bqkv.b')), l);
  x = o.add(x, o.dropout(o.linear(merged, p('wo'), p('bo.b'))));
  const f = o.relu(o.linear(o.layerNorm(x, p('ln2')), p('w1'), p('b1.b')));
  return o.add(x, o.dropout(o.linear(f, p('w2'), p('b2.b'))));
}

/** The `layers` blocks and the final layer norm: the hidden states the output head reads. */
export function policyLayers<T>(o: BlockOps<T>, layers: number, x: T): T {
  for (let l = 0; l < layers; l++) x = policyBlock(o, l, x);
  return o.layerNorm(x, 'lnf');
}
