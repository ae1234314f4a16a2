/**
 * Fused LayerNorm over the last axis (nn.LayerNorm, biased variance): for each row r of x [R, C]
 *   mean_r, rstd_r = 1/sqrt(var_r + eps), xhat = (x - mean_r)·rstd_r, y = xhat·γ + β
 * and its gradient dxhat = dy·γ;  dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat));
 * dγ = Σ_r dy·xhat;  dβ = Σ_r dy — one kernel each way instead of ~8 forward and ~15 backward stock kernels.
 * Kernels 'FlowloopLayerNorm' (outputs y, mean, rstd) and 'FlowloopLayerNormGrad' (outputs dx, dγ, dβ).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { LayerNormBackward, LayerNormForward, NativeKernels } from '../native';
import { arrayKernel, sizeOf } from './defineKernel';

export const LAYER_NORM = 'FlowloopLayerNorm';
export const LAYER_NORM_GRAD = 'FlowloopLayerNormGrad';

export const layerNormForward: LayerNormForward = (x, g, b, R, C, eps, y, mean, rstd) => {
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
};

export const layerNormBackward: LayerNormBackward = (x, g, mean, rstd, dy, R, C, dx, dg, db) => {
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
};

function rc(x: TensorInfo): [number, number] {
  const C = x.shape[x.shape.length - 1];
  return [sizeOf(x.shape) / C, C];
}

type Fwd = { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
type Bwd = { x: TensorInfo; gamma: TensorInfo; mean: TensorInfo; rstd: TensorInfo; dy: TensorInfo };

/** The pair for `backendName` ('wasm': the native addon's when given, else JS; 'cpu': JS; others: none). */
export function layerNormKernels(backendName: string, nat?: NativeKernels): KernelConfig[] {
  if (backendName !== 'wasm' && backendName !== 'cpu') return [];
  const fwdImpl = (backendName === 'wasm' && nat?.lnFwd?.bind(nat)) || layerNormForward;
  const bwdImpl = (backendName === 'wasm' && nat?.lnBwd?.bind(nat)) || layerNormBackward;
  return [
    arrayKernel<Fwd, { eps: number }>(LAYER_NORM, backendName, (io, { x, gamma, beta }, { eps }) => {
      const [R, C] = rc(x);
      const outs = [io.out(x.shape), io.out([R]), io.out([R])];
      const [y, mean, rstd] = outs.map(io.f32);
      fwdImpl(io.f32(x), io.f32(gamma), io.f32(beta), R, C, eps, y, mean, rstd);
      return outs;
    }),
    arrayKernel<Bwd>(LAYER_NORM_GRAD, backendName, (io, { x, gamma, mean, rstd, dy }) => {
      const [R, C] = rc(x);
      const outs = [io.out(x.shape), io.out([C]), io.out([C])];
      const [dx, dg, db] = outs.map(io.f32);
      bwdImpl(io.f32(x), io.f32(gamma), io.f32(mean), io.f32(rstd), io.f32(dy), R, C, dx, dg, db);
      return outs;
    }),
  ];
}
