/**
 * The models' one door to TensorFlow.js: `initModelsTf(device)` once (async), then `tf()` (sync).
 * Delegates to core/tensor (`initBackend` chooses tfjs-node-gpu / tfjs-node / wasm with Flowloop's
 * kernels / cpu and registers the kernels; `getTf`). Model code never imports tfjs directly.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { getTf, initBackend, type Device } from '../tensor';

export type Tf = typeof TF;
export type Tensor = TF.Tensor;
export type Variable = TF.Variable;

let ready: { name: string; reason: string } | undefined;

/** Initialise the tensor backend (idempotent) and say which one runs and why. */
export async function initModelsTf(device: Device = 'auto'): Promise<{ tf: Tf; name: string; reason: string }> {
  const c = await initBackend(device);
  ready = { name: c.name, reason: c.reason };
  return c;
}

/** tfjs namespace; `initModelsTf` (or core/tensor's initBackend) must have run. */
export function tf(): Tf {
  return getTf();
}

/** The backend in use, once initialised. */
export function modelsBackend(): { name: string; reason: string } | undefined {
  return ready;
}
