/**
 * The two ways Flowloop defines a tfjs kernel, written once for every kernel in this folder:
 *  - `arrayKernel`: one function over typed arrays that runs on wasm (views of the heap) and on cpu (the
 *    backend's value arrays) alike — the fused kernels (LayerNorm, log-softmax-gather, Adam, segment sum).
 *  - `overStock`: a wasm kernel that replaces tfjs's stock one for the cases it handles and hands the call
 *    back to the stock kernel (`stock()`) for the others — BatchMatMul, GatherV2, Tile, Slice, Sum, ….
 */
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { CpuBackendLike, WasmBackendLike } from './backendTypes';

type Tf = typeof import('@tensorflow/tfjs-core');

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Typed-array access to one backend's tensors. Make every output (`out`) before taking views: on wasm a new
 * output may grow the heap, which detaches the views taken before it.
 */
export interface ArrayIO {
  /** A new output tensor (float32 unless `dtype` says int32); its values are not zeroed on wasm. */
  out(shape: number[], dtype?: DataType): TensorInfo;
  f32(t: TensorInfo): Float32Array;
  i32(t: TensorInfo): Int32Array;
  /** The values of a float32 or int32 tensor. */
  values(t: TensorInfo): Float32Array | Int32Array;
}

const ios = new WeakMap<object, ArrayIO>();

function wasmIO(b: WasmBackendLike): ArrayIO {
  const values = (t: TensorInfo) => b.typedArrayFromHeap(t) as Float32Array | Int32Array;
  return {
    out: (shape, dtype = 'float32') => b.makeOutput(shape, dtype),
    f32: values as (t: TensorInfo) => Float32Array,
    i32: values as (t: TensorInfo) => Int32Array,
    values,
  };
}

function cpuIO(b: CpuBackendLike): ArrayIO {
  const values = (t: TensorInfo) => b.data.get(t.dataId).values as Float32Array | Int32Array;
  return {
    // the cpu backend keeps the array it is given, so the kernel fills it after making the tensor
    out: (shape, dtype = 'float32') =>
      b.makeTensorInfo(shape, dtype, dtype === 'int32' ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape))),
    f32: values as (t: TensorInfo) => Float32Array,
    i32: values as (t: TensorInfo) => Int32Array,
    values,
  };
}

function ioOf(backendName: string, backend: object): ArrayIO {
  let io = ios.get(backend);
  if (!io) {
    io = backendName === 'wasm' ? wasmIO(backend as WasmBackendLike) : cpuIO(backend as CpuBackendLike);
    ios.set(backend, io);
  }
  return io;
}

/**
 * A kernel of `backendName` ('wasm' or 'cpu') written once over typed arrays: `run` makes its outputs with
 * `io.out`, reads and writes values through `io`, and returns the output(s).
 */
export function arrayKernel<I, A = unknown>(
  kernelName: string,
  backendName: string,
  run: (io: ArrayIO, inputs: I, attrs: A) => TensorInfo | TensorInfo[],
): KernelConfig {
  const kernelFunc = (({ inputs, backend, attrs }: { inputs: I; backend: object; attrs: A }) =>
    run(ioOf(backendName, backend), inputs, attrs)) as unknown as KernelFunc;
  return { kernelName, backendName, kernelFunc };
}

/** What tfjs passes a wasm kernel. */
export interface WasmArgs<I, A = unknown, B = WasmBackendLike> {
  inputs: I;
  backend: B;
  attrs: A;
}

/**
 * The wasm kernel `kernelName` replaced by `run`, which calls `stock()` (tfjs's own kernel, same arguments)
 * for what it does not handle. Throws when tfjs has no such wasm kernel.
 */
export function overStock<I, A = unknown, B = WasmBackendLike>(
  tf: Tf,
  kernelName: string,
  run: (args: WasmArgs<I, A, B>, stock: () => TensorInfo | TensorInfo[]) => TensorInfo | TensorInfo[],
): KernelConfig {
  const orig = tf.getKernel(kernelName, 'wasm');
  if (!orig) throw new Error(`wasm ${kernelName} kernel not registered`);
  const kernelFunc = ((args: WasmArgs<I, A, B>) => run(args, () => orig.kernelFunc(args as never))) as unknown as KernelFunc;
  return { kernelName, backendName: 'wasm', setupFunc: orig.setupFunc, kernelFunc };
}
