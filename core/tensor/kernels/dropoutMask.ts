/**
 * tf.dropout's multiplier, bit for bit, written straight into the output tensor (kernel 'FlowloopDropoutMask',
 * wasm and cpu; op `dropout` in core/tensor/ops.ts).
 *
 * tf.dropout(x, rate, undefined, seed) is x · floor(u + keep) / keep with u = tf.randomUniform(x.shape, 0, 1,
 * 'float32', seed): seedrandom's alea generator seeded with String(seed), each value rounded to float32, and
 * the add and the division done in float32 (keep = float32(1 − rate)). tfjs draws u through two closures per
 * element into a JS buffer, uploads it, then runs Add, Floor and RealDiv over it: the SASRec step spent more
 * time there than in its attention. Here the alea recurrence runs in one loop with its state in locals and
 * writes floor(u + keep) / keep (same float32 roundings) into the output: same values, one pass, no JS array.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { NativeKernels } from '../native';
import { arrayKernel } from './defineKernel';

export const DROPOUT_MASK = 'FlowloopDropoutMask';

const TWO_M32 = 2.3283064365386963e-10; // 2^-32

/** seedrandom's Mash hash of Baagoe's alea (seedrandom/lib/alea.js), as a function of its running state. */
function mashOf(): (data: string) => number {
  let n = 0xefc8249d;
  return (data: string) => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000; // 2^32
    }
    return (n >>> 0) * TWO_M32;
  };
}

/** alea's state [c, s0, s1, s2] right after seeding with `seed` (seedrandom's seeding, tfjs passes String(seed)). */
function aleaSeeded(seed: number | string): [number, number, number, number] {
  const mash = mashOf();
  const key = String(seed);
  let s0 = mash(' '),
    s1 = mash(' '),
    s2 = mash(' ');
  s0 -= mash(key);
  if (s0 < 0) s0 += 1;
  s1 -= mash(key);
  if (s1 < 0) s1 += 1;
  s2 -= mash(key);
  if (s2 < 0) s2 += 1;
  return [1, s0, s1, s2];
}

/**
 * out[i] = tf.dropout's multiplier floor(u_i + keep) / keep in float32 (0 or float32(1/keep)), keep = float32(1 − rate),
 * u_i = float32 of the i-th number of alea seeded with `seed` (= tf.randomUniform(shape, 0, 1, 'float32', seed)).
 */
export function aleaFill(seed: number | string, out: Float32Array, rate: number): void {
  let [c, s0, s1, s2] = aleaSeeded(seed);
  const n = out.length;
  const f = Math.fround;
  const keep = f(1 - rate);
  const kept = f(1 / keep); // float32 division of floor(...) = 1 by keep
  for (let i = 0; i < n; i++) {
    const t = 2091639 * s0 + c * TWO_M32;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    // u = float32(s2); float32 add; floor is 0 or 1 (u + keep < 2)
    out[i] = f(f(s2) + keep) >= 1 ? kept : 0;
  }
}

/**
 * The kernel for `backendName` ('wasm' or 'cpu'; on wasm the native addon's loop when the build has it): no
 * inputs; attrs shape, rate (0 < rate < 1) and seed.
 */
export function dropoutMaskKernel(backendName: 'wasm' | 'cpu', nat?: NativeKernels): KernelConfig {
  const natMask = backendName === 'wasm' ? nat?.dropoutMask?.bind(nat) : undefined;
  return arrayKernel<Record<string, never>, { shape: number[]; rate: number; seed: number | string }>(
    DROPOUT_MASK,
    backendName,
    (io, _inputs, { shape, rate, seed }) => {
      const out = io.out(shape);
      if (natMask) {
        // alea's state s ∈ [0, 1) is a multiple of 2^-32 (Mash returns one): the addon takes x = s·2^32
        const [c, s0, s1, s2] = aleaSeeded(seed);
        natMask(io.f32(out), c, s0 * 0x100000000, s1 * 0x100000000, s2 * 0x100000000, Math.fround(1 - rate));
      } else aleaFill(seed, io.f32(out), rate);
      return out;
    },
  );
}
