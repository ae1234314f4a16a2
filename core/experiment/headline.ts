/**
 * The result that matters of a finished run, in one line (the editor's finish toast): a distribution fit
 * compares its objectives (docs/methods.md §A8: "Flower KL 0.16 vs SFT 0.77, coverage 100% vs 93%"), a
 * recommender gives its accuracy and fairness (§A9), a sequential model its test HR/NDCG (§C), AFL its
 * HR@1 against the Rec Agent and the base model (§B6). Read from metrics.json as the runner saved it.
 */
import { flattenMetrics } from './runStore';
import { stageName } from './runProgress';

const f = (x: number, d = 3) => (Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(d)).toString());
const pct = (x: number) => `${Math.round(100 * x)}%`;

export function headline(kind: string, metrics: Record<string, unknown>): string | undefined {
  const m = flattenMetrics(metrics);
  if (kind === 'flower') {
    const objectives = [
      ...new Set(
        Object.keys(m)
          .map((k) => /^([^/.]+)\/kl\(target\|\|gen\)$/.exec(k)?.[1])
          .filter((x): x is string => !!x),
      ),
    ].reverse();
    if (objectives.length) {
      const kl = objectives.map((o) => `${stageName(o)} ${f(m[`${o}/kl(target||gen)`])}`).join(' vs ');
      const cov = objectives.every((o) => m[`${o}/coverage`] !== undefined)
        ? `, coverage ${objectives.map((o) => pct(m[`${o}/coverage`])).join(' vs ')}`
        : '';
      return `KL(target‖gen) ${kl}${cov}`;
    }
    const parts = [
      ['NDCG@10', 'ndcg@10'],
      ['HR@10', 'hr@10'],
      ['DGU', 'dgu'],
      ['MGU', 'mgu'],
    ]
      .filter(([, k]) => m[k] !== undefined)
      .map(([l, k]) => `${l} ${f(m[k])}`);
    return parts.length ? parts.join(', ') : undefined;
  }
  if (kind === 'sequential') {
    const parts = [
      ['HR@10', 'test/hr@10'],
      ['NDCG@10', 'test/ndcg@10'],
    ]
      .filter(([, k]) => m[k] !== undefined)
      .map(([l, k]) => `${l} ${f(m[k])}`);
    if (m['test/cand_hr@1'] !== undefined) parts.push(`HR@1 among the candidates ${f(m['test/cand_hr@1'])}`);
    return parts.length ? `test ${parts.join(', ')}` : undefined;
  }
  if (kind === 'afl') {
    const afl = m['recommendation.afl.hr'],
      rec = m['recommendation.recAgent.hr'],
      base = m['base.hr'];
    if (afl === undefined) return undefined;
    const users = m['recommendation.afl.users'];
    return `AFL HR@1 ${f(afl)}${rec !== undefined ? ` vs Rec Agent ${f(rec)}` : ''}${base !== undefined ? `, base model ${f(base)}` : ''}${users !== undefined ? ` (${users} users)` : ''}`;
  }
  return undefined;
}
