/**
 * Where Flower's personalization p_u (docs/methods.md §A5) comes from: a precomputed score file, a sequential model
 * (or run) folder, or, when neither is given in recommend mode, the dataset's SASRec trained first as a nested run
 * of the sequential kind inside this run's folder.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError, type RunContext } from '../experiment/context';
import { sasrecConfigFor, type ResolvedFlowerConfig } from './defaults';
import { puFromScoreFile, puFromScorer, type PuSource } from './personalization';
import type { FlowerSetup } from './setup';

/** A scorer path: a sequential run folder (its `model/`) or a model folder. */
function scorerFolder(path: string): string {
  return existsSync(join(path, 'model', 'manifest.json')) ? join(path, 'model') : path;
}

/**
 * Train the dataset's SASRec for p_u (docs/methods.md §A5) as a nested run of the sequential kind inside this
 * run's folder (`sasrecConfigFor`); returns its folder and test metrics.
 */
async function trainSasrec(ctx: RunContext<ResolvedFlowerConfig>): Promise<{ runDir: string; metrics: Record<string, unknown> }> {
  if (!ctx.runNested)
    throw new LocatedError(
      'this run context cannot start a nested run (the SASRec that personalization needs): give personalization.scorer or personalization.scores',
      ctx.configPath,
      '/personalization',
    );
  const configObject = sasrecConfigFor({ dataset: ctx.config.dataset, seed: ctx.seed, name: ctx.config.name });
  ctx.log(
    `personalization ${ctx.config.personalization.mode}: no scorer or score file given, so this run trains the dataset's SASRec first (nested run, ${JSON.stringify(configObject)})`,
  );
  let last = 0;
  const r = await ctx.runNested({
    configObject,
    outDir: ctx.runDir,
    onEvent: (e) => {
      if (e.type === 'log') ctx.log(`sasrec: ${e.message}`, e.level);
      else if (e.type === 'progress' && Date.now() - last > 2000) {
        last = Date.now();
        ctx.progress(`sasrec ${e.phase}`, e.done, e.total, e.message);
      }
    },
  });
  if (r.status !== 'finished')
    throw new LocatedError(
      `the SASRec for personalization did not finish (${r.status}${r.error ? ': ' + r.error : ''}); its run folder: ${r.runDir}`,
      ctx.configPath,
      '/personalization',
    );
  return { runDir: r.runDir, metrics: r.metrics };
}

/** p_u for this run (undefined: no personalization, or nothing to train); `needed` = a GFN term trains. */
export async function loadPu(
  ctx: RunContext<ResolvedFlowerConfig>,
  s: FlowerSetup,
  needed: boolean,
): Promise<{ pu?: PuSource; sasrec?: { runDir: string; metrics: Record<string, unknown> } }> {
  const p = ctx.config.personalization;
  if (!p || p.mode === 'none') return {};
  if (p.scores) return { pu: await puFromScoreFile(ctx.resolvePath(p.scores)) };
  let scorerPath = p.scorer ? scorerFolder(ctx.resolvePath(p.scorer)) : undefined;
  let sasrec: { runDir: string; metrics: Record<string, unknown> } | undefined;
  if (!scorerPath) {
    if (s.mode !== 'recommend')
      throw new LocatedError(
        `personalization "${p.mode}" needs "scorer" (a sequential model or run folder) or "scores" (a precomputed score file)`,
        ctx.configPath,
        '/personalization',
      );
    if (!needed) {
      ctx.log(`personalization ${p.mode}: nothing to train (no GFN term), so no SASRec is trained`);
      return {};
    }
    sasrec = await trainSasrec(ctx);
    scorerPath = join(sasrec.runDir, 'model');
  }
  const { loadScorer } = await import('../models/load');
  const scorer = await loadScorer(scorerPath, { engine: p.engine, device: ctx.config.device });
  if (scorer.numItems < s.numItems)
    ctx.log(
      `scorer ${scorer.name} knows ${scorer.numItems} items, the dataset has ids up to ${s.numItems - 1}: missing items get p_ui = 0`,
      'warn',
    );
  return { pu: puFromScorer(scorer), sasrec };
}
