/**
 * The mechanism behind a recommend-mode run's DGU/MGU, measured (written to metrics.json under `mechanism`):
 *  - `sampled`: titles SAMPLED from the policy (constrained to the tree, temperature 1) on training
 *    histories: their popularity-group shares g_s against the data's g_d (docs/methods.md §A9 groups) →
 *    sampled DGU/MGU, distinct titles, and the policy's on-tree probability mass along the sampled paths
 *    (mean over states of π(children ∪ {⊤} | s) at the full vocabulary). Flower's GFN term fits exactly
 *    this sampling distribution (docs/methods.md §A4), beam search only reads its mode.
 *  - `oracle`: the top-K of Flower's reward target per user — the fixed point of the GFN term, titles
 *    ranked by their (personalised, docs/methods.md §A5) log-reward: log P*(i) / s_ui for div,
 *    log P*(i) + log(s_ui + 1e-20) for add_logs, log P*(i) without personalization — scored on the test
 *    rows like a model's lists (NDCG/HR@10, DGU, MGU, distinct, Jaccard). What the objective could at
 *    best reach if the policy matched its target.
 *  - `jaccard@10`: mean Jaccard similarity of the top-10 lists of random pairs of test rows (1 = everyone
 *    gets the same list); for the run's own decoding and for the oracle.
 */
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { TrainableSessionPolicy } from '../models/trainablePolicy';
import { getTf } from '../tensor';
import { sampleTitles } from '../decode';
import { datasetGroups, groupUnfairness, scoreRecommendations } from '../metrics';
import type { AmazonDataset } from '../data/amazon';
import { Rng } from '../util/random';
import { gfnSampleFromTitle, objective } from './objective';
import { personalizationScale, puStats, type PersonalizationMode, type PuSource } from './personalization';

/** Mean Jaccard similarity |A∩B| / |A∪B| of `pairs` random pairs of distinct lists (seeded). */
export function meanPairJaccard(lists: string[][], pairs: number, seed: number): number {
  if (lists.length < 2) return NaN;
  const rng = new Rng(seed);
  let sum = 0;
  for (let k = 0; k < pairs; k++) {
    const a = rng.int(lists.length);
    let b = rng.int(lists.length - 1);
    if (b >= a) b++;
    const A = new Set(lists[a]),
      B = new Set(lists[b]);
    let inter = 0;
    for (const t of A) if (B.has(t)) inter++;
    const union = A.size + B.size - inter;
    sum += union ? inter / union : 1;
  }
  return sum / pairs;
}

export interface SampledMechanism {
  rows: number;
  dgu: number;
  mgu: number;
  /** g_s per group (group 0 = most popular) and the data's g_d. */
  gs: number[];
  gd: number[];
  distinct: number;
  onTreeMass: number;
}

/** Sample one title per history (constrained, T = 1) and measure group shares and on-tree mass. */
export async function sampledMechanism(
  policy: TrainableSessionPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  dataset: AmazonDataset,
  histories: number[][],
  seed: number,
): Promise<SampledMechanism> {
  const tf = getTf();
  const rng = new Rng(seed);
  const titles: number[] = [];
  let mass = 0,
    massRows = 0;
  for (let i = 0; i < histories.length; i += 128) {
    const h = histories.slice(i, i + 128);
    const got = await sampleTitles(policy, trie, vocab, h, { temperature: 1, rng });
    const idx = new Array<number>(h.length).fill(-1);
    for (const x of got) idx[x.row] = x.titleIndex;
    titles.push(...idx);
    const samples = idx.map((t) => gfnSampleFromTitle(trie, vocab, t, 'none'));
    const m = tf.tidy(
      () =>
        objective(
          policy,
          trie,
          vocab,
          { histories: h, targets: h.map(() => -1), samples },
          { theta: 0, personalization: 'none' },
        ).onTreeMass!.dataSync()[0],
    );
    mass += m * h.length;
    massRows += h.length;
  }
  const names = titles.map((t) => trie.titles[t]);
  const u = groupUnfairness(
    names.map((t) => [t]),
    datasetGroups(dataset),
  );
  return { rows: names.length, dgu: u.dgu, mgu: u.mgu, gs: u.gr, gd: u.gd, distinct: new Set(names).size, onTreeMass: mass / massRows };
}

export interface OracleMechanism {
  rows: number;
  personalization: PersonalizationMode;
  'ndcg@10': number;
  'hr@10': number;
  dgu: number;
  mgu: number;
  distinct: number;
  'jaccard@10': number;
}

/**
 * Top-`k` titles of the GFN term's reward target for each history: log P*(i) personalised by p_u (a live
 * scorer) per docs/methods.md §A5, or log P*(i) alone (the same list for everyone) without one.
 */
export async function oracleLists(
  trie: PrefixTree,
  histories: number[][],
  mode: PersonalizationMode,
  pu: PuSource | undefined,
  idsOfTitle: (t: number) => number[],
  k = 10,
): Promise<string[][]> {
  const nT = trie.titles.length;
  const logP = new Float64Array(nT);
  const kept: number[] = [];
  const seen = new Set<string>();
  for (let t = 0; t < nT; t++) {
    if (trie.leafOf[t] < 0 || seen.has(trie.titles[t])) {
      logP[t] = NaN;
      continue;
    }
    seen.add(trie.titles[t]);
    logP[t] = Math.log(trie.targetProb(t));
    kept.push(t);
  }
  const top = (score: (t: number) => number) =>
    kept
      .map((t) => [t, score(t)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([t]) => trie.titles[t]);
  if (mode === 'none' || !pu) {
    const list = top((t) => logP[t]);
    return histories.map(() => list);
  }
  const out: string[][] = [];
  for (let i = 0; i < histories.length; i += 256) {
    const h = histories.slice(i, i + 256);
    const pus = await pu.pu(
      h.map(() => -1),
      h,
    );
    for (const p of pus) {
      const st = puStats(p);
      out.push(
        top((t) => {
          let pui = 0;
          for (const id of idsOfTitle(t)) pui += p[id] ?? 0;
          const s = personalizationScale(mode, pui, st);
          return mode === 'div' ? logP[t] / s : logP[t] + Math.log(s + 1e-20);
        }),
      );
    }
  }
  return out;
}

export async function oracleMechanism(
  trie: PrefixTree,
  dataset: AmazonDataset,
  rows: { row: number; history: number[] }[],
  mode: PersonalizationMode,
  pu: PuSource | undefined,
  idsOfTitle: (t: number) => number[],
  seed: number,
): Promise<OracleMechanism> {
  const usable = pu?.byHistory ? pu : undefined;
  const effective: PersonalizationMode = usable ? mode : 'none';
  const lists = await oracleLists(
    trie,
    rows.map((r) => r.history),
    effective,
    usable,
    idsOfTitle,
  );
  const m = scoreRecommendations(
    rows.map((r, i) => ({ row: r.row, titles: lists[i] })),
    dataset,
  );
  return {
    rows: rows.length,
    personalization: effective,
    'ndcg@10': m['ndcg@10'],
    'hr@10': m['hr@10'],
    dgu: m.dgu,
    mgu: m.mgu,
    distinct: m.distinct,
    'jaccard@10': meanPairJaccard(lists, 2000, seed),
  };
}

/**
 * Everything above for one fitted policy: sampled shares on `sampleRows` training histories (seeded
 * subset), the oracle and the Jaccard of the run's own top-10 test lists (`lists`, aligned with `testRows`).
 */
export async function measureMechanism(args: {
  policy: TrainableSessionPolicy;
  trie: PrefixTree;
  vocab: PolicyVocab;
  dataset: AmazonDataset;
  trainHistories: number[][];
  sampleRows: number;
  testRows: { row: number; history: number[] }[];
  lists: string[][];
  mode: PersonalizationMode;
  pu?: PuSource;
  idsOfTitle: (t: number) => number[];
  seed: number;
}): Promise<{ sampled: SampledMechanism; oracle: OracleMechanism; 'jaccard@10': number }> {
  const rng = new Rng((args.seed ^ 0x3ec4) >>> 0);
  const pick = rng
    .shuffle(args.trainHistories.map((_, i) => i))
    .slice(0, args.sampleRows)
    .sort((a, b) => a - b);
  const sampled = await sampledMechanism(
    args.policy,
    args.trie,
    args.vocab,
    args.dataset,
    pick.map((i) => args.trainHistories[i]),
    args.seed,
  );
  const oracle = await oracleMechanism(args.trie, args.dataset, args.testRows, args.mode, args.pu, args.idsOfTitle, args.seed);
  return { sampled, oracle, 'jaccard@10': meanPairJaccard(args.lists, 2000, args.seed) };
}
