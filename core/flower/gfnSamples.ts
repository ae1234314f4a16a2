/**
 * The titles the GFN term of a Flower step is computed on (docs/methods.md §A4–A5): one title per row, sampled from
 * the policy restricted to the trie without gradients (or unconstrained, or off-policy from the tree), with the
 * personalisation scale s_ui when the run is personalised (§A5).
 */
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { TrainablePolicy } from '../models/trainablePolicy';
import { sampleTitles } from '../decode';
import type { Rng } from '../util/random';
import { gfnSampleFromTitle, type GfnSample } from './objective';
import { sampleUnconstrained } from './explore';
import { personalizationScale, puStats } from './personalization';
import type { Example, TrainHooks, TrainOptions } from './trainOptions';

/** GFN samples for a batch: one title per row from the policy (no gradient), with s_ui when personalised. */
export async function gfnSamples(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  batch: Example[],
  opts: TrainOptions,
  hooks: TrainHooks,
  rng: Rng,
): Promise<GfnSample[]> {
  const histories = batch.map((e) => e.history);
  const titles = new Array<number>(batch.length).fill(-1);
  const free = new Map<number, GfnSample>();
  if (opts.offlineSampleProb > 0 && rng.next() < opts.offlineSampleProb) {
    const w = offlineWeights(trie);
    for (let b = 0; b < batch.length; b++) titles[b] = w.titles[rng.categorical(w.weights)];
  } else if (opts.gfnSampling === 'unconstrained') {
    const sampled = await sampleUnconstrained(policy, trie, vocab, histories, {
      temperature: opts.sampleTemperature,
      rng,
      maxTokens: policy.cfg.maxTokens - 1,
    });
    sampled.forEach((x, b) => {
      if (x.titleIndex >= 0) titles[b] = x.titleIndex;
      else free.set(b, x);
    });
  } else {
    // with micro-batches, sample micro-batch by micro-batch too (a pretrained LM's prompt cache for the whole batch may not fit)
    const step = opts.microBatchSize && opts.microBatchSize > 0 ? opts.microBatchSize : histories.length;
    for (let lo = 0; lo < histories.length; lo += step) {
      const sampled = await sampleTitles(policy, trie, vocab, histories.slice(lo, lo + step), { temperature: opts.sampleTemperature, rng });
      for (const x of sampled) titles[lo + x.row] = x.titleIndex;
    }
  }
  if (titles.some((t, b) => t < 0 && !free.has(b))) throw new Error('sampling returned no title for a row (trie deeper than maxTokens?)');
  const scales: (number | undefined)[] = titles.map(() => undefined);
  if (opts.personalization !== 'none') {
    if (!hooks.pu || !hooks.itemIdsOfTitle) throw new Error(`personalization "${opts.personalization}" needs a scorer or a score file`);
    const pus = await hooks.pu.pu(
      batch.map((e) => e.row),
      histories,
    );
    titles.forEach((t, b) => {
      if (t < 0) return;
      const pu = pus[b];
      let pui = 0;
      for (const id of hooks.itemIdsOfTitle!(t)) pui += pu[id] ?? 0;
      scales[b] = personalizationScale(opts.personalization as 'div' | 'add_logs', pui, puStats(pu));
    });
  }
  return titles.map((t, b) => free.get(b) ?? gfnSampleFromTitle(trie, vocab, t, opts.personalization, scales[b]));
}

const offlineCache = new WeakMap<PrefixTree, { titles: number[]; weights: number[] }>();
/** Off-policy GFN titles: every distinct title of the tree, weight ∝ its token count (reference RQ1 buffer). */
function offlineWeights(trie: PrefixTree): { titles: number[]; weights: number[] } {
  let w = offlineCache.get(trie);
  if (!w) {
    w = { titles: [], weights: [] };
    for (let v = 0; v < trie.size; v++)
      if (trie.titleOf[v] >= 0) {
        w.titles.push(trie.titleOf[v]);
        w.weights.push(trie.depth[v]);
      }
    offlineCache.set(trie, w);
  }
  return w;
}
