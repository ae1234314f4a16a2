/**
 * Flower policy -> ONNX: the next-token log-probs of core/models/policy.ts
 * TransformerPolicy (docs/methods.md §A6; full policy-vocabulary log-softmax, docs/methods.md §A4/A7) as an ONNX graph
 * written from its weights, and `OnnxStepPolicy`, a core/decode StepPolicy that runs it in
 * onnxruntime-node (loaded lazily) for evaluation-time decoding.
 *
 * Graph inputs: `items` int64 [batch, H] (history rows = item id + 1, left-padded with 0; H = maxHistory,
 * absent when H = 0), `toks` int64 [batch, T] (BOS + prefix, padded with padId), `lens` int64 [batch]
 * (valid tokens incl. BOS). Output `logp` float32 [batch, V] at position H + lens - 1.
 * Padding is masked exactly as the tfjs model's layout does (history pad rows and tokens >= lens).
 */
import { OnnxGraph, DT } from './graph';
import type { WeightArray } from './sasrec';
import { LN_EPS, policyLayers, type BlockOps } from '../policyBlock';

export interface PolicyOnnxConfig {
  heads: number;
  maxHistory: number;
  padId: number;
  bosId: number;
}

/** TransformerPolicy.snapshotWeights() output (name -> data) with TransformerPolicy.shapes(cfg), or {shape, data} entries. */
export type PolicyWeights = Map<string, WeightArray>;

/** Build the ONNX bytes of the policy's next-token log-probs (opset 17). */
export function policyToOnnx(weights: PolicyWeights, cfg: PolicyOnnxConfig, opts: { name?: string } = {}): Uint8Array {
  const get = (n: string): WeightArray => {
    const w = weights.get(n);
    if (!w) throw new Error(`policy export: weight "${n}" missing`);
    if (w.data.length !== w.shape.reduce((a, b) => a * b, 1))
      throw new Error(`policy export: ${n} has ${w.data.length} values for shape [${w.shape}]`);
    return w;
  };
  const [V, D] = get('tokEmb').shape;
  const H = cfg.maxHistory;
  if (D % cfg.heads !== 0) throw new Error(`policy export: dModel ${D} not divisible by heads ${cfg.heads}`);
  const dh = D / cfg.heads;
  let layers = 0;
  while (weights.has(`l${layers}.wqkv`)) layers++;
  if (layers === 0) throw new Error('policy export: no layer weights (l0.wqkv ...)');
  if (H > 0) get('itemEmb');

  const g = new OnnxGraph(opts.name ?? 'flower_policy');
  const c = (n: string) => {
    const w = get(n);
    return g.float(n, w.data, w.shape);
  };
  const i64 = (n: string, v: number[], dims?: number[]) => g.int64(n, v, dims);
  const toks = g.input('toks', DT.INT64, ['batch', 'T']);
  const items = H > 0 ? g.input('items', DT.INT64, ['batch', H]) : '';
  const lens = g.input('lens', DT.INT64, ['batch']);

  // x = [itemEmb[items], tokEmb[toks]] + posEmb[0..L-1]
  let x = g.node('Gather', [c('tokEmb'), toks], { axis: 0 }); // [B,T,D]
  const T = g.node('Shape', [toks], { start: 1, end: 2 }); // [1]
  const L = H > 0 ? g.node('Add', [T, i64('H', [H])]) : T;
  if (H > 0) x = g.node('Concat', [g.node('Gather', [c('itemEmb'), items], { axis: 0 }), x], { axis: 1 });
  const Lscalar = g.node('Squeeze', [L, i64('ax0', [0])]);
  const posIdx = g.node('Range', [i64('zero', [0], []), Lscalar, i64('one', [1], [])]); // [L]
  x = g.node('Add', [x, g.node('Gather', [c('posEmb'), posIdx], { axis: 0 })]);

  // additive mask [B,1,L,L]: key j valid (history row != 0 / token index < lens) and j <= i
  const tIdx = g.node('Range', [i64('zero_t', [0], []), g.node('Squeeze', [T, i64('ax0_t', [0])]), i64('one_t', [1], [])]);
  const tokValid = g.node('Less', [g.node('Unsqueeze', [tIdx, i64('ax0_u', [0])]), g.node('Unsqueeze', [lens, i64('ax1_u', [1])])]); // [B,T]
  const keyValid =
    H > 0 ? g.node('Concat', [g.node('Not', [g.node('Equal', [items, i64('zero_i', [0], [])])]), tokValid], { axis: 1 }) : tokValid; // [B,L]
  const causal = g.node('LessOrEqual', [
    g.node('Unsqueeze', [posIdx, i64('ax0_c', [0])]),
    g.node('Unsqueeze', [posIdx, i64('ax1_c', [1])]),
  ]); // [L,L]: j <= i
  const allowed = g.node('And', [g.node('Unsqueeze', [keyValid, i64('ax12', [1, 2])]), causal]); // [B,1,L,L]
  const mask = g.node('Where', [allowed, g.float('zero_f', [0], []), g.float('neg_big', [-1e9], [])]);

  const shapeQkv = i64('shape_qkv', [0, 0, 3, cfg.heads, dh]);
  const shapeD = i64('shape_d', [0, 0, D]);
  const scale = g.float('scale', [1 / Math.sqrt(dh)], []);
  // the blocks of core/models/policyBlock.ts on graph values [B, L, D]
  const ops: BlockOps<string> = {
    linear: (v, w, b) => g.node('Add', [g.node('MatMul', [v, c(w)]), c(b)]),
    layerNorm: (v, p) => g.node('LayerNormalization', [v, c(`${p}.g`), c(`${p}.b`)], { axis: -1, epsilon: { float: LN_EPS } }),
    relu: (v) => g.node('Relu', [v]),
    add: (a, b) => g.node('Add', [a, b]),
    dropout: (v) => v,
    attention: (qkv, l) => {
      const qkvT = g.node('Transpose', [g.node('Reshape', [qkv, shapeQkv])], { perm: [2, 0, 3, 1, 4] }); // [3,B,nh,L,dh]
      const [q, k, v] = [0, 1, 2].map((i) => g.node('Gather', [qkvT, i64(`qkv_${l}_${i}`, [i], [])], { axis: 0 })); // [B,nh,L,dh]
      const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, g.node('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]), mask]);
      const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), v]); // [B,nh,L,dh]
      return g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }), shapeD]);
    },
  };
  const hf = policyLayers(ops, layers, x);
  // row H + lens - 1 of each sequence (one-hot sum: exact)
  const last = g.node('Add', [lens, i64('H_minus_1', [H - 1], [])]);
  const sel = g.node(
    'Cast',
    [g.node('Equal', [g.node('Unsqueeze', [posIdx, i64('ax0_s', [0])]), g.node('Unsqueeze', [last, i64('ax1_s', [1])])])],
    { to: DT.FLOAT },
  ); // [B,L]
  const hl = g.node('ReduceSum', [g.node('Mul', [hf, g.node('Unsqueeze', [sel, i64('ax2_s', [2])])]), i64('ax1_r', [1])], { keepdims: 0 }); // [B,D]
  const logp = g.node('LogSoftmax', [g.node('Gemm', [hl, c('headW'), c('head.b')])], { axis: -1 });
  g.output(logp, 'logp', DT.FLOAT, ['batch', V]);
  return g.toBytes({
    opset: 17,
    doc: `Flower policy next-token log-probs: vocab ${V}, dModel ${D}, ${layers} layers, ${cfg.heads} heads, history ${H}`,
  });
}

/** Feeds for the graph from histories (dataset item ids, oldest first) and prefixes (policy ids, no BOS). */
export function policyFeeds(
  cfg: PolicyOnnxConfig,
  histories: number[][],
  prefixes: number[][],
): { items: number[]; toks: number[]; lens: number[]; B: number; T: number } {
  const B = prefixes.length,
    H = cfg.maxHistory;
  let T = 1;
  for (const p of prefixes) T = Math.max(T, p.length + 1);
  const items = new Array<number>(B * H).fill(0),
    toks = new Array<number>(B * T).fill(cfg.padId),
    lens: number[] = [];
  for (let b = 0; b < B; b++) {
    const h = H > 0 ? (histories[b] ?? []).slice(-H) : [];
    for (let j = 0; j < h.length; j++) items[b * H + H - h.length + j] = h[j] + 1;
    toks[b * T] = cfg.bosId;
    prefixes[b].forEach((t, i) => {
      toks[b * T + 1 + i] = t;
    });
    lens.push(prefixes[b].length + 1);
  }
  return { items, toks, lens, B, T };
}

type Ort = typeof import('onnxruntime-node');

/** StepPolicy (core/decode) running the exported policy in onnxruntime-node. */
export class OnnxStepPolicy {
  private constructor(
    private readonly ort: Ort,
    private readonly session: import('onnxruntime-node').InferenceSession,
    readonly cfg: PolicyOnnxConfig,
    private readonly chunk: number,
  ) {}

  /**
   * `device` as the config's (base schema): `gpu` runs on onnxruntime-node's CUDA provider or fails clearly
   * (core/models/onnxScorer.ts createOrtSession), anything else on the CPU provider; `provider` says which.
   */
  static async create(
    bytes: Uint8Array,
    cfg: PolicyOnnxConfig,
    opts: { threads?: number; chunk?: number; device?: string } = {},
  ): Promise<OnnxStepPolicy> {
    const ort = await import('onnxruntime-node');
    const { createOrtSession } = await import('../onnxScorer');
    const { session, provider } = await createOrtSession(ort, bytes, opts.device, 'Flower policy (ONNX)', {
      intraOpNumThreads: opts.threads ?? 2,
      interOpNumThreads: 1,
    });
    const p = new OnnxStepPolicy(ort, session, cfg, opts.chunk ?? 512);
    p.provider = provider;
    return p;
  }

  /** Execution provider the session runs on. */
  provider: 'cuda' | 'cpu' = 'cpu';

  /** Full policy-vocabulary log-probs of the next token of each row (docs/methods.md §A4/A7). */
  async nextLogProbs(histories: number[][], prefixes: number[][]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let s = 0; s < prefixes.length; s += this.chunk) {
      const f = policyFeeds(this.cfg, histories.slice(s, s + this.chunk), prefixes.slice(s, s + this.chunk));
      const t = (v: number[], dims: number[]) =>
        new this.ort.Tensor(
          'int64',
          BigInt64Array.from(v, (x) => BigInt(x)),
          dims,
        );
      const feeds: Record<string, import('onnxruntime-node').Tensor> = { toks: t(f.toks, [f.B, f.T]), lens: t(f.lens, [f.B]) };
      if (this.cfg.maxHistory > 0) feeds.items = t(f.items, [f.B, this.cfg.maxHistory]);
      const res = await this.session.run(feeds);
      const data = res.logp.data as Float32Array;
      const V = data.length / f.B;
      for (let b = 0; b < f.B; b++) out.push(data.subarray(b * V, (b + 1) * V));
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
