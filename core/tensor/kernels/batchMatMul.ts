/**
 * BatchMatMul for the wasm backend: one kernel (which products it takes, the output, empty products) with
 * two GEMM engines.
 *  - native (core/tensor/native.ts, when built): OpenBLAS sgemm on the heap views; transposes and batches
 *    handled by BLAS.
 *  - XNNPACK (docs/testing.md): tfjs-wasm 4.22 uses XNNPACK's fully-connected GEMM only for a single
 *    [M,K]x[K,N] product without transposes; every transposed product (all of backprop) and every batched one
 *    (attention) falls back to a naive loop (~2 GFLOP/s). Here transposes are materialized with the wasm
 *    Transpose kernel and a batch is split into batch-1 products on *aliases* of the operands' heap memory
 *    (no copies), each run by the same wasm BatchMatMul entry point, which then takes the XNNPACK path.
 * Broadcast batch (one side batch 1) is supported (XNNPACK: a [b,M,K] x [K,N] product becomes one [b*M,K]
 * GEMM); other broadcasts and non-float32 products go to the stock kernel.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './backendTypes';
import type { NativeKernels } from '../native';
import { overStock, sizeOf } from './defineKernel';

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

/** One product for an engine: C[i] = op(A[i]) op(B[i]), i < batch; the side with batch 1 is broadcast. */
interface Product {
  a: TensorInfo;
  b: TensorInfo;
  out: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  M: number;
  K: number;
  N: number;
  batch: number;
  batchA: number;
  batchB: number;
}
type Gemm = (backend: WasmBackendLike, p: Product) => void;

function nativeGemm(nat: NativeKernels): Gemm {
  const f32 = (b: WasmBackendLike, t: TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
  return (backend, { a, b, out, transposeA, transposeB, M, N, K, batch, batchA, batchB }) =>
    nat.sgemm(transposeA, transposeB, M, N, K, f32(backend, a), f32(backend, b), f32(backend, out), batch, batchA, batchB);
}

function xnnpackGemm(tf: Tf): Gemm {
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) throw new Error('wasm Transpose kernel not registered');
  let raw: RawMatMul | undefined;
  return (wasmBackend, { a, b, out, transposeA, transposeB, M, K, N, batch, batchA, batchB }) => {
    const backend = wasmBackend as Backend;
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
  };
}

/** BatchMatMul on wasm through OpenBLAS when `nat` is given, else through XNNPACK. */
export function wasmBatchMatMul(tf: Tf, nat?: NativeKernels): KernelConfig {
  const gemm = nat ? nativeGemm(nat) : xnnpackGemm(tf);
  type In = { a: TensorInfo; b: TensorInfo };
  return overStock<In, { transposeA: boolean; transposeB: boolean }>(tf, 'BatchMatMul', (args, stock) => {
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
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(same || batchA === 1 || batchB === 1)) return stock();
    const { M, K, N } = matMulDims(a.shape, b.shape, transposeA, transposeB);
    const batch = Math.max(batchA, batchB);
    const out = backend.makeOutput([batch, M, N], 'float32');
    if (M * N > 0) {
      if (K === 0) backend.typedArrayFromHeap(out).fill(0);
      // the engine takes its heap views now, after makeOutput (which may grow the heap)
      else gemm(backend, { a, b, out, transposeA, transposeB, M, K, N, batch, batchA, batchB });
    }
    out.shape = [...(batchA >= batchB ? outerA : outerB), M, N];
    return out;
  });
}
