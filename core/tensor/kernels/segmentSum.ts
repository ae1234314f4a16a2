/**
 * One-pass UnsortedSegmentSum for the wasm and cpu backends (docs/testing.md).
 *
 * out[s, :] = sum over i with segmentIds[i] == s of x[i, :]   (ids outside [0, numSegments) are dropped,
 * as in TensorFlow). This is the gradient of `gather` (embedding tables): stock tfjs-wasm 4.22 has no
 * such kernel and stock cpu loops over every segment (O(segments x N x D)); this is O(N x D).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { arrayKernel, sizeOf } from './defineKernel';

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

/** The kernel for `backendName` ('wasm' or 'cpu'). */
export function unsortedSegmentSum(backendName: 'wasm' | 'cpu'): KernelConfig {
  return arrayKernel<{ x: TensorInfo; segmentIds: TensorInfo }, { numSegments: number }>(
    'UnsortedSegmentSum',
    backendName,
    (io, { x, segmentIds }, { numSegments }) => {
      const rest = x.shape.slice(1);
      const out = io.out([numSegments, ...rest], x.dtype);
      const ov = io.values(out);
      ov.fill(0); // wasm outputs are not zeroed
      segmentSumInto(io.values(x), io.values(segmentIds), x.shape[0], sizeOf(rest), numSegments, ov);
      return out;
    },
  );
}
