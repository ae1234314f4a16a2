/**
 * Building blocks shared by SASRec, GRU4Rec and Caser: parameters keyed by their PyTorch names
 * (so imports and checkpoints are one name -> array map), PyTorch-default initialisation from the
 * seeded Rng, Linear with [out, in] weights, LayerNorm (eps 1e-5), embedding lookup through a flat
 * `gather` (gatherND has no gradient in tfjs), seeded dropout, and the shared item output layer.
 */
import { Rng } from '../util/random';
import { dropout as fusedDropout, layerNorm as fusedLayerNorm } from '../tensor/ops';
import { getTf, type Tensor, type Variable } from '../tensor';
import type { NamedArray } from './weights';

export type ModelKind = 'sasrec' | 'gru4rec' | 'caser';

export interface SeqModelConfig {
  model: ModelKind;
  /** Items 0..numItems-1; the padding id is numItems (embedding tables have numItems+1 rows). */
  numItems: number;
  /** Sequence length (histories are truncated to their last maxLen items; left-aligned, padded after). */
  maxLen: number;
  hidden: number;
  dropout: number;
  /** Caser: filters per horizontal height and the heights. */
  numFilters?: number;
  filterSizes?: number[];
  /** SASRec: std of the positional embedding init (PyTorch default 1). */
  positionalInitStd?: number;
}

/** N(0, std) array from the seeded Rng. */
export function normalInit(rng: Rng, n: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

/** U(-bound, bound) array from the seeded Rng (PyTorch Linear/Conv default: bound = 1/sqrt(fan_in)). */
export function uniformInit(rng: Rng, n: number, bound: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * bound;
  return a;
}

export function constInit(n: number, v: number): Float32Array {
  return new Float32Array(n).fill(v);
}

/**
 * The common base of the three models: named parameters, the item output layer `s_fc` (logits over
 * items 0..numItems-1 from the sequence representation), checkpoint arrays in/out.
 */
export abstract class SeqModelBase {
  readonly params = new Map<string, Variable>();

  constructor(readonly config: SeqModelConfig) {}

  get padId(): number {
    return this.config.numItems;
  }

  /** Create a trainable parameter (PyTorch name, shape, initial values). */
  protected addParam(name: string, shape: number[], data: Float32Array): Variable {
    const v = getTf().variable(getTf().tensor(data, shape, 'float32'), true);
    this.params.set(name, v);
    return v;
  }

  protected p(name: string): Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`${this.config.model}: no parameter ${name}`);
    return v;
  }

  /**
   * The sequence representation read at position len-1: [B, D] (D = s_fc's input size).
   * seq: int32 [B, maxLen] left-aligned, padded with padId; lens: int32 [B] (>= 1).
   */
  abstract represent(seq: Tensor, lens: Tensor, training: boolean, rng?: Rng): Tensor;

  /** logits over all items: [B, numItems] = rep s_fcᵀ + b. */
  logitsAll(rep: Tensor): Tensor {
    return linear(rep, this.p('s_fc.weight'), this.p('s_fc.bias'));
  }

  /** logit of one item per row: [B] (for BCE with sampled negatives — no full output layer). */
  logitsFor(rep: Tensor, items: Tensor): Tensor {
    const t = getTf();
    const w = t.gather(this.p('s_fc.weight'), items);
    const b = t.gather(this.p('s_fc.bias'), items);
    return t.add(t.sum(t.mul(rep, w), 1), b);
  }

  /** Parameters as named float arrays (for a checkpoint). */
  toArrays(): NamedArray[] {
    return [...this.params].map(([name, v]) => ({ name, shape: v.shape.slice(), data: v.dataSync() as Float32Array }));
  }

  /** Overwrite parameters from named arrays; every parameter must be present with its exact shape. */
  loadArrays(arrays: Map<string, NamedArray>, where: string): void {
    for (const [name, v] of this.params) {
      const a = arrays.get(name);
      if (!a) throw new Error(`${where}: parameter ${name} missing`);
      const want = v.shape.reduce((x, y) => x * y, 1);
      if (a.data.length !== want)
        throw new Error(`${where}: ${name} has shape ${JSON.stringify(a.shape)}, the model needs ${JSON.stringify(v.shape)}`);
      v.assign(getTf().tensor(a.data, v.shape, 'float32'));
    }
  }

  /** Total number of scalar parameters. */
  get size(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/** nn.Linear on the last axis with a PyTorch [out, in] weight: x Wᵀ + b, done as a 2-D matMul. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const t = getTf();
  const inDim = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : t.reshape(x, [-1, inDim]);
  let y = t.matMul(x2, w, false, true);
  if (b) y = t.add(y, b);
  return x.rank === 2 ? y : t.reshape(y, [...lead, w.shape[0]]);
}

/**
 * nn.LayerNorm over the last axis (biased variance, eps 1e-5): core/tensor's fused `layerNorm` (one
 * kernel each way on wasm/cpu; the same stock-op formula on other backends).
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  return fusedLayerNorm(x, gamma, beta, eps);
}

/** Embedding lookup table[ids] -> [...ids.shape, D] through a flat gather (has a gradient). */
export function embed(table: Tensor, ids: Tensor): Tensor {
  const t = getTf();
  const flat = t.reshape(ids, [-1]);
  return t.reshape(t.gather(table, flat), [...ids.shape, table.shape[1] as number]);
}

/** Inverted dropout with a seed drawn from the run's Rng (identity when not training or rate 0). */
export function dropout(x: Tensor, rate: number, training: boolean, rng?: Rng): Tensor {
  if (!training || rate <= 0) return x;
  return fusedDropout(x, rate, rng ? rng.int(0x7fffffff) : undefined);
}

/** Mask of real (non-padding) positions: float32 [B, L, 1]. */
export function positionMask(seq: Tensor, padId: number): Tensor {
  const t = getTf();
  return t.expandDims(t.cast(t.notEqual(seq, t.scalar(padId, 'int32')), 'float32'), -1);
}

/** Rows of a [B, L, D] tensor at positions pos[b] (int32 [B]) -> [B, D], via a flat gather. */
export function takePositions(x: Tensor, pos: Tensor): Tensor {
  const t = getTf();
  const [B, L, D] = x.shape as number[];
  const idx = t.add(t.mul(t.range(0, B, 1, 'int32'), t.scalar(L, 'int32')), pos);
  return t.gather(t.reshape(x, [B * L, D]), idx);
}
