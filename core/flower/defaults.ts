/**
 * Flower config defaults that depend on other fields, resolved once at run start (the schema cannot
 * express them) and written back into the run's config.json so the resolved values are on record.
 */
import { basename } from 'node:path';
import type { FlowerConfig } from '../experiment/configTypes';
import type { PersonalizationMode } from './personalization';

/** A flower config after resolveFlowerDefaults: θ and personalization.mode are set. */
export type ResolvedFlowerConfig = FlowerConfig & { theta: number; personalization: { mode: PersonalizationMode } };

/** docs/methods.md §A4 θ defaults: 0.9995 for Video Games, 0.995 for CDs and Movies (and anything else). */
export function defaultTheta(datasetName: string): number {
  return /video[_ -]?games/i.test(basename(datasetName)) ? 0.9995 : 0.995;
}

/**
 * docs/methods.md §A5: `div` is the default personalization on recommendation data (the paper's Flower is the
 * div variant): with the configured auxiliary recommender (`scorer` or `scores`), or else with a SASRec
 * the run trains itself (`sasrecConfigFor`). Without history (distribution mode) there is no p_u: `none`.
 */
export function defaultPersonalizationMode(
  p: { scorer?: string; scores?: string } | undefined,
  mode: 'recommend' | 'distribution' = 'recommend',
): PersonalizationMode {
  if (p && (p.scorer || p.scores)) return 'div';
  return mode === 'recommend' ? 'div' : 'none';
}

/**
 * The SASRec a flower run trains for p_u when no `scorer`/`scores` is configured (docs/methods.md §A5, A8):
 * the sequential kind's CDs recipe (BCE with one uniform negative, Adam lr 1e-3, weight decay 1e-5,
 * hidden 64, batch 256, early stopping on validation NDCG@20 with patience 10), same dataset and seed.
 * `npx flowloop baselines` runs it inside the Flower run and shows its test row as "sasrec".
 */
export function sasrecConfigFor(c: Pick<FlowerConfig, 'dataset' | 'seed' | 'name'>): Record<string, unknown> {
  return {
    kind: 'sequential',
    name: `${c.name ?? 'flower'}-sasrec`,
    model: 'sasrec',
    dataset: c.dataset,
    seed: c.seed,
    hidden: 64,
    dropout: 0.1,
    epochs: 200,
    batchSize: 256,
    lr: 0.001,
    weightDecay: 0.00001,
    loss: 'bce',
    negatives: 1,
    patience: 10,
    validMetric: 'ndcg@20',
    maxEvalRows: 2000,
    ks: [1, 3, 5, 10, 20],
  };
}

export interface ResolvedDefaults {
  theta: number;
  thetaFrom: 'config' | 'dataset default (docs/methods.md §A4)';
  personalizationMode: PersonalizationMode;
  personalizationFrom: 'config' | 'default (docs/methods.md §A5)' | 'default (docs/methods.md §A5): div with a SASRec this run trains';
}

/**
 * Fill `theta` (docs/methods.md §A4, per dataset: `dataset` folder name in recommend mode) and
 * `personalization.mode` (docs/methods.md §A5) into `c` where the config left them out; returns what was chosen
 * and why. Mutates `c` (the run's resolved config).
 */
export function resolveFlowerDefaults(
  c: Partial<Pick<FlowerConfig, 'mode' | 'dataset' | 'theta' | 'personalization' | 'objective' | 'compare'>>,
): ResolvedDefaults {
  const thetaGiven = typeof c.theta === 'number';
  const theta = c.theta ?? defaultTheta(c.mode === 'distribution' ? '' : String(c.dataset ?? ''));
  if (!thetaGiven) c.theta = theta;
  const p = (c.personalization ??= {});
  const modeGiven = typeof p.mode === 'string';
  // only the flower objective has a GFN term to personalise (sft and ifairlrs: none)
  const usesGfn = (c.objective ?? 'flower') === 'flower' || (c.compare ?? []).includes('flower');
  const personalizationMode =
    p.mode ?? (usesGfn ? defaultPersonalizationMode(p, c.mode === 'distribution' ? 'distribution' : 'recommend') : 'none');
  if (!modeGiven) p.mode = personalizationMode;
  const trains = !modeGiven && personalizationMode !== 'none' && !p.scorer && !p.scores;
  return {
    theta,
    thetaFrom: thetaGiven ? 'config' : 'dataset default (docs/methods.md §A4)',
    personalizationMode,
    personalizationFrom: modeGiven
      ? 'config'
      : trains
        ? 'default (docs/methods.md §A5): div with a SASRec this run trains'
        : 'default (docs/methods.md §A5)',
  };
}
