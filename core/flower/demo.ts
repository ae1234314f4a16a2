/**
 * The embedded demo = the README's main command (`flowloop demo`): the paper's RQ1 — fit the
 * distribution of 100 movie titles (examples/rq1/select_100_Movies.json, a copy of the seed's file)
 * with SFT and with Flower, no history; prints KL(target‖gen), KL(gen‖target), JS and coverage for both
 * and writes an SVG of target vs generated share per title. It is an ordinary `flower` config run by
 * the normal runner, so it makes a normal run folder. Needs no ../shared.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The demo config (same content as examples/rq1/demo.flowloop.json). */
export const DEMO_CONFIG = {
  kind: 'flower',
  name: 'demo-rq1',
  description:
    'RQ1: fit the distribution of 100 movie titles (no history) from 256 sampled interactions: SFT on them vs Flower (θ = 0.5: SFT on them + sub-trajectory balance on the tree of all 100 titles).',
  mode: 'distribution',
  titles: 'select_100_Movies.json',
  tokenizer: 'qwen2.5',
  compare: ['sft', 'flower'],
  theta: 0.5,
  offlineSampleProb: 0.5,
  policy: { dModel: 64, layers: 2, heads: 2, ffn: 128, dropout: 0 },
  trainSamples: 256,
  batchSize: 64,
  epochs: 30,
  lr: 0.003,
  warmupSteps: 10,
  patience: 0,
  distribution: { samples: 10000 },
  snapshotNodes: 120,
  checkpoints: false,
  seed: 42,
} as const;

/** Folder holding examples/rq1 (walks up from this module: works from core/flower and from dist/). */
export function examplesRq1Dir(): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    const cand = join(d, 'examples', 'rq1');
    if (existsSync(join(cand, 'select_100_Movies.json'))) return cand;
    d = dirname(d);
  }
  return resolve(process.cwd(), 'examples', 'rq1');
}

/** What `flowloop demo` runs: the config object and the (virtual) path its relative paths resolve against. */
export function demoConfig(): { config: Record<string, unknown>; configPath: string } {
  return { config: JSON.parse(JSON.stringify(DEMO_CONFIG)), configPath: join(examplesRq1Dir(), 'demo.flowloop.json') };
}
