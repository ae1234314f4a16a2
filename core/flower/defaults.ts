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
 * docs/methods.md §A5: `div` is the default personalization whenever an auxiliary recommender is configured
 * (`scorer` or `scores`); with neither there is no p_u, so the default is `none`.
 */
export function defaultPersonalizationMode(p: { scorer?: string; scores?: string } | undefined): PersonalizationMode {
  return p && (p.scorer || p.scores) ? 'div' : 'none';
}

export interface ResolvedDefaults {
  theta: number;
  thetaFrom: 'config' | 'dataset default (docs/methods.md §A4)';
  personalizationMode: PersonalizationMode;
  personalizationFrom: 'config' | 'default (docs/methods.md §A5)';
}

/**
 * Fill `theta` (docs/methods.md §A4, per dataset: `dataset` folder name in recommend mode) and
 * `personalization.mode` (docs/methods.md §A5) into `c` where the config left them out; returns what was chosen
 * and why. Mutates `c` (the run's resolved config).
 */
export function resolveFlowerDefaults(c: Partial<Pick<FlowerConfig, 'mode' | 'dataset' | 'theta' | 'personalization'>>): ResolvedDefaults {
  const thetaGiven = typeof c.theta === 'number';
  const theta = c.theta ?? defaultTheta(c.mode === 'distribution' ? '' : String(c.dataset ?? ''));
  if (!thetaGiven) c.theta = theta;
  const p = (c.personalization ??= {});
  const modeGiven = typeof p.mode === 'string';
  const personalizationMode = p.mode ?? defaultPersonalizationMode(p);
  if (!modeGiven) p.mode = personalizationMode;
  return {
    theta, thetaFrom: thetaGiven ? 'config' : 'dataset default (docs/methods.md §A4)',
    personalizationMode, personalizationFrom: modeGiven ? 'config' : 'default (docs/methods.md §A5)',
  };
}
