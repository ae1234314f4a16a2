import type * as TF from '@tensorflow/tfjs-core';
import type { DecodeSession } from '../decode';

/** What a session needs from its policy (core/models/policy.ts TransformerPolicy provides it). */
export interface SessionModel {
  readonly cfg: { readonly maxHistory: number; readonly maxTokens: number; readonly vocabSize: number; readonly layers: number };
  stepHidden(
    K: TF.Tensor4D[],
    Vc: TF.Tensor4D[],
    parents: Int32Array,
    identity: boolean,
    tokens: Int32Array,
    off: Int32Array,
    pos: number,
  ): TF.Tensor[];
  headChunks(h: TF.Tensor2D): Promise<Float32Array[]>;
}

/**
 * A TransformerPolicy decoding session (docs/methods.md §A6 incremental decoding): the per-layer key/value cache
 * of the current states ([states, heads, positions, dh]) and each state's number of history padding slots.
 */
export class PolicySession implements DecodeSession {
  private disposed = false;

  constructor(
    private readonly policy: SessionModel,
    private K: TF.Tensor4D[],
    private V: TF.Tensor4D[],
    private off: Int32Array,
    private len: number,
  ) {}

  get size(): number {
    return this.off.length;
  }

  async step(parents: ArrayLike<number>, tokens: ArrayLike<number>): Promise<Float32Array[]> {
    if (this.disposed) throw new Error('decode session used after dispose()');
    const N = tokens.length;
    if (parents.length !== N) throw new Error(`decode session: ${parents.length} parents for ${N} tokens`);
    const { cfg } = this.policy;
    const pos = this.len; // absolute position of the new token
    if (pos - cfg.maxHistory + 1 > cfg.maxTokens)
      throw new Error(`title of ${pos - cfg.maxHistory} tokens exceeds the policy's maxTokens ${cfg.maxTokens - 1}`);
    const par = Int32Array.from(parents);
    const tok = Int32Array.from(tokens);
    const S = this.off.length;
    let identity = N === S;
    const off = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      const p = par[i];
      if (!(p >= 0 && p < S)) throw new Error(`decode session: parent ${p} outside 0..${S - 1}`);
      if (p !== i) identity = false;
      off[i] = this.off[p];
      if (!(tok[i] >= 0 && tok[i] < cfg.vocabSize)) throw new Error(`decode session: token ${tok[i]} outside the policy vocabulary`);
    }
    const res = this.policy.stepHidden(this.K, this.V, par, identity, tok, off, pos);
    const nl = cfg.layers;
    for (const t of this.K) t.dispose();
    for (const t of this.V) t.dispose();
    this.K = res.slice(1, 1 + nl) as TF.Tensor4D[];
    this.V = res.slice(1 + nl) as TF.Tensor4D[];
    this.off = off;
    this.len = pos + 1;
    try {
      return await this.policy.headChunks(res[0] as TF.Tensor2D);
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
