/**
 * Wasm kernels that exist only with the native addon (core/tensor/native.ts), working on heap views:
 * Transpose of float32 tensors of any rank and a vectorized Exp. (The addon's BatchMatMul, log-softmax-gather,
 * LayerNorm, Adam and column sums are engines of the kernels in batchMatMul.ts, softmaxCrossEntropy.ts, … .)
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeKernels } from '../native';
import { overStock, sizeOf } from './defineKernel';

type Tf = typeof import('@tensorflow/tfjs-core');

export function nativeWasmKernels(tf: Tf, nat: NativeKernels): KernelConfig[] {
  const transpose = overStock<{ x: TensorInfo }, { perm: number[] }>(tf, 'Transpose', (args, stock) => {
    const {
      inputs: { x },
      backend,
      attrs: { perm },
    } = args;
    const r = x.shape.length;
    if (x.dtype !== 'float32' || r < 2 || r > 8 || sizeOf(x.shape) < 4096) return stock();
    const out = backend.makeOutput(
      perm.map((p) => x.shape[p]),
      'float32',
    );
    const f32 = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    nat.transpose(f32(x), Int32Array.from(x.shape), Int32Array.from(perm), f32(out));
    return out;
  });
  const natExp = nat.exp?.bind(nat);
  if (!natExp) return [transpose];
  const exp = overStock<{ x: TensorInfo }>(tf, 'Exp', ({ inputs: { x }, backend }, stock) => {
    if (x.dtype !== 'float32' || sizeOf(x.shape) < 1024) return stock();
    const out = backend.makeOutput(x.shape, 'float32');
    natExp(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  });
  return [exp, transpose];
}
