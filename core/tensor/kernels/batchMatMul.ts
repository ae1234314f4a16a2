/**
 * BatchMatMul for the wasm backend routed through XNNPACK (docs/testing.md).
 *
 * tfjs-wasm 4.22 uses XNNPACK's fully-connected GEMM only for a single [M,K]x[K,N] product without
 * transposes; every transposed product (all of backprop) and every batched one (attention) falls back to
 * a naive loop (~2 GFLOP/s). Here transposes are materialized with the wasm Transpose kernel and a batch
 * is split into batch-1 products on *aliases* of the operands' heap memory (no copies), each run by the
 * same wasm BatchMatMul entry point, which then takes the XNNPACK path.
 * Broadcast batch (one side batch 1) is supported; a [b,M,K] x [K,N] product becomes one [b*M,K] GEMM.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './backendTypes';

type Tf = typeof import('@tensorflow/tfjs-core');
type RawMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

/** M, K, N of a (batched, possibly transposed) matrix product; throws when the inner dimensions differ. */
export function matMulDims(
  as: readonly number[],
  bs: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): { M: number; K: number; N: number } {
  const ra = as.length,
    rb = bs.length;
  const M = transposeA ? as[ra - 1] : as[ra - 2];
  const K = transposeA ? as[ra - 2] : as[ra - 1];
  const N = transposeB ? bs[rb - 2] : bs[rb - 1];
  const Kb = transposeB ? bs[rb - 1] : bs[rb - 2];
  if (K !== Kb)
    throw new Error(
      `matMul: inner dimensions differ (${K} vs ${Kb}) for shapes [${as}] and [${bs}] (transposeA=${transposeA}, transposeB=${transposeB})`,
    );
  return { M, K, N };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

interface Backend extends WasmBackendLike {
  wasm: WasmBackendLike['wasm'] & {
    cwrap(name: string, ret: null, args: string[]): RawMatMul;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdNextNumber: number;
  dataIdMap: WasmBackendLike['dataIdMap'] & { set(k: object, v: unknown): void; delete(k: object): boolean };
}

/** A tensor view of `size` floats at byte offset `offset` of the heap that must be released with `dropAlias`. */
function alias(backend: Backend, offset: number, shape: number[]): { id: number; dataId: object } {
  const id = backend.dataIdNextNumber++;
  const dataId = { id };
  backend.dataIdMap.set(dataId, { id, memoryOffset: offset, shape, dtype: 'float32', refCount: 1 });
  backend.wasm.tfjs.registerTensor(id, sizeOf(shape), offset);
  return { id, dataId };
}

/** Forget an alias without freeing the memory it points into (drops XNNPACK operators cached on its id). */
function dropAlias(backend: Backend, a: { id: number; dataId: object }): void {
  backend.wasm.tfjs.disposeData(a.id);
  backend.dataIdMap.delete(a.dataId);
}

const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);

export function wasmBatchMatMul(tf: Tf): KernelConfig {
  const orig = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!orig || !transpose) throw new Error('wasm BatchMatMul/Transpose kernels not registered');
  let raw: RawMatMul | undefined;

  const kernelFunc = ((args: {
    inputs: { a: TensorInfo; b: TensorInfo };
    backend: Backend;
    attrs: { transposeA: boolean; transposeB: boolean };
  }) => {
    const {
      inputs: { a, b },
      backend,
      attrs: { transposeA, transposeB },
    } = args;
    const batchA = sizeOf(a.shape.slice(0, -2)),
      batchB = sizeOf(b.shape.slice(0, -2));
    const sameOuter = a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join();
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(sameOuter || batchA === 1 || batchB === 1)) {
      return orig.kernelFunc(args as never);
    }
    raw ??= backend.wasm.cwrap('BatchMatMul', null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]);
    const temps: TensorInfo[] = [];
    const swapLast = (x: TensorInfo): TensorInfo => {
      const r = x.shape.length;
      const perm = [...Array(r).keys()];
      perm[r - 2] = r - 1;
      perm[r - 1] = r - 2;
      const t = transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } } as never) as TensorInfo;
      temps.push(t);
      return t;
    };
    const { M, K, N } = matMulDims(a.shape, b.shape, transposeA, transposeB);
    const batch = Math.max(batchA, batchB);
    const outer = (batchA >= batchB ? a.shape : b.shape).slice(0, -2);
    const out = backend.makeOutput([batch, M, N], 'float32');
    if (M * N === 0) {
      out.shape = [...outer, M, N];
      return out;
    }
    if (K === 0) {
      backend.typedArrayFromHeap(out).fill(0);
      out.shape = [...outer, M, N];
      return out;
    }
    const A = transposeA ? swapLast(a) : a;
    const B = transposeB ? swapLast(b) : b;
    const offA = backend.dataIdMap.get(A.dataId)!.memoryOffset;
    const offB = backend.dataIdMap.get(B.dataId)!.memoryOffset;
    const offO = backend.dataIdMap.get(out.dataId)!.memoryOffset;
    const run = (ao: number, rows: number, bo: number, oo: number) => {
      const ai = alias(backend, ao, [1, rows, K]);
      const bi = alias(backend, bo, [1, K, N]);
      const oi = alias(backend, oo, [1, rows, N]);
      raw!(ai.id, shapeBytes([1, rows, K]), 3, bi.id, shapeBytes([1, K, N]), 3, false, false, oi.id);
      dropAlias(backend, ai);
      dropAlias(backend, bi);
      dropAlias(backend, oi);
    };
    if (batchB === 1) {
      run(offA, batch * M, offB, offO); // rows of all A batches share B: one GEMM
    } else {
      for (let i = 0; i < batch; i++) {
        run(batchA === 1 ? offA : offA + 4 * i * M * K, M, offB + 4 * i * K * N, offO + 4 * i * M * N);
      }
    }
    for (const t of temps) backend.disposeData(t.dataId);
    out.shape = [...outer, M, N];
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'BatchMatMul', backendName: 'wasm', setupFunc: orig.setupFunc, kernelFunc };
}
