/**
 * Identity for the wasm backend without a copy (shares the buffer by reference count, as the cpu backend
 * does). tfjs clones every tensor it saves for backprop through Identity: stock wasm copied each one
 * (~300 copies per SASRec training step). Safe because tfjs tensors are immutable (assign swaps buffers).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

type Tf = typeof import('@tensorflow/tfjs-core');

export function wasmIdentity(tf: Tf): KernelConfig {
  const orig = tf.getKernel('Identity', 'wasm');
  if (!orig) throw new Error('wasm Identity kernel not registered');
  const kernelFunc = ((args: { inputs: { x: TensorInfo }; backend: { incRef(d: object): void } }) => {
    const {
      inputs: { x },
      backend,
    } = args;
    if (x.dtype === 'string') return orig.kernelFunc(args as never);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as KernelFunc;
  return { kernelName: 'Identity', backendName: 'wasm', setupFunc: orig.setupFunc, kernelFunc };
}

/**
 * Cast for the wasm backend: a cast to the tensor's own dtype shares the buffer (tfjs ops call Cast with
 * float32 -> float32 in many gradients; stock wasm copied each, ~19 copies per SASRec step); other casts
 * use the stock kernel.
 */
export function wasmCast(tf: Tf): KernelConfig {
  const orig = tf.getKernel('Cast', 'wasm');
  if (!orig) throw new Error('wasm Cast kernel not registered');
  const kernelFunc = ((args: { inputs: { x: TensorInfo }; backend: { incRef(d: object): void }; attrs: { dtype: string } }) => {
    const {
      inputs: { x },
      backend,
      attrs: { dtype },
    } = args;
    if (x.dtype !== dtype || x.dtype === 'string') return orig.kernelFunc(args as never);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as KernelFunc;
  return { kernelName: 'Cast', backendName: 'wasm', setupFunc: orig.setupFunc, kernelFunc };
}
