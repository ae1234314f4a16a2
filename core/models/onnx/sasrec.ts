/**
 * SASRec -> ONNX export from a weight map in the PyTorch parameter naming of docs/methods.md §C,
 * so imported reference checkpoints and Flowloop-trained models export alike. The graph is the eval-mode
 * forward of docs/methods.md §C with the interface of the reference exports (model.onnx in each ../shared/data/models folder):
 * inputs `seq` int64 [batch, L] (left-aligned, padded with numItems) and `len` int64 [batch];
 * output `logits` float32 [batch, numItems]. Opset 17 (LayerNormalization).
 */
import { OnnxGraph, DT } from './graph';

export interface WeightArray {
  shape: number[];
  data: Float32Array;
}
/** {name: {shape, data}} or a Map of the same (core/models/weights.ts readWeights(...).arrays fits). */
export type WeightMap = Map<string, WeightArray> | Record<string, WeightArray>;

/** -2^32 + 1, the reference's masking value. */
const MASKED = -(2 ** 32) + 1;

function getter(weights: WeightMap): (name: string, shape?: number[]) => WeightArray {
  const get = (n: string) => (weights instanceof Map ? weights.get(n) : weights[n]);
  return (name, shape) => {
    const w = get(name);
    if (!w) throw new Error(`SASRec export: weight "${name}" missing (docs/methods.md §C parameter names)`);
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== n) throw new Error(`SASRec export: ${name} has ${w.data.length} values for shape [${w.shape}]`);
    if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i])))
      throw new Error(`SASRec export: ${name} has shape [${w.shape}], expected [${shape}]`);
    return w;
  };
}

/** [rows, cols] row-major -> [cols, rows] (PyTorch Linear [out, in] to MatMul's [in, out]). */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c];
  return t;
}

/**
 * Build the ONNX bytes of SASRec (docs/methods.md §C: x = E[seq]+P, masked; q = LN1(x); attention with key-padding
 * and causal masks, rows scaled by sign|Σq|; h = AV + q; h2 = LN2(h); f = LN3(LN_ff(FFN(h2) + h2) * m);
 * logits = f[len-1] W_fcᵀ + b_fc).
 */
export function sasrecToOnnx(weights: WeightMap, opts: { name?: string; doc?: string } = {}): Uint8Array {
  const w = getter(weights);
  const E = w('item_embeddings.weight');
  const [rowsE, H] = E.shape;
  const N = rowsE - 1; // padding id = numItems = last row
  const P = w('positional_embeddings.weight');
  const L = P.shape[0];
  w('positional_embeddings.weight', [L, H]);
  w('s_fc.weight', [N, H]);
  w('s_fc.bias', [N]);

  const g = new OnnxGraph(opts.name ?? 'sasrec');
  const seq = g.input('seq', DT.INT64, ['batch', L]);
  const len = g.input('len', DT.INT64, ['batch']);
  const c = (name: string, shape?: number[]) => {
    const a = w(name, shape);
    return g.float(name, a.data, a.shape);
  };
  const linT = (name: string) => {
    // Linear / 1x1 Conv1d weight [out, in(, 1)] -> [in, out]
    const a = w(`${name}.weight`);
    if (!(a.shape[0] === H && a.shape[1] === H && (a.shape.length === 2 || (a.shape.length === 3 && a.shape[2] === 1))))
      throw new Error(`SASRec export: ${name}.weight has shape [${a.shape}], expected [${H}, ${H}] or [${H}, ${H}, 1]`);
    return { W: g.float(`${name}.weight_T`, transpose2d(a.data, H, H), [H, H]), b: c(`${name}.bias`, [H]) };
  };
  const ln = (x: string, name: string) =>
    g.node('LayerNormalization', [x, c(`${name}.weight`, [H]), c(`${name}.bias`, [H])], { axis: -1, epsilon: { float: 1e-5 } });
  const dense = (x: string, l: { W: string; b: string }) => g.node('Add', [g.node('MatMul', [x, l.W]), l.b]);
  const axes = (name: string, a: number[]) => g.int64(name, a);

  // x = E[seq] + P[0..L-1];  m = (seq != pad);  x = x * m
  const pad = g.int64('pad_id', [N], []);
  const m = g.node('Unsqueeze', [g.node('Cast', [g.node('Not', [g.node('Equal', [seq, pad])])], { to: DT.FLOAT }), axes('axis2', [2])]); // [B,L,1]
  const x = g.node('Mul', [
    g.node('Add', [g.node('Gather', [c('item_embeddings.weight'), seq], { axis: 0 }), c('positional_embeddings.weight')]),
    m,
  ]);

  // q = LN1(x); Q = q Wqᵀ + bq; K, V from x
  const q = ln(x, 'ln_1');
  const Q = dense(q, linT('mh_attn.linear_q'));
  const K = dense(x, linT('mh_attn.linear_k'));
  const V = dense(x, linT('mh_attn.linear_v'));

  // A = QKᵀ/sqrt(H); masked to -2^32+1 where key j is all-zero or j > i; softmax; rows * sign|Σq_i|
  const S = g.node('Div', [
    g.node('MatMul', [Q, g.node('Transpose', [K], { perm: [0, 2, 1] })]),
    g.float('sqrt_hidden', [Math.sqrt(H)], []),
  ]);
  const keyNonZero = g.node('Unsqueeze', [
    g.node('Not', [g.node('Equal', [g.node('ReduceSum', [x, axes('axis_last', [2])], { keepdims: 0 }), g.float('zero', [0], [])])]),
    axes('axis1', [1]),
  ]); // [B,1,L]
  const causal: boolean[] = [];
  for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) causal.push(j <= i);
  const allowed = g.node('And', [keyNonZero, g.bool('causal', causal, [L, L])]);
  let A = g.node('Softmax', [g.node('Where', [allowed, S, g.float('masked', [MASKED], [])])], { axis: -1 });
  A = g.node('Mul', [A, g.node('Sign', [g.node('Abs', [g.node('ReduceSum', [q, axes('axis_last_k', [2])], { keepdims: 1 })])])]);

  // h = A V + q;  h2 = LN2(h);  f = LN_ff(W2 relu(W1 h2 + b1) + b2 + h2);  f = LN3(f * m)
  const h2 = ln(g.node('Add', [g.node('MatMul', [A, V]), q]), 'ln_2');
  const ff = dense(g.node('Relu', [dense(h2, linT('feed_forward.w_1'))]), linT('feed_forward.w_2'));
  const f = ln(g.node('Mul', [ln(g.node('Add', [ff, h2]), 'feed_forward.layer_norm'), m]), 'ln_3');

  // f[len-1]: one-hot over positions (exact: one value plus zeros), then logits = f W_fcᵀ + b_fc
  const last = g.node('Sub', [len, g.int64('one', [1], [])]);
  const sel = g.node(
    'Cast',
    [
      g.node('Equal', [
        g.node('Unsqueeze', [last, axes('axis1_len', [1])]),
        g.int64(
          'positions',
          Array.from({ length: L }, (_, i) => i),
        ),
      ]),
    ],
    { to: DT.FLOAT },
  ); // [B,L]
  const fl = g.node('ReduceSum', [g.node('Mul', [f, g.node('Unsqueeze', [sel, axes('axis2_sel', [2])])]), axes('axis1_sum', [1])], {
    keepdims: 0,
  }); // [B,H]
  const logits = g.node('Gemm', [fl, c('s_fc.weight'), c('s_fc.bias')], { transB: 1 });
  g.output(logits, 'logits', DT.FLOAT, ['batch', N]);
  return g.toBytes({
    opset: 17,
    doc: opts.doc ?? `SASRec (docs/methods.md §C), ${N} items, hidden ${H}, length ${L}; exported by Flowloop`,
  });
}
