/**
 * The Flower policy (docs/methods.md §A6): a small decoder-only transformer trained from scratch. The prefix of
 * every sequence is the user's history as ITEM-ID embeddings (oldest first, left-padded to
 * `maxHistory`), then BOS, then title tokens in the policy vocabulary (core/tokenize PolicyVocab).
 * Output = full policy-vocabulary log-softmax (docs/methods.md §A4/A7). Padding is masked out of attention
 * (the docs/methods.md §A4 "fix": the reference right-pads with EOS without a mask).
 *
 * tfjs notes (docs/testing.md): only 2-D matMuls or batched matMuls with equal batch dims (broadcasting
 * matMul grads are broken), flat gathers / one-hot products instead of gatherND (no gradient).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { SessionStart } from '../decode';
import { PolicySession } from './policySession';
import { Rng } from '../util/random';
import { getTf } from '../tensor';
import { layerNorm, logSoftmaxGather } from '../tensor/ops';

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

export type Weights = Record<string, TF.Variable>;

/** Build-time batch layout: history ids (row = id+1, 0 = pad) and token ids, both padded. */
interface Batch {
  B: number;
  H: number;
  T: number;
  L: number;
  items: Int32Array; // [B, H]
  toks: Int32Array; // [B, T]
  lens: number[]; // valid tokens per row (incl. BOS)
  mask: Float32Array; // [B, L, L] additive
}

/** Decoder-only transformer policy with item-id history prefix (docs/methods.md §A6). */
export class TransformerPolicy {
  readonly weights: Weights;
  /** Names in a fixed order (checkpoint layout). */
  readonly names: string[];

  constructor(
    readonly cfg: PolicyConfig,
    seed: number,
    init?: Map<string, Float32Array>,
  ) {
    const tf = getTf();
    const rng = new Rng(seed);
    const shapes = TransformerPolicy.shapes(cfg);
    this.names = Object.keys(shapes);
    this.weights = {};
    for (const name of this.names) {
      const shape = shapes[name];
      const n = shape.reduce((a, b) => a * b, 1);
      let data = init?.get(name);
      if (data && data.length !== n)
        throw new Error(`checkpoint tensor ${name} has ${data.length} values, model needs ${n} (shape ${shape})`);
      if (!data) {
        data = new Float32Array(n);
        if (/\.(g)$/.test(name)) data.fill(1);
        else if (!/\.(b)$/.test(name)) {
          const std = name.endsWith('wo') || name.endsWith('w2') ? 0.02 / Math.sqrt(2 * cfg.layers) : 0.02;
          for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
        }
      }
      this.weights[name] = tf.variable(tf.tensor(data, shape, 'float32'), true, `${name}_${Math.random().toString(36).slice(2, 8)}`);
    }
  }

  /** Parameter shapes by name (stable order = checkpoint order). */
  static shapes(cfg: PolicyConfig): Record<string, number[]> {
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

  paramCount(): number {
    return this.names.reduce((a, n) => a + this.weights[n].size, 0);
  }

  dispose(): void {
    for (const n of this.names) this.weights[n].dispose();
  }

  /** Lay out a batch: histories (dataset item ids, oldest first) and token rows (policy ids, BOS NOT included). */
  private layout(histories: number[][], rows: number[][]): Batch {
    const { cfg } = this;
    const B = rows.length;
    const H = cfg.maxHistory;
    let T = 1;
    for (const r of rows) T = Math.max(T, r.length + 1);
    if (T > cfg.maxTokens) throw new Error(`title of ${T - 1} tokens exceeds the policy's maxTokens ${cfg.maxTokens - 1}`);
    const L = H + T;
    const items = new Int32Array(B * H);
    const toks = new Int32Array(B * T).fill(cfg.padId);
    const lens: number[] = [];
    const mask = new Float32Array(B * L * L);
    for (let b = 0; b < B; b++) {
      const h = H > 0 ? (histories[b] ?? []).slice(-H) : [];
      const off = H - h.length;
      for (let j = 0; j < h.length; j++) {
        const id = h[j];
        if (!(id >= 0 && id < cfg.numItems)) throw new Error(`history item id ${id} outside 0..${cfg.numItems - 1}`);
        items[b * H + off + j] = id + 1;
      }
      toks[b * T] = cfg.bosId;
      const r = rows[b];
      for (let t = 0; t < r.length; t++) toks[b * T + 1 + t] = r[t];
      const len = r.length + 1;
      lens.push(len);
      // valid keys: real history slots and tokens < len; causal.
      const base = b * L * L;
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          const valid = j <= i && (j < H ? j >= off : j - H < len);
          if (!valid) mask[base + i * L + j] = -1e9;
        }
      }
    }
    return { B, H, T, L, items, toks, lens, mask };
  }

  /**
   * Layer norm over the last axis of a 2-D tensor (biased variance, eps 1e-5): core/tensor's fused
   * `layerNorm` (one kernel each way on wasm/cpu, the same stock-op formula elsewhere). The training,
   * stateless and incremental-decoding paths all go through here, so they stay consistent.
   */
  private ln(x: TF.Tensor2D, g: TF.Variable, b: TF.Variable): TF.Tensor2D {
    return layerNorm(x, g, b, 1e-5) as TF.Tensor2D;
  }

  /**
   * Hidden states [B*L, D] of the final layer norm. `dropoutSeed` given = training mode (dropout on).
   * `kv` given: each layer's attention keys and values, [B, heads, L, dh], are pushed to it (the
   * incremental-decoding cache, see `startSession`).
   */
  private hidden(bt: Batch, dropoutSeed?: number, kv?: { k: TF.Tensor4D[]; v: TF.Tensor4D[] }): TF.Tensor2D {
    const tf = getTf();
    const { cfg, weights: w } = this;
    const { B, H, T, L } = bt;
    const D = cfg.dModel;
    const nh = cfg.heads;
    const dh = D / nh;
    let seedCounter = dropoutSeed ?? 0;
    const drop = (x: TF.Tensor2D): TF.Tensor2D =>
      dropoutSeed !== undefined && cfg.dropout > 0 ? (tf.dropout(x, cfg.dropout, undefined, seedCounter++) as TF.Tensor2D) : x;

    const tokE = tf.gather(w.tokEmb, tf.tensor1d(bt.toks, 'int32')).reshape([B, T, D]);
    let x3: TF.Tensor3D;
    if (H > 0) {
      const itE = tf.gather(w.itemEmb, tf.tensor1d(bt.items, 'int32')).reshape([B, H, D]);
      x3 = tf.concat([itE, tokE], 1) as TF.Tensor3D;
    } else x3 = tokE as TF.Tensor3D;
    const pos = tf.slice(w.posEmb, [0, 0], [L, D]);
    let x = drop(tf.add(x3, pos).reshape([B * L, D]) as TF.Tensor2D);
    const mask = tf.tensor4d(bt.mask, [B, 1, L, L]);
    const scale = 1 / Math.sqrt(dh);
    for (let l = 0; l < cfg.layers; l++) {
      const p = (n: string) => w[`l${l}.${n}`];
      const h = this.ln(x, p('ln1.g'), p('ln1.b'));
      const qkv = tf.add(tf.matMul(h, p('wqkv')), p('bqkv.b')).reshape([B, L, 3, nh, dh]);
      const qkvT = tf.transpose(qkv, [2, 0, 3, 1, 4]); // [3, B, nh, L, dh]
      const [q, k, v] = tf.split(qkvT, 3, 0).map((t) => t.reshape([B * nh, L, dh]) as TF.Tensor3D);
      if (kv) {
        kv.k.push(k.reshape([B, nh, L, dh]));
        kv.v.push(v.reshape([B, nh, L, dh]));
      }
      const scores = tf.mul(tf.matMul(q, k, false, true), scale).reshape([B, nh, L, L]);
      const att = tf.softmax(tf.add(scores, mask)).reshape([B * nh, L, L]) as TF.Tensor3D;
      const ctx = tf.matMul(att, v).reshape([B, nh, L, dh]);
      const merged = tf.transpose(ctx, [0, 2, 1, 3]).reshape([B * L, D]) as TF.Tensor2D;
      x = tf.add(x, drop(tf.add(tf.matMul(merged, p('wo')), p('bo.b')) as TF.Tensor2D)) as TF.Tensor2D;
      const h2 = this.ln(x, p('ln2.g'), p('ln2.b'));
      const f = tf.relu(tf.add(tf.matMul(h2, p('w1')), p('b1.b'))) as TF.Tensor2D;
      x = tf.add(x, drop(tf.add(tf.matMul(f, p('w2')), p('b2.b')) as TF.Tensor2D)) as TF.Tensor2D;
    }
    return this.ln(x, w['lnf.g'], w['lnf.b']);
  }

  private logits(h: TF.Tensor2D): TF.Tensor2D {
    const tf = getTf();
    return tf.add(tf.matMul(h, this.weights.headW), this.weights['head.b']) as TF.Tensor2D;
  }

  private head(h: TF.Tensor2D): TF.Tensor2D {
    return getTf().logSoftmax(this.logits(h)) as TF.Tensor2D;
  }

  /** Token-state hidden rows [B*T, D] (row b*T+t = state s_t of row b) of a laid-out batch. */
  private tokenHidden(bt: Batch, dropoutSeed?: number): TF.Tensor2D {
    const tf = getTf();
    const { B, H, T, L } = bt;
    const D = this.cfg.dModel;
    const h = this.hidden(bt, dropoutSeed);
    return tf.slice(h.reshape([B, L, D]), [0, H, 0], [B, T, D]).reshape([B * T, D]) as TF.Tensor2D;
  }

  /**
   * Full-vocabulary log-probs at every token state of each row: result [B*T, V] where row b*T+t is
   * log π(· | history, BOS, rows[b][0..t-1]), t = 0..T-1 (T = longest row + 1). Call inside a
   * tidy / gradient scope.
   */
  logProbsAll(histories: number[][], rows: number[][], dropoutSeed?: number): { logp: TF.Tensor2D; T: number; lens: number[] } {
    const bt = this.layout(histories, rows);
    return { logp: this.head(this.tokenHidden(bt, dropoutSeed)), T: bt.T, lens: bt.lens };
  }

  /**
   * `logProbsAll` read at chosen tokens, without materialising the [B*T, V] log-probs: lp[b*T+t, k] =
   * log π(labels[(b*T+t)*K + k] | history, BOS, rows[b][0..t-1]) — still normalised over the FULL
   * vocabulary (docs/methods.md §A4), by core/tensor's fused `logSoftmaxGather` (one pass each way). `labels(T)`
   * builds the int32 labels [B*T*K] once the padded length T (longest row + 1) is known; a label outside
   * [0, V) gives 0 and no gradient. Call inside a tidy / gradient scope. Result [B*T, K].
   */
  logProbsAt(
    histories: number[][],
    rows: number[][],
    K: number,
    labels: (T: number) => Int32Array,
    dropoutSeed?: number,
  ): { lp: TF.Tensor2D; T: number; lens: number[] } {
    const tf = getTf();
    const bt = this.layout(histories, rows);
    const N = bt.B * bt.T;
    const lab = labels(bt.T);
    if (lab.length !== N * K) throw new Error(`logProbsAt: ${lab.length} labels for ${N} states x ${K}`);
    const lp = logSoftmaxGather(this.logits(this.tokenHidden(bt, dropoutSeed)), tf.tensor2d(lab, [N, K], 'int32'));
    return { lp, T: bt.T, lens: bt.lens };
  }

  /** Log-probs [B, V] of the next token after each row (no gradient needed; used for decoding). */
  logProbsLast(histories: number[][], rows: number[][]): TF.Tensor2D {
    const tf = getTf();
    const bt = this.layout(histories, rows);
    const { B, H, L } = bt;
    const idx = new Int32Array(B);
    for (let b = 0; b < B; b++) idx[b] = b * L + H + bt.lens[b] - 1;
    const h = this.hidden(bt);
    return this.head(tf.gather(h, tf.tensor1d(idx, 'int32')) as TF.Tensor2D);
  }

  /**
   * StepPolicy (core/decode, apis.md): full-vocabulary log-probs over the POLICY vocabulary for the
   * next token of each row; `prefixes` are policy ids without BOS. Runs in chunks to bound memory.
   */
  async nextLogProbs(histories: number[][], prefixes: number[][]): Promise<Float32Array[]> {
    const tf = getTf();
    const out: Float32Array[] = [];
    const V = this.cfg.vocabSize;
    const chunk = 512;
    for (let s = 0; s < prefixes.length; s += chunk) {
      const hs = histories.slice(s, s + chunk);
      const ps = prefixes.slice(s, s + chunk);
      const t = tf.tidy(() => this.logProbsLast(hs, ps));
      const data = (await t.data()) as Float32Array;
      t.dispose();
      for (let b = 0; b < ps.length; b++) out.push(data.subarray(b * V, (b + 1) * V));
    }
    return out;
  }

  /**
   * Incremental decoding (docs/methods.md §A6 "next-token log-probs for a batch of states, incremental decoding";
   * used by the A7 beam search and the A4 sampler in core/decode): runs the history prefix and BOS once,
   * keeps every layer's attention keys/values, and then each `step` runs only the new token through the
   * layers, attending to the cached keys/values of its parent state. Same positions (absolute, the
   * history left-padded to `maxHistory`) and the same padding mask as `nextLogProbs`, dropout off, so
   * the log-probs equal the stateless path up to float rounding. The session owns its cache tensors:
   * call `dispose()` when done.
   */
  async startSession(histories: number[][]): Promise<SessionStart> {
    const tf = getTf();
    const { cfg } = this;
    const H = cfg.maxHistory;
    const bt = this.layout(
      histories,
      histories.map(() => []),
    );
    const { B, L } = bt;
    const off = new Int32Array(B);
    for (let b = 0; b < B; b++) off[b] = H > 0 ? H - Math.min(H, (histories[b] ?? []).length) : 0;
    const kept = tf.tidy(() => {
      const kv = { k: [] as TF.Tensor4D[], v: [] as TF.Tensor4D[] };
      const h = this.hidden(bt, undefined, kv);
      const idx = new Int32Array(B);
      for (let b = 0; b < B; b++) idx[b] = b * L + H; // the BOS state of each row
      const last = tf.gather(h, tf.tensor1d(idx, 'int32')) as TF.Tensor2D;
      return [last, ...kv.k, ...kv.v];
    });
    const nl = cfg.layers;
    const session = new PolicySession(this, kept.slice(1, 1 + nl) as TF.Tensor4D[], kept.slice(1 + nl) as TF.Tensor4D[], off, L);
    try {
      return { session, logProbs: await this.headChunks(kept[0] as TF.Tensor2D) };
    } catch (e) {
      session.dispose();
      throw e;
    } finally {
      kept[0].dispose();
    }
  }

  /** Full-vocabulary log-probs of hidden states [N, D], downloaded per chunk of 512 rows to bound memory. Does not dispose `h`. */
  async headChunks(h: TF.Tensor2D): Promise<Float32Array[]> {
    const tf = getTf();
    const [N, D] = h.shape;
    const V = this.cfg.vocabSize;
    const out: Float32Array[] = [];
    const chunk = 512;
    for (let s = 0; s < N; s += chunk) {
      const n = Math.min(chunk, N - s);
      const t = tf.tidy(() => this.head(tf.slice(h, [s, 0], [n, D])));
      const data = (await t.data()) as Float32Array;
      t.dispose();
      for (let b = 0; b < n; b++) out.push(data.subarray(b * V, (b + 1) * V));
    }
    return out;
  }

  /**
   * One incremental step (see `startSession`): new state i = state `parents[i]` of the cache plus token
   * `tokens[i]` at absolute position `pos`. Returns the final-layer-norm hidden states [N, D] and the new
   * per-layer keys/values [N, heads, L+1, dh]; the caller (PolicySession) owns and disposes them.
   */
  stepHidden(
    K: TF.Tensor4D[],
    Vc: TF.Tensor4D[],
    parents: Int32Array,
    identity: boolean,
    tokens: Int32Array,
    off: Int32Array,
    pos: number,
  ): TF.Tensor[] {
    const tf = getTf();
    const { cfg, weights: w } = this;
    const N = tokens.length;
    const D = cfg.dModel;
    const nh = cfg.heads;
    const dh = D / nh;
    const L = pos + 1; // keys: every slot up to and including the new token
    const maskData = new Float32Array(N * L);
    for (let b = 0; b < N; b++) for (let j = 0; j < off[b]; j++) maskData[b * L + j] = -1e9; // history padding
    return tf.tidy(() => {
      const par = tf.tensor1d(parents, 'int32');
      let x = tf.add(tf.gather(w.tokEmb, tf.tensor1d(tokens, 'int32')), tf.slice(w.posEmb, [pos, 0], [1, D])) as TF.Tensor2D;
      const mask = tf.tensor4d(maskData, [N, 1, 1, L]);
      const scale = 1 / Math.sqrt(dh);
      const newK: TF.Tensor4D[] = [],
        newV: TF.Tensor4D[] = [];
      for (let l = 0; l < cfg.layers; l++) {
        const p = (n: string) => w[`l${l}.${n}`];
        const h = this.ln(x, p('ln1.g'), p('ln1.b'));
        const qkv = tf.add(tf.matMul(h, p('wqkv')), p('bqkv.b')).reshape([N, 3, nh, dh]);
        const qkvT = tf.transpose(qkv, [1, 0, 2, 3]); // [3, N, nh, dh]
        const [q, k, v] = tf.split(qkvT, 3, 0).map((t) => t.reshape([N, nh, 1, dh]) as TF.Tensor4D);
        const kAll = tf.concat([identity ? K[l] : tf.gather(K[l], par, 0), k], 2) as TF.Tensor4D; // [N, nh, L, dh]
        const vAll = tf.concat([identity ? Vc[l] : tf.gather(Vc[l], par, 0), v], 2) as TF.Tensor4D;
        newK.push(kAll);
        newV.push(vAll);
        const scores = tf
          .mul(tf.matMul(q.reshape([N * nh, 1, dh]) as TF.Tensor3D, kAll.reshape([N * nh, L, dh]) as TF.Tensor3D, false, true), scale)
          .reshape([N, nh, 1, L]);
        const att = tf.softmax(tf.add(scores, mask)).reshape([N * nh, 1, L]) as TF.Tensor3D;
        const merged = tf.matMul(att, vAll.reshape([N * nh, L, dh]) as TF.Tensor3D).reshape([N, D]) as TF.Tensor2D;
        x = tf.add(x, tf.add(tf.matMul(merged, p('wo')), p('bo.b'))) as TF.Tensor2D;
        const h2 = this.ln(x, p('ln2.g'), p('ln2.b'));
        const f = tf.relu(tf.add(tf.matMul(h2, p('w1')), p('b1.b'))) as TF.Tensor2D;
        x = tf.add(x, tf.add(tf.matMul(f, p('w2')), p('b2.b'))) as TF.Tensor2D;
      }
      return [this.ln(x, w['lnf.g'], w['lnf.b']), ...newK, ...newV];
    });
  }

  /** Current weights as named float32 arrays (checkpoint order). */
  async snapshotWeights(): Promise<Map<string, Float32Array>> {
    const m = new Map<string, Float32Array>();
    for (const n of this.names) m.set(n, (await this.weights[n].data()) as Float32Array);
    return m;
  }
}
