/** docs/methods.md §A9: accuracy of top-K title lists against one relevant title per row. */

export const DEFAULT_KS = [1, 3, 5, 10] as const;

/**
 * docs/methods.md §A9: HR@K and NDCG@K with one relevant item and exact title match. For a row whose target first
 * appears at 0-based rank r of its list: HR@K = 1 if r < K; NDCG@K = 1/log2(r+2) if r < K (the ideal
 * DCG is 1); a row without the target scores 0. Returns the means over rows as `hr@K` / `ndcg@K` keys.
 */
export function hitNdcg(ranked: string[][], targets: string[], ks: readonly number[] = DEFAULT_KS): Record<string, number> {
  if (ranked.length !== targets.length) throw new Error(`hitNdcg: ${ranked.length} lists but ${targets.length} targets`);
  const out: Record<string, number> = {};
  for (const k of ks) {
    out[`hr@${k}`] = 0;
    out[`ndcg@${k}`] = 0;
  }
  const n = ranked.length;
  if (n === 0) return out;
  for (let i = 0; i < n; i++) {
    const r = ranked[i].indexOf(targets[i]);
    if (r < 0) continue;
    const gain = 1 / Math.log2(r + 2);
    for (const k of ks)
      if (r < k) {
        out[`hr@${k}`] += 1;
        out[`ndcg@${k}`] += gain;
      }
  }
  for (const key of Object.keys(out)) out[key] /= n;
  return out;
}
