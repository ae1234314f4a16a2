/**
 * One-pass UnsortedSegmentSum for the wasm and cpu backends (docs/testing.md).
 *
 * out[s, :] = sum over i with segmentIds[i] == s of x[i, :]   (ids outside [0, numSegments) are dropped,
 * as in TensorFlow). This is the gradient of `gather` (embedding tables): stock tfjs-wasm 4.22 has no
 * such kernel and stock cpu loops over every segment (O(segments x N x D)); this is O(N x D).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike, CpuBackendLike } from './backendTypes';

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The accumulation loop shared by both backends; `out` must be zero-filled. */
export function segmentSumInto(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  n: number,
  inner: number,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const xo = i * inner,
      oo = s * inner;
    for (let j = 0; j < inner; j++) out[oo + j] += x[xo + j];
  }
}

interface SegArgs {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  attrs: { numSegments: number };
}

export function wasmUnsortedSegmentSum(): KernelConfig {
  const kernelFunc = ((args: SegArgs & { backend: WasmBackendLike }) => {
    const {
      inputs: { x, segmentIds },
      attrs: { numSegments },
      backend,
    } = args;
    const inner = sizeOf(x.shape.slice(1));
    const n = x.shape[0];
    const out = backend.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
    // makeOutput may grow the wasm heap (detaching old views): take the views afterwards.
    const xv = backend.typedArrayFromHeap(x);
    const sv = backend.typedArrayFromHeap(segmentIds);
    const ov = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    ov.fill(0);
    segmentSumInto(xv, sv, n, inner, numSegments, ov);
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc };
}

export function cpuUnsortedSegmentSum(): KernelConfig {
  const kernelFunc = ((args: SegArgs & { backend: CpuBackendLike }) => {
    const {
      inputs: { x, segmentIds },
      attrs: { numSegments },
      backend,
    } = args;
    const inner = sizeOf(x.shape.slice(1));
    const n = x.shape[0];
    const xv = backend.data.get(x.dataId).values as ArrayLike<number>;
    const sv = backend.data.get(segmentIds.dataId).values as ArrayLike<number>;
    const ov = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    segmentSumInto(xv, sv, n, inner, numSegments, ov);
    return backend.makeTensorInfo([numSegments, ...x.shape.slice(1)], x.dtype, ov);
  }) as unknown as KernelFunc;
  return { kernelName: 'UnsortedSegmentSum', backendName: 'cpu', kernelFunc };
}
