/**
 * Kernels for the wasm backend that run in native code (core/tensor/native.ts) directly on heap views:
 * BatchMatMul through OpenBLAS sgemm (transposes and batches handled by BLAS, broadcast batch of one
 * side), Transpose of float32 tensors of any rank, Exp (vectorized), and the fused log-softmax-gather pair.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './backendTypes';
import type { NativeKernels } from '../native';
import { matMulDims, sizeOf } from './batchMatMul';
import { LOG_SOFTMAX_GATHER, LOG_SOFTMAX_GATHER_GRAD, labelsPerRow } from './softmaxCrossEntropy';

type Tf = typeof import('@tensorflow/tfjs-core');

const f32 = (b: WasmBackendLike, t: TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;

export function nativeWasmKernels(tf: Tf, nat: NativeKernels): KernelConfig[] {
  const origMM = tf.getKernel('BatchMatMul', 'wasm');
  const origT = tf.getKernel('Transpose', 'wasm');
  if (!origMM || !origT) throw new Error('wasm BatchMatMul/Transpose kernels not registered');

  const batchMatMul = ((args: {
    inputs: { a: TensorInfo; b: TensorInfo };
    backend: WasmBackendLike;
    attrs: { transposeA: boolean; transposeB: boolean };
  }) => {
    const {
      inputs: { a, b },
      backend,
      attrs: { transposeA, transposeB },
    } = args;
    const outerA = a.shape.slice(0, -2),
      outerB = b.shape.slice(0, -2);
    const batchA = sizeOf(outerA),
      batchB = sizeOf(outerB);
    const same = outerA.join() === outerB.join();
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(same || batchA === 1 || batchB === 1)) return origMM.kernelFunc(args as never);
    const { M, K, N } = matMulDims(a.shape, b.shape, transposeA, transposeB);
    const batch = Math.max(batchA, batchB);
    const outer = batchA >= batchB ? outerA : outerB;
    const out = backend.makeOutput([batch, M, N], 'float32');
    if (M * N > 0) {
      if (K === 0) f32(backend, out).fill(0);
      // views taken after makeOutput (it may grow the heap)
      else nat.sgemm(transposeA, transposeB, M, N, K, f32(backend, a), f32(backend, b), f32(backend, out), batch, batchA, batchB);
    }
    out.shape = [...outer, M, N];
    return out;
  }) as unknown as KernelFunc;

  const transpose = ((args: { inputs: { x: TensorInfo }; backend: WasmBackendLike; attrs: { perm: number[] } }) => {
    const {
      inputs: { x },
      backend,
      attrs: { perm },
    } = args;
    const r = x.shape.length;
    if (x.dtype !== 'float32' || r < 2 || r > 8 || sizeOf(x.shape) < 4096) return origT.kernelFunc(args as never);
    const out = backend.makeOutput(
      perm.map((p) => x.shape[p]),
      'float32',
    );
    nat.transpose(f32(backend, x), Int32Array.from(x.shape), Int32Array.from(perm), f32(backend, out));
    return out;
  }) as unknown as KernelFunc;

  const dims = (t: TensorInfo): [number, number] => {
    if (t.shape.length !== 2) throw new Error(`${LOG_SOFTMAX_GATHER}: logits must be [N, V], got [${t.shape}]`);
    return [t.shape[0], t.shape[1]];
  };
  const lsgFwd = (({
    inputs: { logits, labels },
    backend,
  }: {
    inputs: { logits: TensorInfo; labels: TensorInfo };
    backend: WasmBackendLike;
  }) => {
    const [N, V] = dims(logits);
    const K = labelsPerRow(labels, N);
    const logp = backend.makeOutput(labels.shape.slice(), 'float32');
    const lse = backend.makeOutput([N], 'float32');
    nat.lsgFwd(f32(backend, logits), backend.typedArrayFromHeap(labels) as Int32Array, N, V, K, f32(backend, logp), f32(backend, lse));
    return [logp, lse];
  }) as unknown as KernelFunc;
  const lsgBwd = (({
    inputs: { logits, labels, lse, dlogp, dlse },
    backend,
  }: {
    inputs: Record<string, TensorInfo>;
    backend: WasmBackendLike;
  }) => {
    const [N, V] = dims(logits);
    const dx = backend.makeOutput([N, V], 'float32');
    nat.lsgBwd(
      f32(backend, logits),
      backend.typedArrayFromHeap(labels) as Int32Array,
      f32(backend, lse),
      f32(backend, dlogp),
      f32(backend, dlse),
      N,
      V,
      labelsPerRow(labels, N),
      f32(backend, dx),
    );
    return dx;
  }) as unknown as KernelFunc;

  const origExp = tf.getKernel('Exp', 'wasm');
  const natExp = nat.exp?.bind(nat);
  const exp = ((args: { inputs: { x: TensorInfo }; backend: WasmBackendLike }) => {
    const {
      inputs: { x },
      backend,
    } = args;
    if (x.dtype !== 'float32' || !natExp || sizeOf(x.shape) < 1024) return origExp!.kernelFunc(args as never);
    const out = backend.makeOutput(x.shape, 'float32');
    natExp(f32(backend, x), f32(backend, out));
    return out;
  }) as unknown as KernelFunc;

  return [
    ...(origExp && natExp ? [{ kernelName: 'Exp', backendName: 'wasm', setupFunc: origExp.setupFunc, kernelFunc: exp }] : []),
    { kernelName: 'BatchMatMul', backendName: 'wasm', setupFunc: origMM.setupFunc, kernelFunc: batchMatMul },
    { kernelName: 'Transpose', backendName: 'wasm', setupFunc: origT.setupFunc, kernelFunc: transpose },
    { kernelName: LOG_SOFTMAX_GATHER, backendName: 'wasm', kernelFunc: lsgFwd },
    { kernelName: LOG_SOFTMAX_GATHER_GRAD, backendName: 'wasm', kernelFunc: lsgBwd },
  ];
}
