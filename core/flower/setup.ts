/**
 * Turning a `flower` config into a training setup: tokenizer, prefix tree with item rewards (docs/methods.md
 * §A2/§A3), policy vocabulary (§A6), training/validation examples (with IFairLRS weights, §A8) and test rows.
 * Two modes: `recommend` (an Amazon dataset folder, histories as item ids) and `distribution` (RQ1:
 * fit a `{title: count}` distribution with no history).
 */
import type { FlowerConfig } from '../experiment/configTypes';
import { LocatedError } from '../experiment/context';
import { isJunkTitle, loadAmazon, type AmazonDataset, type AmazonEvalRow, type AmazonTrainRow } from '../data/amazon';
import { Catalogue } from '../data/catalogue';
import { popularityGroups } from '../metrics/popularity';
import { loadTokenizer, type Tokenizer, type TokenizerName } from '../tokenize';
import { PolicyVocab } from '../tokenize/policyVocab';
import { PrefixTree, type TitleRewards } from '../trie';
import { Rng } from '../util/random';
import { catalogueRewards, readPositiveRewardFile } from './rewards';
import type { Example } from './train';

export interface FlowerSetup {
  mode: 'recommend' | 'distribution';
  datasetName: string;
  tok: Tokenizer;
  trie: PrefixTree;
  vocab: PolicyVocab;
  /** Title string → trie title index (merged titles map to the kept one). */
  titleIndex: Map<string, number>;
  train: Example[];
  valid: Example[];
  /** Test rows to decode (recommend mode). */
  test: AmazonEvalRow[];
  /** Validation rows eligible for the per-epoch decode (recommend mode; junk-target rows left out when filtered). */
  validRows: AmazonEvalRow[];
  /** Item-embedding rows needed (max item id + 1); 0 without history. */
  numItems: number;
  dataset?: AmazonDataset;
  /** Item ids per trie title (personalization p_ui). */
  itemIdsOfTitle(titleIndex: number): number[];
  notes: string[];
}

/** Title → trie title index (titles that tokenize identically share the kept title's index). */
export function titleIndexMap(trie: PrefixTree): Map<string, number> {
  const m = new Map<string, number>();
  trie.titles.forEach((t, i) => {
    if (!m.has(t)) m.set(t, i);
  });
  for (const [merged, kept] of trie.merged) m.set(trie.titles[merged], kept);
  return m;
}

function buildTrie(
  rewards: TitleRewards,
  tokenizer: TokenizerName,
  titleEnd: 'separate' | 'joint',
  given?: Tokenizer,
): { tok: Tokenizer; trie: PrefixTree; vocab: PolicyVocab } {
  const tok = given ?? loadTokenizer(tokenizer, rewards.titles);
  const trie = PrefixTree.build(rewards.titles, rewards.rewards, tok, { titleEnd });
  const vocab = PolicyVocab.fromTrie(trie, tok);
  return { tok, trie, vocab };
}

/** A seeded subset of `n` indices of 0..total-1 in ascending order (all when n ≤ 0 or n ≥ total). */
export function subsetIndices(total: number, n: number, seed: number): number[] {
  const all = Array.from({ length: total }, (_, i) => i);
  if (!(n > 0) || n >= total) return all;
  return new Rng(seed)
    .shuffle(all)
    .slice(0, n)
    .sort((a, b) => a - b);
}

/**
 * docs/methods.md §A8 IFairLRS per-sample weight of a training row: share of its target's popularity group in the
 * history interactions (g_d, docs/methods.md §A9) divided by the group's share among training targets.
 */
export function ifairlrsWeights(
  targetTitles: string[],
  groups: string[][],
  counts: Map<string, number>,
): { weights: number[]; groupWeight: number[] } {
  const groupOf = new Map<string, number>();
  groups.forEach((g, k) => g.forEach((t) => groupOf.set(t, k)));
  const hist = new Array(groups.length).fill(0);
  let total = 0;
  for (const [t, c] of counts) {
    const g = groupOf.get(t);
    if (g !== undefined) {
      hist[g] += c;
    }
    total += c;
  }
  const tgt = new Array(groups.length).fill(0);
  let nT = 0;
  for (const t of targetTitles) {
    const g = groupOf.get(t);
    if (g !== undefined) {
      tgt[g]++;
      nT++;
    }
  }
  const groupWeight = hist.map((h, k) => (tgt[k] > 0 && nT > 0 ? h / total / (tgt[k] / nT) : 1));
  return {
    weights: targetTitles.map((t) => {
      const g = groupOf.get(t);
      return g === undefined ? 1 : groupWeight[g];
    }),
    groupWeight,
  };
}

/**
 * docs/methods.md §A10: CDs holds one junk title (an HTML fragment beginning `<span`, 2nd most popular). By default
 * it is kept (the reference does); with `filterJunkTitles` this removes it everywhere at once:
 * - catalogue and title counts (so the tree, rewards R(i) and the popularity groups of docs/methods.md §A9, which
 *   core/metrics recomputes from `titleCounts`, no longer hold it; the group files are recomputed too),
 * - training rows whose target is junk are dropped, junk items are cut out of every history,
 * - valid/test keep their length and row numbering (recommendations and scores index test.csv rows), with
 *   junk cut out of the histories; `evalKeep` says which rows to decode/score (target not junk).
 */
export function withoutJunkTitles(ds: AmazonDataset): {
  dataset: AmazonDataset;
  evalKeep: (r: AmazonTrainRow) => boolean;
  removed: { titles: string[]; ids: number[]; trainRows: number; historyEntries: number };
} {
  const junkIds = new Set<number>();
  const titles = new Set<string>();
  const catalogue = new Catalogue(ds.catalogue.name);
  for (const [id, t] of ds.catalogue.entries()) {
    if (isJunkTitle(t)) {
      junkIds.add(id);
      titles.add(t);
    } else catalogue.add(id, t);
  }
  for (const t of ds.titleCounts.keys()) if (isJunkTitle(t)) titles.add(t);
  let historyEntries = 0;
  const clean = <R extends AmazonTrainRow>(r: R): R => {
    const keep = r.historyIds.map((id, k) => !junkIds.has(id) && !isJunkTitle(r.historyTitles[k]));
    const cut = keep.filter((k) => !k).length;
    if (!cut) return r;
    historyEntries += cut;
    const out: Record<string, unknown> = {
      ...(r as unknown as Record<string, unknown>),
      historyIds: r.historyIds.filter((_, k) => keep[k]),
      historyTitles: r.historyTitles.filter((_, k) => keep[k]),
    };
    for (const f of ['historyAsins', 'historyRatings', 'historyTimestamps']) {
      const v = (r as unknown as Record<string, unknown>)[f];
      if (Array.isArray(v)) out[f] = v.filter((_: unknown, k: number) => keep[k]);
    }
    return out as R;
  };
  const evalKeep = (r: AmazonTrainRow) => !isJunkTitle(r.itemTitle) && !junkIds.has(r.itemId);
  const train = ds.train.filter(evalKeep).map(clean);
  const titleCounts = new Map([...ds.titleCounts].filter(([t]) => !isJunkTitle(t)));
  const groupsTitles = popularityGroups(titleCounts, ds.groupsTitles.length || 8).groups;
  const lastId = (t: string) => {
    const ids = catalogue.idsOf(t);
    return ids[ids.length - 1];
  };
  const dataset: AmazonDataset = {
    ...ds,
    catalogue,
    train,
    valid: ds.valid.map(clean),
    test: ds.test.map(clean),
    titleCounts,
    groupsTitles,
    groupsIds: groupsTitles.map((g) => g.map(lastId).filter((id): id is number => id !== undefined)),
  };
  return {
    dataset,
    evalKeep,
    removed: { titles: [...titles], ids: [...junkIds], trainRows: ds.train.length - train.length, historyEntries },
  };
}

/** `tok` given (a pretrained LM's own tokenizer, config `policy.model`): the tree is built with it instead of `c.tokenizer`. */
export async function setupRecommend(c: FlowerConfig, resolvePath: (p: string) => string, tok?: Tokenizer): Promise<FlowerSetup> {
  if (!c.dataset) throw new LocatedError('mode "recommend" needs "dataset" (an Amazon dataset folder)', 'config', '/dataset');
  const notes: string[] = [];
  let ds = await loadAmazon(resolvePath(c.dataset));
  let maxId = 0; // item-id space of the dataset (kept when junk ids are filtered: embedding rows, scorer widths)
  for (const id of ds.catalogue.ids()) maxId = Math.max(maxId, id);
  let evalKeep: (r: AmazonTrainRow) => boolean = () => true;
  if (c.filterJunkTitles) {
    const f = withoutJunkTitles(ds);
    ds = f.dataset;
    evalKeep = f.evalKeep;
    notes.push(
      f.removed.titles.length
        ? `filterJunkTitles: removed ${f.removed.titles.length} junk title(s) (${f.removed.ids.length} item ids) from the catalogue, rewards and popularity groups; ${f.removed.trainRows} training rows with a junk target dropped, ${f.removed.historyEntries} junk history entries cut; eval rows with a junk target are not decoded`
        : 'filterJunkTitles: no junk title in this dataset',
    );
  }
  const treeTitles = c.treeTitles ?? 'catalogue';
  const source = c.rewards ? resolvePath(c.rewards) : `${ds.dir}/title_counts.json`;
  const base: TitleRewards = c.rewards
    ? readPositiveRewardFile(resolvePath(c.rewards))
    : { titles: [...ds.titleCounts.keys()], rewards: Float64Array.from(ds.titleCounts.values()) };
  if (c.rewards && c.filterJunkTitles) {
    const keep = base.titles.map((t) => !isJunkTitle(t));
    base.titles = base.titles.filter((_, i) => keep[i]);
    base.rewards = base.rewards.filter((_, i) => keep[i]);
  }
  let all: ReturnType<typeof catalogueRewards>;
  try {
    all = catalogueRewards(ds.catalogue.titles(), base, c.minReward, treeTitles, source);
  } catch (e) {
    throw new LocatedError((e as Error).message, source);
  }
  const { tok: treeTok, trie, vocab } = buildTrie(all, c.tokenizer, c.titleEnd, tok);
  const titleIndex = titleIndexMap(trie);
  if (all.filled)
    notes.push(
      `treeTitles "catalogue": ${all.filled} catalogue titles have no reward in ${c.rewards ?? 'title_counts.json'}: given minReward ${c.minReward}`,
    );
  if (all.unreachable.length)
    notes.push(
      `treeTitles "counted": the tree holds the ${all.titles.length} titles with a reward (the reference's training tree); ${all.unreachable.length} catalogue titles without one cannot be generated`,
    );
  const H = c.policy.maxHistory;
  const toEx = (r: { row: number; historyIds: number[]; itemTitle: string }, w = 1): Example => ({
    row: r.row,
    history: r.historyIds.slice(-H),
    target: titleIndex.get(r.itemTitle) ?? -1,
    weight: w,
  });
  const trainIdx = subsetIndices(ds.train.length, c.maxTrainRows, c.seed);
  const trainRows = trainIdx.map((i) => ds.train[i]);
  let weights = trainRows.map(() => 1);
  if (c.objective === 'ifairlrs') {
    const r = ifairlrsWeights(
      trainRows.map((r) => r.itemTitle),
      ds.groupsTitles,
      ds.titleCounts,
    );
    weights = r.weights;
    notes.push(`IFairLRS group weights (group 0 = most popular): ${r.groupWeight.map((w) => w.toFixed(3)).join(', ')}`);
  }
  const train = trainRows.map((r, i) => toEx(r, weights[i])).filter((e) => e.target >= 0);
  if (train.length < trainRows.length) notes.push(`${trainRows.length - train.length} training rows dropped: target title not in the tree`);
  const validRows = ds.valid.filter(evalKeep);
  const valid = validRows
    .slice(0, c.maxValidRows > 0 ? c.maxValidRows : undefined)
    .map((r) => toEx(r))
    .filter((e) => e.target >= 0);
  const test = ds.test.filter(evalKeep).slice(0, c.maxTestRows > 0 ? c.maxTestRows : undefined);
  const idsByTitle = new Map<number, number[]>();
  for (const [id, t] of ds.catalogue.entries()) {
    const ti = titleIndex.get(t);
    if (ti === undefined) continue;
    const l = idsByTitle.get(ti);
    if (l) l.push(id);
    else idsByTitle.set(ti, [id]);
  }
  return {
    mode: 'recommend',
    datasetName: ds.name,
    tok: treeTok,
    trie,
    vocab,
    titleIndex,
    train,
    valid,
    test,
    validRows,
    numItems: maxId + 1,
    dataset: ds,
    itemIdsOfTitle: (ti) => idsByTitle.get(ti) ?? [],
    notes,
  };
}

/**
 * RQ1 (docs/methods.md §A9): fit the distribution of a `{title: count}` file without history. SFT trains on
 * `trainSamples` titles drawn i.i.d. from P* (seeded); the flower objective samples from the policy
 * and uses the tree's rewards (with θ = 0 it ignores the SFT targets).
 */
export async function setupDistribution(c: FlowerConfig, resolvePath: (p: string) => string): Promise<FlowerSetup> {
  if (!c.titles) throw new LocatedError('mode "distribution" needs "titles" (a {title: count} JSON file)', 'config', '/titles');
  const rewards = readPositiveRewardFile(resolvePath(c.titles));
  const { tok, trie, vocab } = buildTrie(rewards, c.tokenizer, c.titleEnd);
  const titleIndex = titleIndexMap(trie);
  const rng = new Rng((c.seed ^ 0x5eed) >>> 0);
  const n = c.trainSamples;
  const train: Example[] = Array.from({ length: n }, (_, i) => ({
    row: i,
    history: [],
    target: rng.categorical(rewards.rewards),
    weight: 1,
  })).map((e) => ({ ...e, target: titleIndex.get(rewards.titles[e.target]) ?? e.target }));
  return {
    mode: 'distribution',
    datasetName: c.titles,
    tok,
    trie,
    vocab,
    titleIndex,
    train,
    valid: [],
    test: [],
    validRows: [],
    numItems: 0,
    itemIdsOfTitle: () => [],
    notes: [],
  };
}
