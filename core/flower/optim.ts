/**
 * Adam with decoupled weight decay, linear warmup and global-norm gradient clipping for the Flower
 * policy (docs/methods.md §A6: Adam, lr 3e-4, warmup 20 in the reference). Its moments are plain named tensors
 * so a checkpoint can store and restore them (resume gives the same trajectory as an unbroken run).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { tfp } from '../models/policyTf';
import { ADAM, type AdamAttrs } from '../tensor/kernels/adam';

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

export class AdamW {
  step = 0;
  private m = new Map<string, TF.Variable>();
  private v = new Map<string, TF.Variable>();

  constructor(readonly opts: AdamOptions, private readonly params: Record<string, TF.Variable>) {
    const tf = tfp();
    tf.tidy(() => {
      for (const [n, p] of Object.entries(params)) {
        this.m.set(n, tf.variable(tf.zerosLike(p), false));
        this.v.set(n, tf.variable(tf.zerosLike(p), false));
      }
    });
  }

  /** Learning rate at the next step: linear warmup over `warmupSteps`, then constant or (with `decaySteps`) linear decay. */
  currentLr(): number {
    return scheduledLr(this.opts, this.step);
  }

  /** Apply one update from named gradients; returns the global gradient norm before clipping. */
  apply(grads: Record<string, TF.Tensor>): number {
    const tf = tfp();
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.opts;
    const lr = this.currentLr();
    const names = Object.keys(grads);
    const sq = tf.tidy(() => tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))) as TF.Scalar;
    const norm = Math.sqrt(sq.dataSync()[0]);
    sq.dispose();
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    this.step++;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    // One fused kernel per parameter (core/tensor FlowloopAdam, wasm/cpu) computes exactly this update:
    // p' = p − lr·(m̂/(sqrt(v̂)+ε) + wd·p) with the decay only on matrices (rank > 1), i.e. the kernel's
    // decoupled decay; stock ops on other backends.
    const fused = !!tf.getKernel(ADAM, tf.getBackend());
    tf.tidy(() => {
      for (const n of names) {
        const g = scale === 1 ? grads[n] : tf.mul(grads[n], scale);
        const m = this.m.get(n)!;
        const v = this.v.get(n)!;
        const p = this.params[n];
        if (fused) {
          const attrs: AdamAttrs = {
            lr, beta1, beta2, eps, weightDecay: 0, decoupledWeightDecay: weightDecay > 0 && p.rank > 1 ? weightDecay : 0, step: this.step,
          };
          const [p2, m2, v2] = tf.engine().runKernel(ADAM, { x: p, g, m, v }, attrs as never) as TF.Tensor[];
          p.assign(p2);
          m.assign(m2);
          v.assign(v2);
          continue;
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const upd = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decay = weightDecay > 0 && p.rank > 1 ? tf.mul(p, weightDecay) : tf.zerosLike(p);
        p.assign(tf.sub(p, tf.mul(tf.add(upd, decay), lr)));
      }
    });
    return norm;
  }

  /** Moments as named arrays ("m/<name>", "v/<name>") for a checkpoint. */
  async state(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [n, t] of this.m) out.set(`m/${n}`, (await t.data()) as Float32Array);
    for (const [n, t] of this.v) out.set(`v/${n}`, (await t.data()) as Float32Array);
    return out;
  }

  /** Restore moments and step from a checkpoint. */
  load(state: Map<string, Float32Array>, step: number): void {
    const tf = tfp();
    tf.tidy(() => {
      for (const [n, t] of this.m) { const d = state.get(`m/${n}`); if (d) t.assign(tf.tensor(d, t.shape)); }
      for (const [n, t] of this.v) { const d = state.get(`v/${n}`); if (d) t.assign(tf.tensor(d, t.shape)); }
    });
    this.step = step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
  }
}
