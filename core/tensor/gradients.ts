/**
 * Gradients Flowloop registers over tfjs's own (same values, fewer and cheaper kernels):
 *  - Sum, Mean: dx = broadcast(dy) [/ n] through Tile, instead of dy · ones(x.shape), which builds a
 *    full-size array of ones in JavaScript and uploads it on every backward pass (~7 ms CPU for a
 *    [10240, 64] input on wasm).
 * Registered once by initBackend (tfjs gradients are global, not per backend).
 */
import type { Tensor } from '@tensorflow/tfjs-core';

type Tf = typeof import('@tensorflow/tfjs-core');
let done = false;

function expandedShape(tf: Tf, x: Tensor, axis: number | number[]): number[] {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const s = x.shape.slice();
  for (const a of axes) s[a] = 1;
  return s;
}

export function registerFlowloopGradients(tf: Tf): void {
  if (done) return;
  done = true;
  const warn = console.warn; // tfjs warns "Overriding the gradient for ..." once per registration
  console.warn = () => {};
  try {
    tf.registerGradient({
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        return { x: () => tf.broadcastTo(tf.reshape(dy as Tensor, expandedShape(tf, x, axis)), x.shape) };
      },
    });
    tf.registerGradient({
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        const shape = expandedShape(tf, x, axis);
        const n = x.size / shape.reduce((a, b) => a * b, 1);
        // divide the small dy first, then broadcast (one division per output element, as before)
        return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy as Tensor, shape), n), x.shape) };
      },
    });
  } finally {
    console.warn = warn;
  }
}
