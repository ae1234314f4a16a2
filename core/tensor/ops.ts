/**
 * Differentiable ops backed by Flowloop's fused kernels (core/tensor/kernels). Call after initBackend.
 */
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { getTf } from './index';
import { LOG_SOFTMAX_GATHER, LOG_SOFTMAX_GATHER_GRAD } from './kernels/softmaxCrossEntropy';
import { LAYER_NORM, LAYER_NORM_GRAD } from './kernels/layerNorm';
import { DROPOUT_MASK } from './kernels/dropoutMask';

let gradientRegistered = false;

function ensureGradient(): void {
  if (gradientRegistered) return;
  const tf = getTf();
  tf.registerGradient({
    kernelName: LOG_SOFTMAX_GATHER,
    inputsToSave: ['logits', 'labels'],
    outputsToSave: [false, true],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [dlogp, dlse] = dy as Tensor[];
      const [logits, labels, lse] = saved;
      return {
        logits: () => tf.engine().runKernel(LOG_SOFTMAX_GATHER_GRAD, { logits, labels, lse, dlogp, dlse }, {}) as Tensor,
        labels: () => tf.zerosLike(labels),
      };
    },
  });
  gradientRegistered = true;
}

/**
 * Log-probability of `labels` under softmax(`logits`) per row: logits[n, y_n] - logsumexp(logits[n, :])
 * (full-vocabulary log-softmax then gather; cross-entropy is its negative mean). `labels` [N] gives [N];
 * [N, K] gives [N, K] from ONE softmax pass (e.g. a title token and the terminal). Labels outside [0, V)
 * give 0 and no gradient. Differentiable in `logits`.
 * On wasm/cpu it runs the fused kernel; on other backends the same formula from stock ops.
 */
export function logSoftmaxGather(logits: Tensor2D, labels: Tensor1D): Tensor1D;
export function logSoftmaxGather(logits: Tensor2D, labels: Tensor2D): Tensor2D;
export function logSoftmaxGather(logits: Tensor2D, labels: Tensor1D | Tensor2D): Tensor1D | Tensor2D {
  const tf = getTf();
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return logSoftmaxGatherStock(logits, labels as Tensor2D);
  ensureGradient();
  return tf.tidy(() => {
    const lab = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
    const [logp] = tf.engine().runKernel(LOG_SOFTMAX_GATHER, { logits, labels: lab }, {}) as Tensor[];
    return logp as Tensor1D | Tensor2D;
  });
}

/** logSoftmaxGather from stock ops (any backend; the fused kernels are checked against it). */
export function logSoftmaxGatherStock(logits: Tensor2D, labels: Tensor1D | Tensor2D): Tensor1D | Tensor2D {
  const tf = getTf();
  return tf.tidy(() => {
    const [N, V] = logits.shape;
    const K: number = labels.rank === 1 ? 1 : (labels.shape[1] as number);
    const lab = tf.reshape(tf.cast(labels, 'int32'), [N, K]);
    const lp = tf.logSoftmax(logits);
    const valid = tf.logicalAnd(tf.greaterEqual(lab, 0), tf.less(lab, V));
    const safe = tf.where(valid, lab, tf.zerosLike(lab));
    const rows = tf.reshape(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), [N, 1]);
    const picked = tf.reshape(tf.gather(tf.reshape(lp, [-1]), tf.reshape(tf.add(rows, safe), [-1])), [N, K]);
    return tf.reshape(tf.where(valid, picked, tf.zerosLike(picked)), labels.shape) as Tensor1D | Tensor2D;
  });
}

let lnGradientRegistered = false;

/**
 * nn.LayerNorm over the last axis (biased variance, eps 1e-5 by default): (x − mean)/sqrt(var + eps)·γ + β.
 * Differentiable in x, γ and β. One fused kernel each way on wasm/cpu; stock ops elsewhere.
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const tf = getTf();
  const backend = tf.getBackend();
  if (!tf.getKernel(LAYER_NORM, backend) || x.dtype !== 'float32') {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
    });
  }
  if (!lnGradientRegistered) {
    tf.registerGradient({
      kernelName: LAYER_NORM,
      inputsToSave: ['x', 'gamma'],
      outputsToSave: [false, true, true],
      gradFunc: (dys: Tensor | Tensor[], saved: Tensor[]) => {
        const [dy] = dys as Tensor[];
        const [xs, g, mean, rstd] = saved;
        const [dx, dg, db] = tf.engine().runKernel(LAYER_NORM_GRAD, { x: xs, gamma: g, mean, rstd, dy }, {}) as Tensor[];
        return { x: () => dx, gamma: () => dg, beta: () => db };
      },
    });
    lnGradientRegistered = true;
  }
  return tf.tidy(() => {
    const [y] = tf.engine().runKernel(LAYER_NORM, { x, gamma, beta }, { eps } as never) as Tensor[];
    return y;
  });
}

/**
 * tf.dropout(x, rate, undefined, seed), same values and gradient (x · mask, the mask a constant), with the
 * mask from one fused kernel (kernels/dropoutMask.ts) instead of tfjs's JS random buffer + Add + Floor +
 * RealDiv. Falls back to tf.dropout without a seed, for non-float32 x, or where the kernel is missing.
 */
export function dropout(x: Tensor, rate: number, seed?: number): Tensor {
  const tf = getTf();
  if (seed === undefined || x.dtype !== 'float32' || !(rate > 0 && rate < 1) || !tf.getKernel(DROPOUT_MASK, tf.getBackend()))
    return tf.dropout(x, rate, undefined, seed);
  return tf.tidy(() => tf.mul(x, tf.engine().runKernel(DROPOUT_MASK, {}, { shape: x.shape, rate, seed } as never) as Tensor));
}
