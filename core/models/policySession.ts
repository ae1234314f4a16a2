/**
 * Incremental decoding (docs/methods.md §A6 "next-token log-probs for a batch of states, incremental decoding"; used by
 * the §A7 beam search and the §A4 sampler through core/decode's DecodeSession), for either policy: the Flower policy
 * trained from scratch (core/models/policy.ts) and the pretrained causal LM (core/llm/policy.ts, §A6b). The prefix of
 * every state (history or prompt) runs once; every layer's keys and values are kept, [states, kvHeads, slots, headDim];
 * each `step` runs only the new tokens, attending to their parent state's cache (core/models/attention.ts). Prefixes
 * are left-padded: a state's padding slots stay masked, so its log-probs equal the stateless path up to float rounding.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { DecodeSession, SessionStart } from '../decode';
import { emptyCaches, type LayerCaches } from './attention';

/** What a session needs from its policy (TransformerPolicy and LmPolicy provide it). */
export interface SessionModel {
  /** Size of the vocabulary the tokens index (the log-probs cover all of it). */
  readonly vocabSize: number;
  /** Throw when a token cannot go to cache slot `slot` (the model's length limit); absent = no limit. */
  checkSlot?(slot: number): void;
  /**
   * One step: new state i = cached state `parents[i]` (undefined: state i) plus token `tokens[i]` at position
   * `positions[i]`; `padMask` [N, slots+1] is the additive mask over the cache slots and the new one. Returns the
   * final-norm hidden states [N, D] and the grown caches; the caller owns them.
   */
  stepHidden(
    cache: LayerCaches,
    parents: Int32Array | undefined,
    tokens: Int32Array,
    positions: Int32Array,
    padMask: Float32Array,
  ): LayerCaches & { hidden: TF.Tensor2D };
  /** Full-vocabulary log-probs of hidden states [N, D], downloaded per chunk. Does not dispose `h`. */
  headChunks(h: TF.Tensor2D): Promise<Float32Array[]>;
}

/**
 * A decoding session: the per-layer key/value cache of the current states, each state's padding slots before its
 * prefix (`off`) and the position of its next token (`pos`), and the cache length (`slots`).
 */
export class PolicySession implements DecodeSession {
  private disposed = false;

  private constructor(
    private readonly model: SessionModel,
    private cache: LayerCaches,
    private off: Int32Array,
    private pos: Int32Array,
    private slots: number,
  ) {}

  /**
   * The session over prefixes already run through the model: `start.hidden` [B, D] the final-norm hidden state of
   * each prefix's last slot, `start.K`/`start.V` the caches (the session owns them from here), `off` the padding
   * slots before each prefix, `pos` each state's next position. Returns the session and the first log-probs.
   */
  static async open(
    model: SessionModel,
    start: LayerCaches & { hidden: TF.Tensor2D },
    off: Int32Array,
    pos: Int32Array,
  ): Promise<SessionStart> {
    const session = new PolicySession(model, { K: start.K, V: start.V }, off, pos, start.K[0]?.shape[2] ?? 0);
    try {
      return { session, logProbs: await model.headChunks(start.hidden) };
    } catch (e) {
      session.dispose();
      throw e;
    } finally {
      start.hidden.dispose();
    }
  }

  get size(): number {
    return this.off.length;
  }

  async step(parents: ArrayLike<number>, tokens: ArrayLike<number>): Promise<Float32Array[]> {
    if (this.disposed) throw new Error('decode session used after dispose()');
    const N = tokens.length;
    if (parents.length !== N) throw new Error(`decode session: ${parents.length} parents for ${N} tokens`);
    this.model.checkSlot?.(this.slots);
    const S = this.off.length;
    const par = Int32Array.from(parents);
    const tok = Int32Array.from(tokens);
    const off = new Int32Array(N);
    const pos = new Int32Array(N);
    let identity = N === S;
    for (let i = 0; i < N; i++) {
      const p = par[i];
      if (!(p >= 0 && p < S)) throw new Error(`decode session: parent ${p} outside 0..${S - 1}`);
      if (p !== i) identity = false;
      if (!(tok[i] >= 0 && tok[i] < this.model.vocabSize))
        throw new Error(`decode session: token ${tok[i]} outside the vocabulary 0..${this.model.vocabSize - 1}`);
      off[i] = this.off[p];
      pos[i] = this.pos[p];
    }
    const Lc = this.slots + 1;
    const mask = new Float32Array(N * Lc);
    for (let i = 0; i < N; i++) for (let j = 0; j < off[i]; j++) mask[i * Lc + j] = -1e9;
    const res = this.model.stepHidden(this.cache, identity ? undefined : par, tok, pos, mask);
    this.release();
    this.cache = { K: res.K, V: res.V };
    this.off = off;
    for (let i = 0; i < N; i++) pos[i]++;
    this.pos = pos;
    this.slots = Lc;
    try {
      return await this.model.headChunks(res.hidden);
    } finally {
      res.hidden.dispose();
    }
  }

  private release(): void {
    for (const t of this.cache.K) t.dispose();
    for (const t of this.cache.V) t.dispose();
    this.cache = emptyCaches();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }
}
