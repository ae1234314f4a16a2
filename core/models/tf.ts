/**
 * The models' one door to TensorFlow.js. Every model file calls `tf()` (sync, after `initModelsTf`).
 *
 * Until core/tensor's `initBackend/getTf` (fast wasm kernels) is wired in, this initialises the plain
 * tfjs cpu backend. Switching is one edit here; model code never imports tfjs directly.
 */
import * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

export type Tf = typeof tfc;
export type Tensor = tfc.Tensor;
export type Variable = tfc.Variable;

let backend: { name: string; reason: string } | undefined;

/** Initialise the tensor backend once (idempotent) and say which one runs. */
export async function initModelsTf(device: 'auto' | 'gpu' | 'cpu' | 'wasm' = 'auto'): Promise<{ tf: Tf; name: string; reason: string }> {
  if (!backend) {
    if (device === 'gpu') throw new Error('device "gpu": no GPU tensor backend is available to the sequential models yet');
    await tfc.setBackend('cpu');
    await tfc.ready();
    backend = { name: 'cpu', reason: device === 'cpu' ? 'requested' : `device "${device}": the models use the tfjs cpu backend (core/tensor not wired yet)` };
  }
  return { tf: tfc, ...backend };
}

/** tfjs namespace; `initModelsTf` must have run. */
export function tf(): Tf {
  if (!backend) throw new Error('tensor backend not initialised: call initModelsTf() first');
  return tfc;
}
