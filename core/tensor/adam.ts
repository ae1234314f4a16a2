/**
 * The one Adam of the project (the Flower policy's AdamW in core/flower/optim.ts and the sequential models'
 * Adam in core/models/train.ts both step through it), with one fused kernel per variable
 * (core/tensor/kernels/adam.ts) — a drop-in for
 * `tf.train.adam(lr, beta1, beta2, eps)` in training loops that call `minimize(f, returnCost, varList)`
 * (same update formula as tfjs's and PyTorch's Adam), with optional PyTorch-style L2 `weightDecay`
 * (g += wd·θ, as torch.optim.Adam(weight_decay)) or decoupled AdamW decay. On backends without the
 * kernel (not wasm/cpu) it computes the same update from stock ops.
 */
import type { NamedTensorMap, Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import { getTf } from './index';
import { ADAM, type AdamAttrs } from './kernels/adam';

export interface FusedAdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 added to the gradient (torch.optim.Adam weight_decay). */
  weightDecay?: number;
  /** Decoupled decay θ -= lr·wd·θ (AdamW). */
  decoupledWeightDecay?: number;
  /** Which variables the decoupled decay applies to (default: all; the Flower policy decays matrices only). */
  decayWhere?: (x: Variable) => boolean;
}

export class FusedAdam {
  private readonly slots = new Map<Variable, { m: Variable; v: Variable }>();
  private step = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly decoupledWeightDecay: number;
  private readonly decayWhere: (x: Variable) => boolean;

  constructor(
    public learningRate: number,
    opts: FusedAdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decoupledWeightDecay = opts.decoupledWeightDecay ?? 0;
    this.decayWhere = opts.decayWhere ?? (() => true);
  }

  /** Gradients of `f` w.r.t. `varList` (default: all trainable variables), one Adam step; returns f's value if asked. */
  minimize(f: () => Scalar, returnCost = false, varList?: Variable[]): Scalar | null {
    const tf = getTf();
    const { value, grads } = tf.variableGrads(f, varList);
    this.applyGradients(grads, varList);
    tf.dispose(grads);
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /** One Adam step from gradients keyed by variable name. */
  applyGradients(grads: NamedTensorMap, varList?: Variable[]): void {
    const tf = getTf();
    const byName = new Map<string, Variable>();
    for (const v of varList ?? Object.values(tf.engine().registeredVariables)) byName.set(v.name, v);
    const pairs: [Variable, Tensor][] = [];
    for (const [name, g] of Object.entries(grads)) {
      const x = byName.get(name);
      if (x && g != null) pairs.push([x, g]);
    }
    this.update(pairs);
  }

  /** One Adam step (at `learningRate`) for explicit (variable, gradient) pairs. */
  update(pairs: Iterable<readonly [Variable, Tensor]>): void {
    const tf = getTf();
    this.step++;
    const attrs: AdamAttrs = {
      lr: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.epsilon,
      weightDecay: this.weightDecay,
      decoupledWeightDecay: this.decoupledWeightDecay,
      step: this.step,
    };
    const noDecay: AdamAttrs = { ...attrs, decoupledWeightDecay: 0 };
    const fused = !!tf.getKernel(ADAM, tf.getBackend());
    tf.tidy(() => {
      for (const [x, g] of pairs) {
        const a = this.decoupledWeightDecay && !this.decayWhere(x) ? noDecay : attrs;
        let s = this.slots.get(x);
        if (!s) {
          s = { m: tf.variable(tf.zerosLike(x), false), v: tf.variable(tf.zerosLike(x), false) };
          this.slots.set(x, s);
        }
        const [x2, m2, v2] = fused
          ? (tf.engine().runKernel(ADAM, { x, g, m: s.m, v: s.v }, a as never) as Tensor[])
          : this.stockUpdate(x, g, s.m, s.v, a);
        x.assign(x2);
        s.m.assign(m2);
        s.v.assign(v2);
      }
    });
  }

  private stockUpdate(x: Tensor, g0: Tensor, m: Tensor, v: Tensor, a: AdamAttrs): Tensor[] {
    const tf = getTf();
    const g = a.weightDecay ? tf.add(g0, tf.mul(x, a.weightDecay)) : g0;
    const m2 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v2 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const upd = tf.div(tf.mul(m2, a.lr / (1 - a.beta1 ** a.step)), tf.add(tf.sqrt(tf.div(v2, 1 - a.beta2 ** a.step)), a.eps));
    let x2 = tf.sub(x, upd);
    if (a.decoupledWeightDecay) x2 = tf.sub(x2, tf.mul(x, a.lr * a.decoupledWeightDecay));
    return [x2, m2, v2];
  }

  /** Updates taken so far (the t of the bias corrections 1 − β^t). */
  get iterations(): number {
    return this.step;
  }

  /** First and second moments of `x` (copies), undefined before its first update. */
  moments(x: Variable): { m: Float32Array; v: Float32Array } | undefined {
    const s = this.slots.get(x);
    return s && { m: (s.m.dataSync() as Float32Array).slice(), v: (s.v.dataSync() as Float32Array).slice() };
  }

  /**
   * Restore a saved state (resume): the update count and, per variable, its moments. With the same
   * gradients, the following updates equal those of the optimizer the state was taken from, bit for bit
   * (the bias corrections are recomputed from the count, not accumulated).
   */
  restore(iterations: number, moments: Map<Variable, { m: Float32Array; v: Float32Array }>): void {
    const tf = getTf();
    this.step = iterations;
    for (const [x, mv] of moments) {
      if (mv.m.length !== x.size || mv.v.length !== x.size)
        throw new Error(`FusedAdam.restore: moments of ${x.name} have ${mv.m.length}/${mv.v.length} values, the variable ${x.size}`);
      const m = tf.tensor(mv.m, x.shape, 'float32'),
        v = tf.tensor(mv.v, x.shape, 'float32');
      const s = this.slots.get(x);
      if (s) {
        s.m.assign(m);
        s.v.assign(v);
      } else this.slots.set(x, { m: tf.variable(m, false), v: tf.variable(v, false) });
      m.dispose();
      v.dispose();
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
