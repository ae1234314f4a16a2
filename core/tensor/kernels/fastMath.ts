/**
 * exp(t) for t <= 0 in float32 accuracy (relative error ~1.2e-7 over [-87, 0], exactly 0 below -87):
 * 2^(t*log2 e) split into an integer power (table) and a degree-6 Taylor polynomial of the remainder
 * (|r| <= ln2/2). Used by the fused softmax kernels where exp dominates.
 */
const POW2 = new Float64Array(128);
for (let i = 0; i < 128; i++) POW2[i] = Math.pow(2, -i);
const LOG2E = 1.4426950408889634;
const LN2 = 0.6931471805599453;

export function fastExpNeg(t: number): number {
  const y = -t * LOG2E; // >= 0 for t <= 0
  if (!(y >= 0 && y < 126.5)) return y >= 126.5 ? 0 : Math.exp(t); // NaN and t > 0 go to Math.exp
  const i = Math.round(y);
  const f = (i - y) * LN2; // e^f with |f| <= ln2/2
  const p =
    1 +
    f * (1 + f * (0.5 + f * (0.16666666666666666 + f * (0.041666666666666664 + f * (0.008333333333333333 + f * 0.001388888888888889)))));
  return POW2[i] * p;
}
