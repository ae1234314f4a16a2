/**
 * The validation loss of a Flower training run (docs/methods.md §A6, A8): the token-mean NLL of the validation
 * targets, and for the flower objective the reference's combined eval loss θ·NLL + (1−θ)·L_GFN; early stopping
 * (core/flower/train.ts) watches it.
 */
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { TrainablePolicy } from '../models/trainablePolicy';
import { getTf } from '../tensor';
import { Rng } from '../util/random';
import { objective, type GfnSample } from './objective';
import type { PersonalizationMode } from './personalization';
import { gfnSamples } from './gfnSamples';
import type { Example, TrainHooks, TrainOptions } from './trainOptions';

/**
 * Mean of a per-batch loss over `examples` in batches of `batchSize`, each batch weighted by what `term` says it
 * counts (tokens, rows); `term` returns undefined for a batch with nothing to count. NaN when nothing counted.
 */
async function batchedMean(
  examples: Example[],
  batchSize: number,
  term: (batch: Example[]) => Promise<{ value: number; weight: number } | undefined>,
): Promise<number> {
  let sum = 0,
    weight = 0;
  for (let s = 0; s < examples.length; s += batchSize) {
    const t = await term(examples.slice(s, s + batchSize));
    if (!t) continue;
    sum += t.value * t.weight;
    weight += t.weight;
  }
  return weight ? sum / weight : NaN;
}

/** Validation NLL (token-mean, docs/methods.md §A6 SFT loss) of examples, no gradients. */
export async function validationNll(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  examples: Example[],
  batchSize: number,
): Promise<number> {
  return batchedMean(examples, batchSize, async (batch) => {
    const ex = batch.filter((e) => e.target >= 0);
    if (!ex.length) return undefined;
    return { value: lossValue(policy, trie, vocab, ex), weight: ex.reduce((a, e) => a + trie.path(e.target).length, 0) };
  });
}

/**
 * One loss term of `rows` without gradients: the SFT loss of their targets, or (`gfn` given) the GFN loss of the
 * sampled titles `gfn.samples`, one per row.
 */
function lossValue(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  rows: Example[],
  gfn?: { samples: GfnSample[]; personalization: PersonalizationMode; gfnChildrenOnly?: boolean },
): number {
  const histories = rows.map((e) => e.history);
  return getTf().tidy(() => {
    const o = objective(
      policy,
      trie,
      vocab,
      gfn ? { histories, targets: rows.map(() => -1), samples: gfn.samples } : { histories, targets: rows.map((e) => e.target) },
      gfn
        ? { theta: 0, personalization: gfn.personalization, gfnChildrenOnly: gfn.gfnChildrenOnly }
        : { theta: 1, personalization: 'none' },
    );
    return (gfn ? o.gfn! : o.sft!).dataSync()[0];
  });
}

/**
 * The validation loss early stopping watches: the NLL, and for the flower objective (θ < 1)
 * θ·NLL + (1−θ)·L_GFN with L_GFN the SubTB loss of one title sampled from the policy per validation
 * history (personalised like training), the Hugging Face eval loss of the reference's trainer (its
 * compute_loss in eval mode). The samples come from a fixed per-run generator, so epochs differ only by
 * the policy.
 */
export async function validationLoss(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  examples: Example[],
  opts: TrainOptions,
  hooks: Pick<TrainHooks, 'pu' | 'itemIdsOfTitle'>,
  batchSize = 128,
): Promise<{ nll: number; gfn?: number; loss: number }> {
  const nll = await validationNll(policy, trie, vocab, examples, batchSize);
  if (opts.objective !== 'flower' || opts.theta >= 1 || !examples.length) return { nll, loss: nll };
  const rng = new Rng((opts.seed ^ 0x7a11d) >>> 0);
  const vopts: TrainOptions = { ...opts, offlineSampleProb: 0, gfnSampling: 'constrained' };
  const validHooks = hooks.pu && !hooks.pu.byHistory ? { ...hooks, pu: undefined } : hooks;
  if (validHooks !== hooks && opts.personalization !== 'none') vopts.personalization = 'none';
  const gfn = await batchedMean(examples, batchSize, async (ex) => {
    const samples = await gfnSamples(policy, trie, vocab, ex, vopts, validHooks as TrainHooks, rng);
    const value = lossValue(policy, trie, vocab, ex, {
      samples,
      personalization: vopts.personalization,
      gfnChildrenOnly: opts.gfnChildrenOnly,
    });
    return { value, weight: ex.length };
  });
  return { nll, gfn, loss: opts.theta * nll + (1 - opts.theta) * gfn };
}
