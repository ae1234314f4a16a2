/**
 * A pretrained decoder-only causal LM in Flowloop's tensor layer (docs/methods.md §A6b: the paper's policy is
 * a Qwen2/2.5 LLM): the Qwen2 / Llama block of the Hugging Face definitions —
 *   x ← x + o_proj(Attn(RoPE(q_proj(n1)), RoPE(k_proj(n1)), v_proj(n1))),  n1 = RMSNorm(x)
 *   x ← x + down_proj(silu(gate_proj(n2)) ⊙ up_proj(n2)),                  n2 = RMSNorm(x)
 * with grouped-query attention (each key/value head serves heads/kvHeads query heads), a final RMSNorm
 * and the LM head (`lm_head`, or the input embedding when tied). Weights keep Hugging Face's names and
 * [out, in] layouts and are float32 (bf16/fp16 files are widened on load: tfjs has no half type).
 *
 * Every projection goes through `linear(x, name)`, the one place a LoRA adapter plugs in
 * (Hu et al. 2021, eq. 3: h = W x + (α/r)·B A x): `adapters.set(name, {A, B, scale, dropout})`.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { getTf } from '../tensor';
import { dropout } from '../tensor/ops';
import { LocatedError } from '../experiment/context';
import { expectedWeights, type LlmConfig } from './hfConfig';
import { inverseFrequencies, ropeTables } from './rope';
import { causalMask, type SeqLayout } from './layout';
import { attend, emptyCaches, layerCache, type KvCache, type LayerCaches } from '../models/attention';
import type { SessionModel } from '../models/policySession';
import type { LazyTensor, LoadedTensor } from './safetensors';

/** A LoRA adapter on one linear layer: delta = scale · dropout(x) Aᵀ Bᵀ, A [r, in], B [out, r] (PEFT's lora_A / lora_B). */
export interface LinearAdapter {
  A: TF.Tensor2D;
  B: TF.Tensor2D;
  /** α / r (PEFT `lora_alpha / r`). */
  scale: number;
  /** Dropout on the adapter's input during training (PEFT `lora_dropout`). */
  dropout?: number;
}

export interface ForwardOptions {
  /** Training mode: adapter dropout on, seeded (the base model has no dropout: Qwen2 / Llama attention_dropout = 0). */
  dropoutSeed?: number;
  /** Collect every layer's keys (after RoPE) and values, [B, kvHeads, L, headDim] (incremental decoding). */
  kv?: LayerCaches;
  /** No gradient will be taken: each layer runs in its own tidy, so only one layer's intermediates are alive. */
  inference?: boolean;
}

export class CausalLM {
  /** Weights by Hugging Face name (float32 variables; trainable flags set by `setTrainable`). */
  readonly weights: Record<string, TF.Variable> = {};
  /** LoRA adapters by module name, e.g. `model.layers.0.self_attn.q_proj` (see `linear`). */
  readonly adapters = new Map<string, LinearAdapter>();
  readonly invFreq: Float32Array;
  private dropCounter = 0;

  /**
   * Build from loaded tensors (`readModelWeights`). Missing, extra or mis-shaped tensors are located
   * errors naming `source` (the folder). Tied models use `model.embed_tokens.weight` as the head.
   */
  constructor(
    readonly cfg: LlmConfig,
    tensors: Map<string, LoadedTensor | LazyTensor | { shape: number[]; data: Float32Array }>,
    source = 'model',
  ) {
    const tf = getTf();
    const want = expectedWeights(cfg);
    for (const [name, shape] of want) {
      const t = tensors.get(name);
      if (!t)
        throw new LocatedError(
          `tensor "${name}" [${shape}] is missing from the weights${name === 'lm_head.weight' ? ' (config.json says tie_word_embeddings = false)' : ''}`,
          `${source}: ${name}`,
          source,
        );
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        throw new LocatedError(`tensor "${name}" has shape [${t.shape}], config.json implies [${shape}]`, `${source}: ${name}`, source);
    }
    for (const name of tensors.keys()) {
      if (want.has(name)) continue;
      if (name === 'lm_head.weight' && cfg.tieEmbeddings) continue; // some tied checkpoints store the copy
      if (/rotary_emb\.inv_freq$/.test(name)) continue; // old checkpoints store the RoPE buffer
      throw new LocatedError(`unexpected tensor "${name}" for ${cfg.architectureName} with this config.json`, `${source}: ${name}`, source);
    }
    for (const [name, shape] of want) {
      const t = tensors.get(name)!;
      const init = tf.tensor(t.data, shape, 'float32'); // a LazyTensor reads its bytes here
      this.weights[name] = tf.variable(init, false, `${name}#${Math.random().toString(36).slice(2, 8)}`);
      init.dispose();
    }
    this.invFreq = inverseFrequencies(cfg);
  }

  /** Mark which base weights are trainable (full fine-tuning: all; LoRA: none). Returns the trainable variables. */
  setTrainable(names: Iterable<string> | 'all' | 'none'): TF.Variable[] {
    const set = names === 'all' ? new Set(Object.keys(this.weights)) : names === 'none' ? new Set<string>() : new Set(names);
    for (const n of set) if (!this.weights[n]) throw new Error(`setTrainable: no weight "${n}"`);
    const out: TF.Variable[] = [];
    for (const [n, v] of Object.entries(this.weights)) {
      v.trainable = set.has(n);
      if (v.trainable) out.push(v);
    }
    return out;
  }

  paramCount(): number {
    return Object.values(this.weights).reduce((a, v) => a + v.size, 0);
  }

  dispose(): void {
    for (const v of Object.values(this.weights)) v.dispose();
    for (const a of this.adapters.values()) {
      a.A.dispose();
      a.B.dispose();
    }
    this.adapters.clear();
  }

  /** The output-embedding matrix [V, D] (lm_head, or the input embedding when tied). */
  headWeight(): TF.Variable {
    return this.weights[this.cfg.tieEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'];
  }

  /**
   * y = x Wᵀ (+ b) for module `name` (e.g. `model.layers.3.mlp.up_proj`), plus the LoRA delta
   * scale · dropout(x) Aᵀ Bᵀ when an adapter for `name` is registered. x [N, in] -> [N, out].
   */
  linear(x: TF.Tensor2D, name: string, dropoutSeed?: number): TF.Tensor2D {
    const tf = getTf();
    let y = tf.matMul(x, this.weights[`${name}.weight`], false, true) as TF.Tensor2D;
    const b = this.weights[`${name}.bias`];
    if (b) y = tf.add(y, b) as TF.Tensor2D;
    const ad = this.adapters.get(name);
    if (ad) {
      let xi = x;
      if (dropoutSeed !== undefined && ad.dropout && ad.dropout > 0)
        xi = dropout(x, ad.dropout, dropoutSeed + this.dropCounter++) as TF.Tensor2D;
      const delta = tf.matMul(tf.matMul(xi, ad.A, false, true), ad.B, false, true);
      y = tf.add(y, tf.mul(delta, ad.scale)) as TF.Tensor2D;
    }
    return y;
  }

  /** RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + eps) · w, over the last axis. */
  rmsNorm(x: TF.Tensor2D, name: string): TF.Tensor2D {
    const tf = getTf();
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.cfg.rmsEps));
    return tf.mul(tf.mul(x, r), this.weights[`${name}.weight`]) as TF.Tensor2D;
  }

  /** x·cos + rotate_half(x)·sin for x [B, L, heads, d] with tables [B, L, 1, d]. */
  private rope(x: TF.Tensor4D, cos: TF.Tensor4D, sin: TF.Tensor4D): TF.Tensor4D {
    const tf = getTf();
    const h = this.cfg.headDim / 2;
    const [x1, x2] = tf.split(x, [h, h], 3);
    const rot = tf.concat([tf.neg(x2), x1], 3);
    return tf.add(tf.mul(x, cos), tf.mul(rot, sin)) as TF.Tensor4D;
  }

  /** cos/sin tensors [rows, cols, 1, headDim] for absolute positions [rows*cols]. */
  ropeTensors(positions: Int32Array, rows: number, cols: number): { cos: TF.Tensor4D; sin: TF.Tensor4D } {
    const tf = getTf();
    const { cos, sin } = ropeTables(this.invFreq, positions);
    const d = this.cfg.headDim;
    return { cos: tf.tensor4d(cos, [rows, cols, 1, d]), sin: tf.tensor4d(sin, [rows, cols, 1, d]) };
  }

  /** The SwiGLU MLP of layer `l` on [N, D]. */
  private mlp(h: TF.Tensor2D, l: number, seed?: number): TF.Tensor2D {
    const tf = getTf();
    const p = `model.layers.${l}.mlp`;
    const g = this.linear(h, `${p}.gate_proj`, seed);
    const u = this.linear(h, `${p}.up_proj`, seed);
    return this.linear(tf.mul(tf.mul(g, tf.sigmoid(g)), u) as TF.Tensor2D, `${p}.down_proj`, seed);
  }

  /**
   * Decoder layer `l` (the block of the file comment) on B rows of Lq new positions, x [B*Lq, D]: `cos`/`sin` the
   * RoPE tables of the new positions [B, Lq, 1, dh], `mask` the additive attention mask [B, 1, Lq, keys], `cache`
   * the earlier positions' keys/values (incremental decoding). Returns x and the keys/values of all positions.
   */
  private layer(
    l: number,
    x: TF.Tensor2D,
    B: number,
    Lq: number,
    rope: { cos: TF.Tensor4D; sin: TF.Tensor4D },
    mask: TF.Tensor4D,
    seed?: number,
    cache?: KvCache,
  ): [TF.Tensor2D, TF.Tensor4D, TF.Tensor4D] {
    const tf = getTf();
    const { heads: nh, kvHeads: nkv, headDim: dh } = this.cfg;
    const p = `model.layers.${l}`;
    const h = this.rmsNorm(x, `${p}.input_layernorm`);
    const heads = (name: string, n: number) => this.linear(h, `${p}.self_attn.${name}`, seed).reshape([B, Lq, n, dh]) as TF.Tensor4D;
    const q = tf.transpose(this.rope(heads('q_proj', nh), rope.cos, rope.sin), [0, 2, 1, 3]) as TF.Tensor4D; // [B, nh, Lq, dh]
    const k = tf.transpose(this.rope(heads('k_proj', nkv), rope.cos, rope.sin), [0, 2, 1, 3]) as TF.Tensor4D; // [B, nkv, Lq, dh]
    const v = tf.transpose(heads('v_proj', nkv), [0, 2, 1, 3]) as TF.Tensor4D;
    const a = attend(q, k, v, mask, cache);
    x = tf.add(x, this.linear(a.merged, `${p}.self_attn.o_proj`, seed)) as TF.Tensor2D;
    x = tf.add(x, this.mlp(this.rmsNorm(x, `${p}.post_attention_layernorm`), l, seed)) as TF.Tensor2D;
    return [x, a.k, a.v];
  }

  /**
   * Final-norm hidden states [B*L, D] of a laid-out batch (core/llm/layout). Call inside a tidy or a
   * gradient scope. `opts.kv` collects each layer's keys/values.
   */
  hidden(lay: SeqLayout, opts: ForwardOptions = {}): TF.Tensor2D {
    const tf = getTf();
    const { cfg } = this;
    const { B, L } = lay;
    const seed = opts.dropoutSeed;
    this.dropCounter = 0; // adapter dropout masks depend only on (seed, call order within this forward): resumable
    for (let i = 0; i < lay.ids.length; i++)
      if (!(lay.ids[i] >= 0 && lay.ids[i] < cfg.vocabSize))
        throw new Error(`token id ${lay.ids[i]} outside the model vocabulary 0..${cfg.vocabSize - 1}`);
    let x = tf.gather(this.weights['model.embed_tokens.weight'], tf.tensor1d(lay.ids, 'int32')) as TF.Tensor2D;
    const mask = tf.tensor4d(causalMask(lay), [B, 1, L, L]);
    const rope = this.ropeTensors(lay.positions, B, L);
    for (let l = 0; l < cfg.layers; l++) {
      let kT: TF.Tensor4D, vT: TF.Tensor4D;
      if (opts.inference) {
        // No backward pass: free each layer's intermediates as soon as the layer is done (memory = one layer).
        const prev = x;
        [x, kT, vT] = tf.tidy(() => this.layer(l, prev, B, L, rope, mask, seed));
        if (l > 0) prev.dispose();
        if (!opts.kv) {
          kT.dispose();
          vT.dispose();
        }
      } else [x, kT, vT] = this.layer(l, x, B, L, rope, mask, seed);
      if (opts.kv) {
        opts.kv.K.push(kT);
        opts.kv.V.push(vT);
      }
    }
    return this.rmsNorm(x, 'model.norm');
  }

  /** Logits [N, V] of hidden states [N, D]. */
  logits(h: TF.Tensor2D): TF.Tensor2D {
    return getTf().matMul(h, this.headWeight(), false, true) as TF.Tensor2D;
  }

  /**
   * One incremental decoding step over a KV cache (core/models/policySession.ts): new state i = cached state
   * `parents[i]` (undefined: state i) + token `tokens[i]` at position `positions[i]`, through the same layers as
   * `hidden`; `padMask` [N, slots+1] is the additive mask over the cache slots plus the new one. Returns the
   * final-norm hidden states [N, D] and the grown caches (each [N, kvHeads, slots+1, dh]); the caller owns them.
   */
  stepHidden(
    ...[cache, parents, tokens, positions, padMask]: Parameters<SessionModel['stepHidden']>
  ): ReturnType<SessionModel['stepHidden']> {
    const tf = getTf();
    const N = tokens.length;
    return tf.tidy(() => {
      const par = parents && tf.tensor1d(parents, 'int32');
      let x = tf.gather(this.weights['model.embed_tokens.weight'], tf.tensor1d(tokens, 'int32')) as TF.Tensor2D;
      const mask = tf.tensor4d(padMask, [N, 1, 1, padMask.length / N]);
      const rope = this.ropeTensors(positions, N, 1);
      const kept = emptyCaches();
      for (let l = 0; l < this.cfg.layers; l++) {
        let k: TF.Tensor4D, v: TF.Tensor4D;
        [x, k, v] = this.layer(l, x, N, 1, rope, mask, undefined, layerCache(cache, l, par));
        kept.K.push(k);
        kept.V.push(v);
      }
      return { hidden: this.rmsNorm(x, 'model.norm'), ...kept };
    });
  }
}
