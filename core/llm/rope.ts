/**
 * Rotary position embeddings (Su et al. 2021, RoFormer eq. 34, in the "rotate half" layout of the
 * Hugging Face Qwen2/Llama code): inv_freq_i = θ^(−2i/d), angle = position · inv_freq_i,
 * x' = x·cos + rotate_half(x)·sin with cos/sin repeated over both halves. `rope_scaling`:
 * `linear` divides the frequencies by `factor`; `llama3` (Llama 3.1) keeps high frequencies, divides low
 * ones by `factor` and interpolates smoothly between. inv_freq is computed in float32 as PyTorch does.
 */
import type { LlmConfig } from './hfConfig';

/** inv_freq[headDim/2] in float32 arithmetic (matches `1 / base ** (arange(0, d, 2).float() / d)`). */
export function inverseFrequencies(cfg: LlmConfig): Float32Array {
  const d = cfg.headDim;
  const inv = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / Math.fround(Math.pow(cfg.ropeTheta, Math.fround((2 * i) / d)));
  const s = cfg.ropeScaling;
  if (s.type === 'linear') for (let i = 0; i < inv.length; i++) inv[i] = inv[i] / s.factor;
  else if (s.type === 'llama3') {
    const lowWl = s.originalMaxPositions / s.lowFreqFactor;
    const highWl = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wl = (2 * Math.PI) / inv[i];
      if (wl > lowWl) inv[i] = inv[i] / s.factor;
      else if (wl >= highWl) {
        const smooth = (s.originalMaxPositions / wl - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/**
 * cos and sin tables [positions.length, headDim] for the given absolute positions (rows in order),
 * each row [cos(a_0..a_{d/2-1}), cos(a_0..a_{d/2-1})] (the halves repeated, as `rotate_half` expects).
 */
export function ropeTables(inv: Float32Array, positions: ArrayLike<number>): { cos: Float32Array; sin: Float32Array } {
  const h = inv.length;
  const d = 2 * h;
  const cos = new Float32Array(positions.length * d);
  const sin = new Float32Array(positions.length * d);
  for (let r = 0; r < positions.length; r++) {
    for (let i = 0; i < h; i++) {
      const a = Math.fround(positions[r] * inv[i]); // float32 angle, as torch's position.float() @ inv_freq
      const c = Math.cos(a),
        s = Math.sin(a);
      cos[r * d + i] = c;
      cos[r * d + h + i] = c;
      sin[r * d + i] = s;
      sin[r * d + h + i] = s;
    }
  }
  return { cos, sin };
}
