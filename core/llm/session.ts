/**
 * Incremental decoding for the causal LM (docs/methods.md §A6 "incremental decoding", used by the §A7 beam
 * search and the §A4 sampler through core/decode's DecodeSession): the prompts run once, every layer's
 * keys (after RoPE) and values are kept, [states, kvHeads, slots, headDim]; each `step` runs only the new
 * tokens, attending to their parent state's cache. Prompts are left-padded; a state's padding slots stay
 * masked and its positions count only real tokens, so results equal the stateless forward.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { DecodeSession } from '../decode';
import type { CausalLM } from './model';

export class LmSession implements DecodeSession {
  private disposed = false;

  /**
   * `off[i]`: padding slots before state i's prompt; `pos[i]`: absolute position of state i's next token;
   * `slots`: cache length. `head` turns final hidden states into full-vocabulary log-probs.
   */
  constructor(
    private readonly lm: CausalLM,
    private K: TF.Tensor4D[],
    private V: TF.Tensor4D[],
    private off: Int32Array,
    private pos: Int32Array,
    private slots: number,
    private readonly head: (h: TF.Tensor2D) => Promise<Float32Array[]>,
  ) {}

  get size(): number {
    return this.off.length;
  }

  async step(parents: ArrayLike<number>, tokens: ArrayLike<number>): Promise<Float32Array[]> {
    if (this.disposed) throw new Error('decode session used after dispose()');
    const N = tokens.length;
    if (parents.length !== N) throw new Error(`decode session: ${parents.length} parents for ${N} tokens`);
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
      if (!(tok[i] >= 0 && tok[i] < this.lm.cfg.vocabSize)) throw new Error(`decode session: token ${tok[i]} outside the model vocabulary`);
      off[i] = this.off[p];
      pos[i] = this.pos[p];
    }
    const Lc = this.slots + 1;
    const mask = new Float32Array(N * Lc);
    for (let i = 0; i < N; i++) for (let j = 0; j < off[i]; j++) mask[i * Lc + j] = -1e9;
    const res = this.lm.stepHidden(this.K, this.V, par, identity, tok, pos, mask);
    const nl = this.lm.cfg.layers;
    for (const t of this.K) t.dispose();
    for (const t of this.V) t.dispose();
    this.K = res.slice(1, 1 + nl) as TF.Tensor4D[];
    this.V = res.slice(1 + nl) as TF.Tensor4D[];
    this.off = off;
    for (let i = 0; i < N; i++) pos[i]++;
    this.pos = pos;
    this.slots = Lc;
    try {
      return await this.head(res[0] as TF.Tensor2D);
    } finally {
      res[0].dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.K) t.dispose();
    for (const t of this.V) t.dispose();
    this.K = [];
    this.V = [];
  }
}
