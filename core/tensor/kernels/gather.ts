/**
 * GatherV2 on axis 0 (embedding lookup: out[i, :] = x[indices[i], :]) for the wasm backend as row copies
 * on the heap: tfjs-wasm 4.22's generic gather computes every element's offset and was
 * measured at ~4 ns/element (40 ms for a 10k x 64 lookup). Other axes / batchDims use the stock kernel.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { overStock } from './defineKernel';

type Tf = typeof import('@tensorflow/tfjs-core');

export function wasmGatherV2(tf: Tf): KernelConfig {
  type In = { x: TensorInfo; indices: TensorInfo };
  return overStock<In, { axis: number; batchDims: number }>(tf, 'GatherV2', ({ inputs: { x, indices }, backend, attrs }, stock) => {
    const ax = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
    if (ax !== 0 || (attrs.batchDims ?? 0) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0) return stock();
    const rows = x.shape[0];
    let inner = 1;
    for (let i = 1; i < x.shape.length; i++) inner *= x.shape[i];
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const xv = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const iv = backend.typedArrayFromHeap(indices);
    const ov = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    // x and out live in the same heap: rows move with copyWithin on one view of it (no view per row)
    const heap = new Int32Array(ov.buffer);
    const xo = xv.byteOffset >> 2,
      oo = ov.byteOffset >> 2;
    for (let i = 0; i < iv.length; i++) {
      const r = iv[i];
      if (!(r >= 0 && r < rows)) {
        backend.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
      }
      if (inner === 1) ov[i] = xv[r];
      else heap.copyWithin(oo + i * inner, xo + r * inner, xo + (r + 1) * inner);
    }
    return out;
  });
}
