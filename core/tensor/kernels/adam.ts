/**
 * One fused Adam update per variable (kernel 'FlowloopAdam', wasm and cpu): from x, g, m, v compute
 *   g' = g + wd·x (L2, PyTorch Adam's weight_decay);  m' = β1 m + (1-β1) g';  v' = β2 v + (1-β2) g'²
 *   x' = x − lr·(m'/(1-β1^t)) / (sqrt(v'/(1-β2^t)) + ε) − lr·wdDecoupled·x   (AdamW when wdDecoupled > 0)
 * in one pass, replacing ~12 elementwise kernels per variable of tf.train.adam (same formula as tfjs's
 * and PyTorch's Adam). Outputs [x', m', v'].
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeKernels } from '../native';
import { arrayKernel } from './defineKernel';

export const ADAM = 'FlowloopAdam';

export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: number;
  step: number;
}

/** Adam's bias corrections 1/(1 − β1^t), 1/(1 − β2^t). */
export function biasCorrections(a: AdamAttrs): [number, number] {
  return [1 / (1 - Math.pow(a.beta1, a.step)), 1 / (1 - Math.pow(a.beta2, a.step))];
}

export function adamUpdate(
  x: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: AdamAttrs,
  xo: Float32Array,
  mo: Float32Array,
  vo: Float32Array,
): void {
  const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupledWeightDecay: dwd } = a;
  const [c1, c2] = biasCorrections(a);
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const gi = g[i] + wd * xi;
    const mi = b1 * m[i] + (1 - b1) * gi;
    const vi = b2 * v[i] + (1 - b2) * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    xo[i] = xi - (lr * mi * c1) / (Math.sqrt(vi * c2) + eps) - lr * dwd * xi;
  }
}

/**
 * The native kernel computes 1 − β in float32 from float32(β): for β2 = 0.999 that is 0.99998713·(1 − β2), a
 * 1.3e-5 relative error in v (and so ~6e-6 in every step size) that tfjs's and PyTorch's Adam do not have.
 * Use it only when float32 represents both 1 − β exactly as the JS kernel (double arithmetic) computes them.
 */
function nativeExact(a: AdamAttrs): boolean {
  const f = Math.fround;
  return f(1 - f(a.beta1)) === f(1 - a.beta1) && f(1 - f(a.beta2)) === f(1 - a.beta2);
}

type Inputs = { x: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };

/**
 * The kernel for `backendName` ('cpu': JS; others: none; 'wasm': the native double-arithmetic update `adam64`
 * (same results as JS) when the build has it, else the float32 native update when exact (nativeExact), else JS).
 */
export function adamKernels(backendName: string, nat?: NativeKernels): KernelConfig[] {
  if (backendName !== 'wasm' && backendName !== 'cpu') return [];
  const natAdam = backendName === 'wasm' ? nat?.adam?.bind(nat) : undefined;
  const natAdam64 = backendName === 'wasm' ? nat?.adam64?.bind(nat) : undefined;
  return [
    arrayKernel<Inputs, AdamAttrs>(ADAM, backendName, (io, { x, g, m, v }, attrs) => {
      const outs = [io.out(x.shape), io.out(x.shape), io.out(x.shape)];
      const [xo, mo, vo] = outs.map(io.f32);
      const [xi, gi, mi, vi] = [x, g, m, v].map(io.f32);
      const { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step } = attrs;
      if (natAdam64)
        natAdam64(xi, gi, mi, vi, xo, mo, vo, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, ...biasCorrections(attrs));
      else if (natAdam && nativeExact(attrs))
        natAdam(xi, gi, mi, vi, xo, mo, vo, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step);
      else adamUpdate(xi, gi, mi, vi, attrs, xo, mo, vo);
      return outs;
    }),
  ];
}
