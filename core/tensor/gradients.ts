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
    for (const mean of [false, true])
      tf.registerGradient({
        kernelName: mean ? 'Mean' : 'Sum',
        inputsToSave: ['x'],
        gradFunc: (dy, [x], attrs) => {
          const shape = expandedShape(tf, x, (attrs as unknown as { axis: number | number[] }).axis);
          const n = x.size / shape.reduce((a, b) => a * b, 1);
          return {
            x: () => {
              const g = tf.reshape(dy as Tensor, shape);
              // Mean: divide the small dy first, then broadcast (one division per output element, as before)
              return tf.broadcastTo(mean ? tf.div(g, n) : g, x.shape);
            },
          };
        },
      });
  } finally {
    console.warn = warn;
  }
}
