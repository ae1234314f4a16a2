/**
 * Evaluation of sequential recommenders (docs/methods.md §A9 for Amazon, B3 for the candidate lists):
 *  - full ranking over the whole catalogue: HR@K and NDCG@K with one relevant item, NDCG = 1/log2(rank+2);
 *    with `groupOf` (item id -> title index) items sharing a title count as one (exact title match:
 *    a title's score is the best score of its ids), as Amazon catalogues merge titles;
 *  - HR@1 among each user's 20 candidates (the prior's hit rate);
 *  - on Amazon, the top-10 title lists scored like every other method's (`recommendationMetrics`).
 * No items are excluded from the ranking (histories included), as in the references.
 */
import { yieldIfDue } from '../experiment/context';
import type { Scorer } from './scorer';
import { argmax } from './prior';
import { DEFAULT_KS, distinctTitles, groupUnfairness, hitNdcg, ttr, wordEntropy, type PopularityGroups } from '../metrics';

export interface RankingRow {
  seq: number[];
  next: number;
}

/** 0-based rank of the target: how many items (or titles) score strictly higher. */
export function rankOf(scores: Float32Array, target: number, groupOf?: Int32Array, groupBest?: Float32Array): number {
  if (!groupOf || !groupBest) {
    const s = scores[target];
    let r = 0;
    for (let i = 0; i < scores.length; i++) if (scores[i] > s) r++;
    return r;
  }
  groupBest.fill(-Infinity);
  for (let i = 0; i < scores.length; i++) {
    const g = groupOf[i];
    if (scores[i] > groupBest[g]) groupBest[g] = scores[i];
  }
  const s = groupBest[groupOf[target]];
  let r = 0;
  for (let g = 0; g < groupBest.length; g++) if (groupBest[g] > s) r++;
  return r;
}

/** HR@K / NDCG@K over the full catalogue, computed chunk by chunk (keys "hr@10", "ndcg@10", ...). */
export async function fullRanking(
  scorer: Scorer,
  rows: RankingRow[],
  ks: number[] = [1, 3, 5, 10, 20],
  opts: { groupOf?: Int32Array; chunk?: number; signal?: AbortSignal } = {},
): Promise<Record<string, number>> {
  return (await fullRankingTop(scorer, rows, ks, { ...opts, top: 0 })).metrics;
}

/**
 * `fullRanking` plus, with `top` = n > 0, each row's n best items (or titles, with `groupOf`: group
 * indices), best first — the recommendation lists of docs/methods.md §A9 (10 per test row) from the same scores.
 */
export async function fullRankingTop(
  scorer: Scorer,
  rows: RankingRow[],
  ks: number[],
  opts: { groupOf?: Int32Array; chunk?: number; signal?: AbortSignal; top?: number } = {},
): Promise<{ metrics: Record<string, number>; top: Int32Array[] }> {
  const chunk = opts.chunk ?? 512;
  const groups = opts.groupOf ? new Float32Array(Math.max(...opts.groupOf) + 1) : undefined;
  const hr = ks.map(() => 0),
    ndcg = ks.map(() => 0);
  const top: Int32Array[] = [];
  for (let s = 0; s < rows.length; s += chunk) {
    await yieldIfDue(); // let cancel messages / signals through between chunks
    if (opts.signal?.aborted) break;
    const part = rows.slice(s, s + chunk);
    const scores = await scorer.scoreAll(part.map((r) => r.seq));
    part.forEach((r, b) => {
      // rankOf leaves the best score per title in `groups`: the top-n lists read them
      const rank = rankOf(scores[b], r.next, opts.groupOf, groups);
      ks.forEach((k, i) => {
        if (rank < k) {
          hr[i] += 1;
          ndcg[i] += 1 / Math.log2(rank + 2);
        }
      });
      if (opts.top) top.push(topIndices(groups ?? scores[b], opts.top));
    });
  }
  const out: Record<string, number> = {};
  ks.forEach((k, i) => {
    out[`hr@${k}`] = rows.length ? hr[i] / rows.length : 0;
    out[`ndcg@${k}`] = rows.length ? ndcg[i] / rows.length : 0;
  });
  return { metrics: out, top };
}

/**
 * Indices of the n highest scores, best first; ties go to the lower index (so a list agrees with
 * `rankOf`, which counts only strictly higher scores, whenever scores are distinct).
 */
export function topIndices(scores: ArrayLike<number>, n: number): Int32Array {
  const k = Math.min(n, scores.length);
  const idx = new Int32Array(k).fill(-1);
  const val = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (filled === k && !(v > val[k - 1])) continue;
    // insertion into the sorted prefix (strictly greater moves ahead: equal scores keep index order)
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && v > val[j - 1]) {
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
  return idx;
}

/** Title groups for a catalogue: item id -> index of its title (ids sharing a title share the index). */
export function titleGroups(numItems: number, titleOf: (id: number) => string | undefined): Int32Array {
  const idx = new Map<string, number>();
  const g = new Int32Array(numItems);
  for (let i = 0; i < numItems; i++) {
    const t = titleOf(i) ?? `#${i}`;
    let k = idx.get(t);
    if (k === undefined) {
      k = idx.size;
      idx.set(t, k);
    }
    g[i] = k;
  }
  return g;
}

/** HR@1 among candidate lists: the top-scored candidate is the true next item (docs/methods.md §B3). */
export async function candidateHr1(
  scorer: Scorer,
  rows: { seq: number[]; next: number; cans: number[] }[],
): Promise<{ hits: number; total: number; hr1: number }> {
  const scores = await scorer.scoreCandidates(
    rows.map((r) => r.seq),
    rows.map((r) => r.cans),
  );
  let hits = 0;
  rows.forEach((r, b) => {
    if (r.cans[argmax(scores[b])] === r.next) hits++;
  });
  return { hits, total: rows.length, hr1: rows.length ? hits / rows.length : 0 };
}

/**
 * Seeded candidate lists the docs/methods.md §B3 way: the true next item + (count − 1) distinct uniform
 * negatives not in the history. Used for LastFM-style validation (the released lists cover test only).
 */
export function sampleCandidateLists<T extends RankingRow>(
  rows: T[],
  numItems: number,
  count: number,
  rng: { int(n: number): number },
): (T & { cans: number[] })[] {
  return rows.map((r) => {
    const taken = new Set([...r.seq, r.next]);
    const want = Math.min(count - 1, numItems - taken.size);
    const cans = [r.next];
    while (cans.length - 1 < want) {
      const c = rng.int(numItems);
      if (!taken.has(c)) {
        taken.add(c);
        cans.push(c);
      }
    }
    // put the true item at a random place (ties are broken by position)
    const k = rng.int(cans.length);
    [cans[0], cans[k]] = [cans[k], cans[0]];
    return { ...r, cans };
  });
}

/** HR@K / NDCG@K of the true next item ranked among each row's candidates. */
export async function candidateRanking(
  scorer: Scorer,
  rows: (RankingRow & { cans: number[] })[],
  ks: number[] = [1, 5, 10],
): Promise<Record<string, number>> {
  const scores = await scorer.scoreCandidates(
    rows.map((r) => r.seq),
    rows.map((r) => r.cans),
  );
  const hr = ks.map(() => 0),
    ndcg = ks.map(() => 0);
  rows.forEach((r, b) => {
    const s = scores[b][r.cans.indexOf(r.next)];
    let rank = 0;
    for (const v of scores[b]) if (v > s) rank++;
    ks.forEach((k, i) => {
      if (rank < k) {
        hr[i]++;
        ndcg[i] += 1 / Math.log2(rank + 2);
      }
    });
  });
  const out: Record<string, number> = {};
  ks.forEach((k, i) => {
    out[`hr@${k}`] = rows.length ? hr[i] / rows.length : 0;
    out[`ndcg@${k}`] = rows.length ? ndcg[i] / rows.length : 0;
  });
  return out;
}

/** docs/methods.md §A9 metrics of a ranking model's title lists (`recommendationMetrics`). */
export interface ListMetrics {
  [key: string]: number;
}

/**
 * docs/methods.md §A9 for a conventional recommender's top-10 title lists (the SASRec row of Table 4), with the
 * core/metrics functions the Flower kind uses:
 *  - `hr@K` / `ndcg@K` (K ∈ {1,3,5,10}) by exact title match over the lists;
 *  - `dgu` / `mgu`: DGU = max_G(g_r−g_d) − min_G(g_r−g_d), MGU = mean_G |g_r−g_d| over ALL recommended
 *    slots (10 per row), the 8 popularity groups of the training title counts;
 *  - `entropy` (H, base 2) / `ttr` / `distinct` over the TOP-1 title of each row only ("SASRec's diversity
 *    metrics use only its top-1 item", the reference convention);
 *  - for comparison: `dgu@1` / `mgu@1` (groups counted over the top-1 titles only, as the reference's
 *    train_and_get_logits.py does for SASRec) and `entropy@10` / `ttr@10` / `distinct@10` (all slots,
 *    as for the LLM rows), `ungrouped` (share of slots whose title is in no group).
 */
export function recommendationMetrics(lists: string[][], targets: string[], groups: PopularityGroups): ListMetrics {
  const top1 = lists.map((l) => l.slice(0, 1));
  const acc = hitNdcg(lists, targets, DEFAULT_KS);
  const fair = groupUnfairness(lists, groups);
  const fair1 = groupUnfairness(top1, groups);
  const first = top1.flat(),
    all = lists.flat();
  return {
    ...acc,
    dgu: fair.dgu,
    mgu: fair.mgu,
    entropy: wordEntropy(first),
    ttr: ttr(first),
    distinct: distinctTitles(first),
    'dgu@1': fair1.dgu,
    'mgu@1': fair1.mgu,
    'entropy@10': wordEntropy(all),
    'ttr@10': ttr(all),
    'distinct@10': distinctTitles(all),
    ungrouped: fair.ungrouped,
  };
}
