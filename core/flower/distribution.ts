/**
 * RQ1 distribution fitting (docs/methods.md §A9): how well the policy's title distribution (no
 * history, constrained to the tree, temperature 1) fits the target P*(i) = R(i)/ΣR.
 *  - sampled: counts of `samples` titles drawn from the policy (see sampleFromDistribution) → KL(target‖gen), KL(gen‖target), JS,
 *    coverage (core/metrics; KL ε-smoothed there, see its doc comment);
 *  - exact:   the policy's exact constrained probability of every title (product over its path of the
 *    full-vocabulary probabilities renormalised over the node's children) → the same divergences
 *    without sampling noise.
 * Writes `distribution.json` (per title: target, exact and sampled shares per objective) and
 * `distribution.svg` (target vs generated share per title, the seed's Figure 4).
 */
import type { FlowerConfig } from '../experiment/configTypes';
import type { RunContext } from '../experiment/context';
import { coverage, jsDivergence, klDivergence } from '../metrics';
import type { StepPolicy } from '../decode';
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import { Rng } from '../util/random';
import type { FlowerSetup } from './setup';
import { distributionSvg } from './plot';

/**
 * Exact title distribution of the policy for one history at T = 1.
 *  constrained (default): each step renormalised over the node's trie children (docs/methods.md §A7 decoding);
 *  full: the full-vocabulary chain Π π(y_t|s_t) (what sub-trajectory balance constrains, docs/methods.md §A4),
 *        renormalised over the valid titles (mass on tokens outside the tree is dropped).
 */
export async function exactTitleDistribution(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  history: number[] = [],
  kind: 'constrained' | 'full' = 'constrained',
): Promise<Float64Array> {
  const internal: number[] = [];
  for (let v = 0; v < trie.size; v++) if (trie.childCount[v] > 0) internal.push(v);
  const lps = await policy.nextLogProbs(
    internal.map(() => history),
    internal.map((v) => vocab.encode(trie.prefix(v))),
  );
  const cond = new Float64Array(trie.size); // π(node | parent) renormalised over siblings
  internal.forEach((v, r) => {
    const c0 = trie.childStart[v],
      c1 = c0 + trie.childCount[v];
    let mx = -Infinity;
    for (let c = c0; c < c1; c++) mx = Math.max(mx, lps[r][vocab.toPolicy(trie.token[c])]);
    let z = 0;
    if (kind === 'full') {
      mx = 0;
      z = 1;
    } else for (let c = c0; c < c1; c++) z += Math.exp(lps[r][vocab.toPolicy(trie.token[c])] - mx);
    for (let c = c0; c < c1; c++) cond[c] = Math.exp(lps[r][vocab.toPolicy(trie.token[c])] - mx) / z;
  });
  const reach = new Float64Array(trie.size);
  reach[0] = 1;
  for (let v = 1; v < trie.size; v++) reach[v] = reach[trie.parent[v]] * cond[v]; // ids are breadth-first
  const out = new Float64Array(trie.titles.length);
  for (let v = 0; v < trie.size; v++) if (trie.titleOf[v] >= 0) out[trie.titleOf[v]] = reach[v];
  if (kind === 'full') {
    const tot = out.reduce((a, b) => a + b, 0);
    for (let i = 0; i < out.length; i++) out[i] /= tot;
  }
  return out;
}

/**
 * `n` title draws from the policy without history. Without a history every sample starts from the same
 * state, so drawing from the exact constrained distribution (token by token it is the same categorical
 * chain core/decode's sampleTitles walks) gives the same distribution at a fraction of the cost.
 */
export async function sampleFromDistribution(probs: Float64Array, n: number, rng: Rng): Promise<number[]> {
  const cdf = new Float64Array(probs.length);
  let acc = 0;
  probs.forEach((p, i) => {
    acc += p;
    cdf[i] = acc;
  });
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = rng.next() * acc;
    let lo = 0,
      hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    out.push(lo);
  }
  return out;
}

/** Exact-distribution fit of a policy (no history): KL(target‖gen), KL(gen‖target), JS. */
export async function exactFit(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  kind: 'constrained' | 'full' = 'constrained',
): Promise<{ klTG: number; klGT: number; js: number }> {
  const exact = await exactTitleDistribution(policy, trie, vocab, [], kind);
  const t = new Float64Array(trie.titles.length);
  for (let v = 0; v < trie.size; v++) if (trie.titleOf[v] >= 0) t[trie.titleOf[v]] = trie.flow[v];
  const target = counts(trie.titles, t),
    gen = counts(trie.titles, exact);
  return { klTG: klDivergence(target, gen), klGT: klDivergence(gen, target), js: jsDivergence(target, gen) };
}

export interface FitScores {
  'kl(target||gen)': number;
  'kl(gen||target)': number;
  js: number;
  coverage: number;
  'exact/kl(target||gen)': number;
  'exact/kl(gen||target)': number;
  'exact/js': number;
  samples: number;
}

function counts(titles: string[], values: ArrayLike<number>): Map<string, number> {
  const m = new Map<string, number>();
  titles.forEach((t, i) => m.set(t, (m.get(t) ?? 0) + values[i]));
  return m;
}

export async function evaluateDistribution(
  ctx: RunContext<FlowerConfig>,
  fitted: { objective: string; policy: StepPolicy }[],
  s: FlowerSetup,
): Promise<Record<string, unknown>> {
  const c = ctx.config;
  const { trie, vocab } = s;
  const titles = trie.titles;
  // target over the tree's titles (merged duplicates keep their own reward in the file; count the node's flow once)
  const targetVals = new Float64Array(titles.length);
  for (let v = 0; v < trie.size; v++) if (trie.titleOf[v] >= 0) targetVals[trie.titleOf[v]] = trie.flow[v];
  const target = counts(titles, targetVals);
  const results: Record<string, unknown> = {};
  const perTitle: Record<string, unknown>[] = titles.map((t, i) => ({ title: t, target: targetVals[i] / trie.flow[0] }));
  const lines = [
    `RQ1 distribution fit: ${titles.length} titles, ${c.distribution.samples} samples per model (temperature 1, constrained to the tree)`,
    'model    KL(target‖gen)  KL(gen‖target)  JS       coverage   | exact: KL(t‖g)  KL(g‖t)  JS',
  ];
  const series: { name: string; shares: Float64Array }[] = [];
  for (const f of fitted) {
    ctx.progress(`evaluate ${f.objective}`, 0, 1);
    const exact = await exactTitleDistribution(f.policy, trie, vocab);
    const sampled = await sampleFromDistribution(exact, c.distribution.samples, new Rng((ctx.seed ^ 0xd157) >>> 0));
    const sc = new Float64Array(titles.length);
    for (const x of sampled) sc[x]++;
    const gen = counts(titles, sc);
    const ex = counts(titles, exact);
    const m: FitScores = {
      'kl(target||gen)': klDivergence(target, gen),
      'kl(gen||target)': klDivergence(gen, target),
      js: jsDivergence(target, gen),
      coverage: coverage(target, gen),
      'exact/kl(target||gen)': klDivergence(target, ex),
      'exact/kl(gen||target)': klDivergence(ex, target),
      'exact/js': jsDivergence(target, ex),
      samples: sampled.length,
    };
    const key = fitted.length > 1 ? `${f.objective}/` : '';
    for (const [k, v] of Object.entries(m)) results[key + k] = v;
    perTitle.forEach((row, i) => {
      row[`${f.objective}/exact`] = exact[i];
      row[`${f.objective}/sampled`] = sc[i] / sampled.length;
    });
    series.push({ name: f.objective, shares: Float64Array.from(sc, (x) => x / sampled.length) });
    lines.push(
      `${f.objective.padEnd(8)} ${m['kl(target||gen)'].toFixed(4).padStart(14)}  ${m['kl(gen||target)'].toFixed(4).padStart(14)}  ${m.js.toFixed(4)}   ${(100 * m.coverage).toFixed(0).padStart(5)}%   | ${m['exact/kl(target||gen)'].toFixed(4).padStart(13)}  ${m['exact/kl(gen||target)'].toFixed(4).padStart(7)}  ${m['exact/js'].toFixed(4)}`,
    );
    ctx.saveMetrics(results);
  }
  ctx.writeArtifact(
    'distribution.json',
    JSON.stringify(perTitle, null, 1),
    'table',
    'per title: target share, exact and sampled generated share per model',
  );
  const svg = distributionSvg(
    titles,
    Float64Array.from(targetVals, (x) => x / trie.flow[0]),
    series,
    `Target vs generated share per title (${titles.length} titles, no history)`,
  );
  const svgPath = ctx.writeArtifact('distribution.svg', svg, 'plot', 'target vs generated share per title (seed Figure 4)');
  lines.push(`plot: ${svgPath}`);
  const keyName = fitted.length > 1 ? `${fitted[fitted.length - 1].objective}/kl(target||gen)` : 'kl(target||gen)';
  ctx.setKeyMetric(keyName, results[keyName] as number); // named by its metrics.json key
  ctx.table(lines);
  return results;
}
