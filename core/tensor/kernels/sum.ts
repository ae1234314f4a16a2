/**
 * Sum over leading axes (column sums: bias and LayerNorm-parameter gradients, out[c] = Σ_r x[r, c]) for the
 * wasm backend in one pass over the heap. Stock tfjs-wasm 4.22 transposes the whole input first to make
 * the reduced axes innermost. Native column sums (core/tensor/native.ts) when given. Other reductions use the
 * stock kernel.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { ColumnSums } from '../native';
import { overStock } from './defineKernel';

type Tf = typeof import('@tensorflow/tfjs-core');

/** out[c] = Σ_r x[r*C + c], accumulated in float32 in row order. */
export const columnSums: ColumnSums = (x, R, C, out) => {
  out.fill(0);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) out[c] += x[o + c];
  }
};

export function wasmSum(tf: Tf, colsum?: ColumnSums): KernelConfig {
  const sums = colsum ?? columnSums;
  type Attrs = { axis: number | number[]; keepDims: boolean };
  return overStock<{ x: TensorInfo }, Attrs>(tf, 'Sum', ({ inputs: { x }, backend, attrs: { axis, keepDims } }, stock) => {
    const r = x.shape.length;
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
    // only a leading prefix [0..k-1] with k < rank, float32
    const prefix = axes.length > 0 && axes.length < r && axes.every((a, i) => a === i);
    if (!prefix || x.dtype !== 'float32') return stock();
    const k = axes.length;
    let R = 1,
      C = 1;
    for (let i = 0; i < r; i++) {
      if (i < k) R *= x.shape[i];
      else C *= x.shape[i];
    }
    const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    sums(backend.typedArrayFromHeap(x) as Float32Array, R, C, backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  });
}
