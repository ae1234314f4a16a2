/**
 * The Flower policy's optimizer settings and learning-rate schedule (docs/methods.md §A6: AdamW, lr 3e-4, warmup 20
 * in the reference) over core/tensor's FusedAdam.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { getTf } from '../tensor';
import { FusedAdam } from '../tensor/adam';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  warmupSteps: number;
  clipNorm: number;
  /**
   * Linear decay after warmup (Hugging Face `get_linear_schedule_with_warmup`, the released Flower
   * trainer's default scheduler, docs/methods.md §A6): total optimizer steps of the run; the rate falls
   * linearly from `lr` after warmup to 0 at this step. 0 or absent = constant after warmup.
   */
  decaySteps?: number;
}

/**
 * Learning rate of optimizer step `step` (0-based count of updates already applied): linear warmup
 * lr·(step+1)/warmup over the first `warmupSteps` updates, then `lr`, or with `decaySteps` = N > warmup
 * lr·max(0, (N − step)/(N − warmup)) (linear decay to 0 at step N, as Hugging Face's linear schedule).
 */
export function scheduledLr(o: Pick<AdamOptions, 'lr' | 'warmupSteps' | 'decaySteps'>, step: number): number {
  const w = o.warmupSteps;
  if (w > 0 && step < w) return (o.lr * (step + 1)) / w;
  const n = o.decaySteps ?? 0;
  if (n > w) return (o.lr * Math.max(0, n - step)) / (n - w);
  return o.lr;
}

/** Global L2 norm of a set of gradients. */
export function gradNorm(grads: Record<string, TF.Tensor>): number {
  const tf = getTf();
  const sq = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as TF.Scalar;
  const n = Math.sqrt(sq.dataSync()[0]);
  sq.dispose();
  return n;
}

/**
 * The Flower policy's optimizer: core/tensor's FusedAdam (the project's one Adam) with decoupled weight decay on
 * matrices only, the learning-rate schedule above and global-norm clipping, over the policy's named weights.
 * Its moments are named arrays ("m/<name>", "v/<name>") so a checkpoint can store and restore them (resume gives
 * the same trajectory as an unbroken run).
 */
export class AdamW {
  private readonly adam: FusedAdam;

  constructor(
    readonly opts: AdamOptions,
    private readonly params: Record<string, TF.Variable>,
  ) {
    this.adam = new FusedAdam(opts.lr, {
      beta1: opts.beta1,
      beta2: opts.beta2,
      epsilon: opts.eps,
      decoupledWeightDecay: opts.weightDecay,
      decayWhere: (x) => x.rank > 1,
    });
  }

  /** Updates applied so far (the t of Adam's bias corrections). */
  get step(): number {
    return this.adam.iterations;
  }

  /** Learning rate at the next step: linear warmup over `warmupSteps`, then constant or (with `decaySteps`) linear decay. */
  currentLr(): number {
    return scheduledLr(this.opts, this.step);
  }

  /** Apply one update from named gradients; returns the global gradient norm before clipping. */
  apply(grads: Record<string, TF.Tensor>): number {
    const tf = getTf();
    const names = Object.keys(grads);
    const norm = gradNorm(grads);
    const { clipNorm } = this.opts;
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    this.adam.learningRate = this.currentLr();
    tf.tidy(() => this.adam.update(names.map((n) => [this.params[n], scale === 1 ? grads[n] : tf.mul(grads[n], scale)] as const)));
    return norm;
  }

  /** Moments as named arrays ("m/<name>", "v/<name>") for a checkpoint (zeros for a weight not yet updated). */
  async state(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const mv = Object.entries(this.params).map(
      ([n, p]) => [n, this.adam.moments(p) ?? { m: new Float32Array(p.size), v: new Float32Array(p.size) }] as const,
    );
    for (const [n, s] of mv) out.set(`m/${n}`, s.m);
    for (const [n, s] of mv) out.set(`v/${n}`, s.v);
    return out;
  }

  /** Restore moments and step from a checkpoint. */
  load(state: Map<string, Float32Array>, step: number): void {
    const moments = new Map<TF.Variable, { m: Float32Array; v: Float32Array }>();
    for (const [n, p] of Object.entries(this.params)) {
      const m = state.get(`m/${n}`),
        v = state.get(`v/${n}`);
      if (m && v) moments.set(p, { m, v });
    }
    this.adam.restore(step, moments);
  }

  dispose(): void {
    this.adam.dispose();
  }
}
