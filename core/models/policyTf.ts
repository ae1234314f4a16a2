/**
 * The one place the Flower policy gets its tfjs handle from: core/tensor (initBackend/getTf with
 * Flowloop's kernels, apis.md). Kept as a seam so the policy files never import tfjs directly.
 */
import { getTf, initBackend, type Tf } from '../tensor';

export type { Tf };

/** Initialise (idempotent) the tensor backend the policy runs on and return tf plus the backend chosen. */
export async function initPolicyTf(device: 'auto' | 'gpu' | 'cpu' | 'wasm' = 'auto'): Promise<{ tf: Tf; name: string; reason: string }> {
  return initBackend(device);
}

/** tf after `initPolicyTf` (core/tensor throws a clear error when no backend was initialised). */
export function tfp(): Tf {
  return getTf();
}
