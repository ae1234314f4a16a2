/** docs/methods.md §A9: every Flower metric of a set of top-K title lists for rows of an Amazon test split. */
import type { AmazonDataset } from '../data/amazon';
import { DEFAULT_KS, hitNdcg } from './accuracy';
import { distinctTitles, ttr, wordEntropy } from './diversity';
import { type PopularityGroups, groupUnfairness, popularityGroups } from './popularity';

export interface Recommendation {
  /** 0-based row of the split (test.csv by default). */
  row: number;
  /** Ranked titles, best first (10 in the paper's protocol). */
  titles: string[];
}

/** The flat metrics object printed by `flowloop metrics` (key order fixed). */
export interface RecommendationScores {
  'hr@1': number;
  'hr@3': number;
  'hr@5': number;
  'hr@10': number;
  'ndcg@1': number;
  'ndcg@3': number;
  'ndcg@5': number;
  'ndcg@10': number;
  dgu: number;
  mgu: number;
  entropy: number;
  ttr: number;
  distinct: number;
  /** Number of rows scored. */
  rows: number;
}

const groupCache = new WeakMap<AmazonDataset, PopularityGroups>();

/** The docs/methods.md §A9 popularity groups of a dataset (computed from its title counts, cached). */
export function datasetGroups(dataset: AmazonDataset): PopularityGroups {
  let g = groupCache.get(dataset);
  if (!g) {
    g = popularityGroups(dataset.titleCounts, 8);
    groupCache.set(dataset, g);
  }
  return g;
}

/**
 * Scores recommendation lists against the targets of `dataset[split]` (default test): HR/NDCG@{1,3,5,10}
 * (exact title match), DGU/MGU over the 8 popularity groups of the training title counts, word entropy
 * H, TTR and the number of distinct titles over all recommended slots. Throws if a row is out of range.
 */
export function scoreRecommendations(
  recs: Recommendation[],
  dataset: AmazonDataset,
  split: 'test' | 'valid' = 'test',
): RecommendationScores {
  const rows = dataset[split];
  const targets = recs.map((r) => {
    if (!Number.isInteger(r.row) || r.row < 0 || r.row >= rows.length) {
      throw new Error(`row ${r.row} is outside ${dataset.name} ${split} rows 0..${rows.length - 1}`);
    }
    return rows[r.row].itemTitle;
  });
  const lists = recs.map((r) => r.titles);
  const acc = hitNdcg(lists, targets, DEFAULT_KS);
  const fair = groupUnfairness(lists, datasetGroups(dataset));
  const all = lists.flat();
  return {
    'hr@1': acc['hr@1'],
    'hr@3': acc['hr@3'],
    'hr@5': acc['hr@5'],
    'hr@10': acc['hr@10'],
    'ndcg@1': acc['ndcg@1'],
    'ndcg@3': acc['ndcg@3'],
    'ndcg@5': acc['ndcg@5'],
    'ndcg@10': acc['ndcg@10'],
    dgu: fair.dgu,
    mgu: fair.mgu,
    entropy: wordEntropy(all),
    ttr: ttr(all),
    distinct: distinctTitles(all),
    rows: recs.length,
  };
}
