/**
 * docs/methods.md §A9 (RQ1 distribution fitting): KL(target‖gen), KL(gen‖target) and JS between two count
 * distributions over titles (e.g. target counts of select_100_Movies.json vs counts of sampled titles).
 *
 * Zero counts: both distributions are taken over the UNION of their titles. KL uses additive smoothing
 * with ε (default 1e-10, option `eps`): p'(i) = (p(i) + ε) / (1 + Nε), N = union size, for both sides,
 * so a title the generator never produced costs about ln(p/ε) ≈ 23 nats instead of +∞. With ε = 0 a
 * zero in the second argument where the first is positive gives Infinity (the exact value). JS needs no
 * smoothing (m = (p+q)/2 is positive wherever p or q is) and is computed exactly, 0·log 0 = 0; it lies in
 * [0, ln 2] nats. Logarithms are natural (nats) unless `base` is given (2 → bits).
 */

export type Counts = Map<string, number> | Record<string, number>;

function toMap(c: Counts): Map<string, number> {
  const m = c instanceof Map ? c : new Map(Object.entries(c));
  for (const [k, v] of m)
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`count of ${JSON.stringify(k)} must be a non-negative number, got ${v}`);
  return m;
}

/** Both count maps as aligned probability vectors over the union of keys (first map's order first). */
export function alignDistributions(p: Counts, q: Counts): { keys: string[]; p: number[]; q: number[] } {
  const a = toMap(p);
  const b = toMap(q);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const sa = [...a.values()].reduce((s, x) => s + x, 0);
  const sb = [...b.values()].reduce((s, x) => s + x, 0);
  if (sa <= 0 || sb <= 0) throw new Error('distributions need a positive total count');
  return { keys, p: keys.map((k) => (a.get(k) ?? 0) / sa), q: keys.map((k) => (b.get(k) ?? 0) / sb) };
}

/** KL(p‖q) = Σ p log(p/q) over the union support, ε-smoothed as described in this module's comment. */
export function klDivergence(p: Counts, q: Counts, opts: { eps?: number; base?: number } = {}): number {
  const eps = opts.eps ?? 1e-10;
  const { p: pp, q: qq } = alignDistributions(p, q);
  const n = pp.length;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const a = (pp[i] + eps) / (1 + n * eps);
    const b = (qq[i] + eps) / (1 + n * eps);
    if (a === 0) continue;
    if (b === 0) return Infinity;
    kl += a * Math.log(a / b);
  }
  kl = Math.max(0, kl);
  return opts.base ? kl / Math.log(opts.base) : kl;
}

/** JS(p, q) = ½ KL(p‖m) + ½ KL(q‖m), m = (p+q)/2, exact (no smoothing). */
export function jsDivergence(p: Counts, q: Counts, opts: { base?: number } = {}): number {
  const { p: pp, q: qq } = alignDistributions(p, q);
  let js = 0;
  for (let i = 0; i < pp.length; i++) {
    const m = (pp[i] + qq[i]) / 2;
    if (pp[i] > 0) js += 0.5 * pp[i] * Math.log(pp[i] / m);
    if (qq[i] > 0) js += 0.5 * qq[i] * Math.log(qq[i] / m);
  }
  js = Math.max(0, js);
  return opts.base ? js / Math.log(opts.base) : js;
}

/** Coverage: fraction of the target's titles (count > 0) that the generated counts contain (count > 0). */
export function coverage(target: Counts, gen: Counts): number {
  const t = [...toMap(target)].filter(([, c]) => c > 0);
  const g = toMap(gen);
  if (t.length === 0) return 0;
  return t.filter(([k]) => (g.get(k) ?? 0) > 0).length / t.length;
}
