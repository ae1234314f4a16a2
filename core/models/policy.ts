/**
 * The Flower policy (docs/methods.md §A6): a small decoder-only transformer trained from scratch. The prefix of
 * every sequence is the user's history as ITEM-ID embeddings (oldest first, left-padded to
 * `maxHistory`), then BOS, then title tokens in the policy vocabulary (core/tokenize PolicyVocab).
 * Output = full policy-vocabulary log-softmax (docs/methods.md §A4/A7). Padding is masked out of attention
 * (the docs/methods.md §A4 "fix": the reference right-pads with EOS without a mask; core/models/policyInput.ts).
 * The layers are core/models/policyBlock.ts's, run on tfjs tensors here and written to ONNX by
 * core/models/onnx/policy.ts; training, stateless and incremental decoding all go through them.
 *
 * tfjs notes (docs/testing.md): only 2-D matMuls or batched matMuls with equal batch dims (broadcasting
 * matMul grads are broken), flat gathers / one-hot products instead of gatherND (no gradient).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { SessionStart } from '../decode';
import { Rng } from '../util/random';
import { getTf } from '../tensor';
import { dropout, layerNorm, logSoftmaxGather } from '../tensor/ops';
import { attend, emptyCaches, layerCache, type LayerCaches } from './attention';
import { LN_EPS, policyLayers, policyShapes, type BlockOps, type PolicyConfig } from './policyBlock';
import { layoutPolicyBatch, type PolicyBatch } from './policyInput';
import { PolicySession, type SessionModel } from './policySession';
import type { LogProbsAt } from './trainablePolicy';

export type { PolicyConfig } from './policyBlock';

export type Weights = Record<string, TF.Variable>;

/** Decoder-only transformer policy with item-id history prefix (docs/methods.md §A6). */
export class TransformerPolicy implements SessionModel {
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

  /** Parameter shapes by name (stable order = checkpoint order; core/models/policyBlock.ts). */
  static shapes(cfg: PolicyConfig): Record<string, number[]> {
    return policyShapes(cfg);
  }

  get vocabSize(): number {
    return this.cfg.vocabSize;
  }

  paramCount(): number {
    return this.names.reduce((a, n) => a + this.weights[n].size, 0);
  }

  dispose(): void {
    for (const n of this.names) this.weights[n].dispose();
  }

  /**
   * The block's operations on tfjs tensors (core/models/policyBlock.ts), for B rows of Lq new positions each.
   * Layer norm is core/tensor's fused `layerNorm` (one kernel each way on wasm/cpu). `mask` is the additive
   * attention mask [B, 1, Lq, keys]; `cache` the earlier positions' keys/values (incremental decoding), `kept`
   * collects every layer's keys/values over all positions (the next cache).
   */
  private ops(
    B: number,
    Lq: number,
    mask: TF.Tensor4D,
    drop: (x: TF.Tensor2D) => TF.Tensor2D,
    cache?: LayerCaches & { parents?: TF.Tensor1D },
    kept?: LayerCaches,
  ): BlockOps<TF.Tensor2D> {
    const tf = getTf();
    const w = this.weights;
    const nh = this.cfg.heads;
    const dh = this.cfg.dModel / nh;
    return {
      linear: (x, wn, bn) => tf.add(tf.matMul(x, w[wn]), w[bn]) as TF.Tensor2D,
      layerNorm: (x, n) => layerNorm(x, w[`${n}.g`], w[`${n}.b`], LN_EPS) as TF.Tensor2D,
      relu: (x) => tf.relu(x) as TF.Tensor2D,
      add: (a, b) => tf.add(a, b) as TF.Tensor2D,
      dropout: drop,
      attention: (qkv, l) => {
        const qkvT = tf.transpose(qkv.reshape([B, Lq, 3, nh, dh]), [2, 0, 3, 1, 4]); // [3, B, nh, Lq, dh]
        const [q, k, v] = tf.split(qkvT, 3, 0).map((t) => t.reshape([B, nh, Lq, dh]) as TF.Tensor4D);
        const a = attend(q, k, v, mask, cache && layerCache(cache, l, cache.parents));
        kept?.K.push(a.k);
        kept?.V.push(a.v);
        return a.merged;
      },
    };
  }

  /**
   * Hidden states [B*L, D] of the final layer norm. `dropoutSeed` given = training mode (dropout on).
   * `kept` given: each layer's attention keys and values, [B, heads, L, dh], are pushed to it (the
   * incremental-decoding cache, see `startSession`).
   */
  private hidden(bt: PolicyBatch, dropoutSeed?: number, kept?: LayerCaches): TF.Tensor2D {
    const tf = getTf();
    const { cfg, weights: w } = this;
    const { B, H, T, L } = bt;
    const D = cfg.dModel;
    let seedCounter = dropoutSeed ?? 0;
    const drop = (x: TF.Tensor2D): TF.Tensor2D =>
      dropoutSeed !== undefined && cfg.dropout > 0 ? (dropout(x, cfg.dropout, seedCounter++) as TF.Tensor2D) : x;

    const tokE = tf.gather(w.tokEmb, tf.tensor1d(bt.toks, 'int32')).reshape([B, T, D]);
    let x3: TF.Tensor3D;
    if (H > 0) {
      const itE = tf.gather(w.itemEmb, tf.tensor1d(bt.items, 'int32')).reshape([B, H, D]);
      x3 = tf.concat([itE, tokE], 1) as TF.Tensor3D;
    } else x3 = tokE as TF.Tensor3D;
    const pos = tf.slice(w.posEmb, [0, 0], [L, D]);
    const x = drop(tf.add(x3, pos).reshape([B * L, D]) as TF.Tensor2D);
    const mask = tf.tensor4d(bt.mask, [B, 1, L, L]);
    return policyLayers(this.ops(B, L, mask, drop, undefined, kept), cfg.layers, x);
  }

  private logits(h: TF.Tensor2D): TF.Tensor2D {
    const tf = getTf();
    return tf.add(tf.matMul(h, this.weights.headW), this.weights['head.b']) as TF.Tensor2D;
  }

  private head(h: TF.Tensor2D): TF.Tensor2D {
    return getTf().logSoftmax(this.logits(h)) as TF.Tensor2D;
  }

  /** Token-state hidden rows [B*T, D] (row b*T+t = state s_t of row b) of a laid-out batch. */
  private tokenHidden(bt: PolicyBatch, dropoutSeed?: number): TF.Tensor2D {
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
    const bt = layoutPolicyBatch(this.cfg, histories, rows);
    return { logp: this.head(this.tokenHidden(bt, dropoutSeed)), T: bt.T, lens: bt.lens };
  }

  /**
   * `logProbsAll` read at chosen tokens, without materialising the [B*T, V] log-probs: lp[b*T+t, k] =
   * log π(labels[(b*T+t)*K + k] | history, BOS, rows[b][0..t-1]) — still normalised over the FULL
   * vocabulary (docs/methods.md §A4), by core/tensor's fused `logSoftmaxGather` (one pass each way). `labels(T)`
   * builds the int32 labels [B*T*K] once the padded length T (longest row + 1) is known; a label outside
   * [0, V) gives 0 and no gradient. Call inside a tidy / gradient scope. Result [B*T, K].
   */
  logProbsAt(...[histories, rows, K, labels, dropoutSeed]: Parameters<LogProbsAt>): ReturnType<LogProbsAt> {
    const tf = getTf();
    const bt = layoutPolicyBatch(this.cfg, histories, rows);
    const N = bt.B * bt.T;
    const lab = labels(bt.T);
    if (lab.length !== N * K) throw new Error(`logProbsAt: ${lab.length} labels for ${N} states x ${K}`);
    const lp = logSoftmaxGather(this.logits(this.tokenHidden(bt, dropoutSeed)), tf.tensor2d(lab, [N, K], 'int32'));
    return { lp, T: bt.T, lens: bt.lens };
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
      const bt = layoutPolicyBatch(this.cfg, histories.slice(s, s + chunk), prefixes.slice(s, s + chunk));
      const idx = Int32Array.from(bt.lens, (len, b) => b * bt.L + bt.H + len - 1);
      const t = tf.tidy(() => this.head(tf.gather(this.hidden(bt), tf.tensor1d(idx, 'int32')) as TF.Tensor2D));
      const data = (await t.data()) as Float32Array;
      t.dispose();
      for (let b = 0; b < bt.B; b++) out.push(data.subarray(b * V, (b + 1) * V));
    }
    return out;
  }

  /**
   * Incremental decoding (core/models/policySession.ts): runs the history prefix and BOS once, keeps every
   * layer's attention keys/values; each step then runs only the new token through the same blocks. Same
   * positions (absolute, the history left-padded to `maxHistory`) and the same padding mask as `nextLogProbs`,
   * dropout off, so the log-probs equal the stateless path up to float rounding. The session owns its cache
   * tensors: call `dispose()` when done.
   */
  async startSession(histories: number[][]): Promise<SessionStart> {
    const tf = getTf();
    const bt = layoutPolicyBatch(
      this.cfg,
      histories,
      histories.map(() => []),
    );
    const { B, H, L } = bt;
    const start = tf.tidy(() => {
      const kept = emptyCaches();
      const h = this.hidden(bt, undefined, kept);
      const idx = Int32Array.from({ length: B }, (_, b) => b * L + H); // the BOS state of each row
      return { hidden: tf.gather(h, tf.tensor1d(idx, 'int32')) as TF.Tensor2D, ...kept };
    });
    return PolicySession.open(this, start, bt.off, new Int32Array(B).fill(L));
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

  /** SessionModel: a title token at slot H + maxTokens or beyond has no position embedding. */
  checkSlot(slot: number): void {
    const { maxHistory: H, maxTokens } = this.cfg;
    if (slot - H + 1 > maxTokens) throw new Error(`title of ${slot - H} tokens exceeds the policy's maxTokens ${maxTokens - 1}`);
  }

  /** SessionModel: one incremental step through the same blocks (core/models/policySession.ts). */
  stepHidden(
    ...[cache, parents, tokens, positions, padMask]: Parameters<SessionModel['stepHidden']>
  ): ReturnType<SessionModel['stepHidden']> {
    const tf = getTf();
    const w = this.weights;
    const N = tokens.length;
    return tf.tidy(() => {
      const par = parents && tf.tensor1d(parents, 'int32');
      const x = tf.add(
        tf.gather(w.tokEmb, tf.tensor1d(tokens, 'int32')),
        tf.gather(w.posEmb, tf.tensor1d(positions, 'int32')),
      ) as TF.Tensor2D;
      const mask = tf.tensor4d(padMask, [N, 1, 1, padMask.length / N]);
      const kept = emptyCaches();
      const hidden = policyLayers(
        this.ops(N, 1, mask, (t) => t, { ...cache, parents: par }, kept),
        this.cfg.layers,
        x,
      );
      return { hidden, ...kept };
    });
  }

  /** Current weights as named float32 arrays (checkpoint order). */
  async snapshotWeights(): Promise<Map<string, Float32Array>> {
    const m = new Map<string, Float32Array>();
    for (const n of this.names) m.set(n, (await this.weights[n].data()) as Float32Array);
    return m;
  }
}
