/**
 * Identity for the wasm backend without a copy (shares the buffer by reference count, as the cpu backend
 * does). tfjs clones every tensor it saves for backprop through Identity: stock wasm copied each one
 * (~300 copies per SASRec training step). Safe because tfjs tensors are immutable (assign swaps buffers).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { overStock } from './defineKernel';

type Tf = typeof import('@tensorflow/tfjs-core');
type RefCounted = { incRef(d: object): void };

/** x itself with one more reference (tfjs tensors are immutable, so sharing the buffer is safe). */
function shared(backend: RefCounted, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function wasmIdentity(tf: Tf): KernelConfig {
  return overStock<{ x: TensorInfo }, unknown, RefCounted>(tf, 'Identity', ({ inputs: { x }, backend }, stock) =>
    x.dtype === 'string' ? stock() : shared(backend, x),
  );
}

/**
 * Cast for the wasm backend: a cast to the tensor's own dtype shares the buffer (tfjs ops call Cast with
 * float32 -> float32 in many gradients; stock wasm copied each, ~19 copies per SASRec step); other casts
 * use the stock kernel.
 */
export function wasmCast(tf: Tf): KernelConfig {
  return overStock<{ x: TensorInfo }, { dtype: string }, RefCounted>(tf, 'Cast', ({ inputs: { x }, backend, attrs }, stock) =>
    x.dtype !== attrs.dtype || x.dtype === 'string' ? stock() : shared(backend, x),
  );
}
