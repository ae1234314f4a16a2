/**
 * Slice for the wasm backend reading the input in place. Stock tfjs-wasm 4.22 first copies the WHOLE input
 * out of the heap (`readSync`) — 40 MB to take one column of [2048, 5000] logits. Here the innermost
 * contiguous runs are copied straight from a heap view.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { overStock } from './defineKernel';

type Tf = typeof import('@tensorflow/tfjs-core');
type Arr = Float32Array | Int32Array | Uint8Array;

/** Copy x[begin : begin+size] (row-major `shape`) into out. */
export function sliceInto(x: Arr, shape: number[], begin: number[], size: number[], out: Arr): void {
  const r = shape.length;
  const strides = new Array<number>(r);
  strides[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  // merge trailing full axes into the contiguous run
  let k = r - 1,
    run = size[r - 1];
  while (k > 0 && size[k] === shape[k] && begin[k] === 0) {
    k--;
    run *= size[k];
  }
  let outer = 1;
  for (let i = 0; i < k; i++) outer *= size[i];
  const idx = new Array<number>(k).fill(0);
  for (let o = 0; o < outer; o++) {
    let src = begin[k] * strides[k];
    for (let i = 0; i < k; i++) src += (begin[i] + idx[i]) * strides[i];
    out.set(x.subarray(src, src + run), o * run);
    for (let i = k - 1; i >= 0; i--) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
}

export function wasmSlice(tf: Tf): KernelConfig {
  type Attrs = { begin: number | number[]; size: number | number[] };
  return overStock<{ x: TensorInfo }, Attrs>(tf, 'Slice', ({ inputs: { x }, backend, attrs }, stock) => {
    if (x.dtype === 'string' || x.shape.length === 0) return stock();
    const [begin, size] = tf.slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
    const out = backend.makeOutput(size, x.dtype);
    if (size.every((d) => d > 0))
      sliceInto(backend.typedArrayFromHeap(x) as Arr, x.shape, begin, size, backend.typedArrayFromHeap(out) as Arr);
    return out;
  });
}
