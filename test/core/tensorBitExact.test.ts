/**
 * Kernels that must reproduce a reference bit for bit, so that training stays step for step what it was.
 * The fused dropout (core/tensor/ops.ts `dropout`, kernel core/tensor/kernels/dropoutMask.ts) draws the same
 * mask as tf.dropout: seedrandom's alea stream seeded with String(seed), float32 roundings of tf.dropout's
 * floor(u + keep) / keep — bit-identical forward and gradient on wasm and cpu, so training stays step for step
 * what it was with tf.dropout.
 * The native double-arithmetic Adam (`adam64`) equals the JS loop (kernels/adam.ts adamUpdate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { initBackend } from '../../core/tensor';
import { dropout } from '../../core/tensor/ops';
import { aleaFill } from '../../core/tensor/kernels/dropoutMask';
import { adamUpdate, biasCorrections, type AdamAttrs } from '../../core/tensor/kernels/adam';
import { loadNative } from '../../core/tensor/native';
import { Rng } from '../../core/util/random';

const CASES: [seed: number, rate: number, shape: number[]][] = [
  [1, 0.1, [64, 10, 64]],
  [123456789, 0.5, [7, 13]],
  [2147483646, 0.3, [1000]],
  [0, 0.9, [333, 3]],
  [42, 0.2, [1]],
];

/** Indices where a and b differ as float32 bit patterns (Object.is: -0 and NaN count). */
function differences(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  assert.equal(a.length, b.length);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) bad.push(i);
  return bad;
}

test("aleaFill's masks follow seedrandom's alea stream (the generator tf.randomUniform uses) by tf.dropout's formula", () => {
  const req = createRequire(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core'));
  const alea = req('seedrandom').alea as (seed: string) => () => number;
  const f = Math.fround;
  for (const seed of [0, 1, 7, 2147483646, 'abc'])
    for (const rate of [0.1, 0.5]) {
      const prng = alea(String(seed));
      const keep = f(1 - rate);
      // tf.dropout: floor(float32(u) + keep) / keep, each step in float32
      const want = Float32Array.from({ length: 10000 }, () => f(Math.floor(f(f(prng()) + keep)) / keep));
      const got = new Float32Array(want.length);
      aleaFill(seed, got, rate);
      assert.deepEqual(differences(got, want), [], `seed ${seed} rate ${rate}`);
    }
});

for (const device of ['wasm', 'cpu'] as const)
  test(`dropout equals tf.dropout bit for bit on ${device}: forward and gradient`, async () => {
    const { tf } = await initBackend(device);
    for (const [seed, rate, shape] of CASES) {
      tf.tidy(() => {
        const what = `${device} seed ${seed} rate ${rate} [${shape}]`;
        const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
        const fwd = differences(dropout(x, rate, seed).dataSync(), tf.dropout(x, rate, undefined, seed).dataSync());
        assert.deepEqual(fwd, [], `forward ${what}`);
        const g = (drop: (t: typeof x) => typeof x) =>
          tf
            .grad((t: typeof x) => tf.sum(tf.mul(drop(t), x)))(x)
            .dataSync();
        const grad = differences(
          g((t) => dropout(t, rate, seed)),
          g((t) => tf.dropout(t, rate, undefined, seed)),
        );
        assert.deepEqual(grad, [], `gradient ${what}`);
      });
    }
  });

test('the native double-arithmetic Adam (adam64) equals the JS update bit for bit', (t) => {
  const nat = loadNative().mod;
  if (!nat?.adam64) return t.skip(`native adam64 not available: ${loadNative().why}`);
  const rng = new Rng(3);
  const n = 10007;
  const r = (s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
  for (const a of [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weightDecay: 1e-5, decoupledWeightDecay: 0, step: 1 },
    { lr: 3e-4, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0, decoupledWeightDecay: 0.01, step: 1234 },
  ] satisfies AdamAttrs[]) {
    const [x, g, m] = [r(1), r(0.1), r(0.01)];
    const v = Float32Array.from(r(0.001), Math.abs);
    const want = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const got = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    adamUpdate(x, g, m, v, a, want[0], want[1], want[2]);
    const { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay } = a;
    nat.adam64(x, g, m, v, got[0], got[1], got[2], lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, ...biasCorrections(a));
    for (let k = 0; k < 3; k++) assert.deepEqual(differences(got[k], want[k]), [], `output ${k} at step ${a.step}`);
  }
});
