/**
 * Fused LayerNorm over the last axis (nn.LayerNorm, biased variance): for each row r of x [R, C]
 *   mean_r, rstd_r = 1/sqrt(var_r + eps), xhat = (x - mean_r)·rstd_r, y = xhat·γ + β
 * and its gradient dxhat = dy·γ;  dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat));
 * dγ = Σ_r dy·xhat;  dβ = Σ_r dy — one kernel each way instead of ~8 forward and ~15 backward stock kernels.
 * Kernels 'FlowloopLayerNorm' (outputs y, mean, rstd) and 'FlowloopLayerNormGrad' (outputs dx, dγ, dβ).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { CpuBackendLike, WasmBackendLike } from './backendTypes';
import type { NativeKernels } from '../native';

export const LAYER_NORM = 'FlowloopLayerNorm';
export const LAYER_NORM_GRAD = 'FlowloopLayerNormGrad';

export function layerNormForward(
  x: Float32Array,
  g: Float32Array,
  b: Float32Array,
  R: number,
  C: number,
  eps: number,
  y: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += x[o + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = x[o + c] - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[o + c] = (x[o + c] - m) * rs * g[c] + b[c];
  }
}

export function layerNormBackward(
  x: Float32Array,
  g: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  dy: Float32Array,
  R: number,
  C: number,
  dx: Float32Array,
  dg: Float32Array,
  db: Float32Array,
): void {
  dg.fill(0);
  db.fill(0);
  for (let r = 0; r < R; r++) {
    const o = r * C,
      m = mean[r],
      rs = rstd[r];
    let s1 = 0,
      s2 = 0;
    for (let c = 0; c < C; c++) {
      const xh = (x[o + c] - m) * rs,
        d = dy[o + c],
        dxh = d * g[c];
      s1 += dxh;
      s2 += dxh * xh;
      dg[c] += d * xh;
      db[c] += d;
    }
    s1 /= C;
    s2 /= C;
    for (let c = 0; c < C; c++) {
      const xh = (x[o + c] - m) * rs;
      dx[o + c] = rs * (dy[o + c] * g[c] - s1 - xh * s2);
    }
  }
}

function rc(x: TensorInfo): [number, number] {
  const C = x.shape[x.shape.length - 1];
  return [x.shape.reduce((a, b) => a * b, 1) / C, C];
}

type Fwd = { inputs: { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }; attrs: { eps: number } };
type Bwd = { inputs: { x: TensorInfo; gamma: TensorInfo; mean: TensorInfo; rstd: TensorInfo; dy: TensorInfo } };

export function layerNormKernels(backendName: string, nat?: NativeKernels): KernelConfig[] {
  if (backendName === 'wasm') {
    const fwdImpl = nat?.lnFwd ? nat.lnFwd.bind(nat) : layerNormForward;
    const bwdImpl = nat?.lnBwd ? nat.lnBwd.bind(nat) : layerNormBackward;
    const fwd = (({ inputs: { x, gamma, beta }, attrs: { eps }, backend }: Fwd & { backend: WasmBackendLike }) => {
      const [R, C] = rc(x);
      const y = backend.makeOutput(x.shape, 'float32'),
        mean = backend.makeOutput([R], 'float32'),
        rstd = backend.makeOutput([R], 'float32');
      const h = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      fwdImpl(h(x), h(gamma), h(beta), R, C, eps, h(y), h(mean), h(rstd));
      return [y, mean, rstd];
    }) as unknown as KernelFunc;
    const bwd = (({ inputs: { x, gamma, mean, rstd, dy }, backend }: Bwd & { backend: WasmBackendLike }) => {
      const [R, C] = rc(x);
      const dx = backend.makeOutput(x.shape, 'float32'),
        dg = backend.makeOutput([C], 'float32'),
        db = backend.makeOutput([C], 'float32');
      const h = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      bwdImpl(h(x), h(gamma), h(mean), h(rstd), h(dy), R, C, h(dx), h(dg), h(db));
      return [dx, dg, db];
    }) as unknown as KernelFunc;
    return [
      { kernelName: LAYER_NORM, backendName, kernelFunc: fwd },
      { kernelName: LAYER_NORM_GRAD, backendName, kernelFunc: bwd },
    ];
  }
  if (backendName === 'cpu') {
    const fwd = (({ inputs: { x, gamma, beta }, attrs: { eps }, backend }: Fwd & { backend: CpuBackendLike }) => {
      const [R, C] = rc(x);
      const d = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
      const y = new Float32Array(R * C),
        mean = new Float32Array(R),
        rstd = new Float32Array(R);
      layerNormForward(d(x), d(gamma), d(beta), R, C, eps, y, mean, rstd);
      return [
        backend.makeTensorInfo(x.shape, 'float32', y),
        backend.makeTensorInfo([R], 'float32', mean),
        backend.makeTensorInfo([R], 'float32', rstd),
      ];
    }) as unknown as KernelFunc;
    const bwd = (({ inputs: { x, gamma, mean, rstd, dy }, backend }: Bwd & { backend: CpuBackendLike }) => {
      const [R, C] = rc(x);
      const d = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
      const dx = new Float32Array(R * C),
        dg = new Float32Array(C),
        db = new Float32Array(C);
      layerNormBackward(d(x), d(gamma), d(mean), d(rstd), d(dy), R, C, dx, dg, db);
      return [
        backend.makeTensorInfo(x.shape, 'float32', dx),
        backend.makeTensorInfo([C], 'float32', dg),
        backend.makeTensorInfo([C], 'float32', db),
      ];
    }) as unknown as KernelFunc;
    return [
      { kernelName: LAYER_NORM, backendName, kernelFunc: fwd },
      { kernelName: LAYER_NORM_GRAD, backendName, kernelFunc: bwd },
    ];
  }
  return [];
}
