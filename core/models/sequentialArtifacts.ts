/**
 * What a `sequential` run writes besides its metrics: model folders (manifest.json + weights.bin, loadable by
 * `flowloop score` and as an AFL/Flower scorer), resumable training checkpoints (plus the Adam state), and on Amazon
 * the top-10 titles per test row with the Table 4 list metrics (docs/methods.md §A9).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError, type RunContext } from '../experiment/context';
import { readGroups, readTitleCounts } from '../data/amazon';
import { popularityGroups } from '../metrics';
import { fnv1a, serializeModel, serializeTrainCheckpoint } from './checkpoint';
import { recommendationMetrics } from './evaluate';
import type { SeqModelBase } from './layers';
import type { SeqData } from './seqdata';
import type { TrainCheckpoint } from './train';

/** Write a model folder (manifest.json + weights.bin) into the run folder as artifacts. */
export function writeModel(ctx: RunContext, rel: string, model: SeqModelBase, extra: Record<string, unknown>, description: string): void {
  const { manifest, bin } = serializeModel(model, extra);
  ctx.writeArtifact(`${rel}/weights.bin`, bin, 'checkpoint', description);
  ctx.writeArtifact(`${rel}/manifest.json`, manifest, 'checkpoint', description);
}

/** Write a resumable training checkpoint: the model folder plus optimizer.bin and the manifest's `training` block. */
export function writeTrainCheckpoint(
  ctx: RunContext,
  rel: string,
  model: SeqModelBase,
  extra: Record<string, unknown>,
  ck: TrainCheckpoint,
  setup: Record<string, unknown>,
  description: string,
): void {
  const { training, bin: opt } = serializeTrainCheckpoint(ck, setup);
  const weights = serializeModel(model).bin;
  training.checksums = { weights: fnv1a(weights), optimizer: fnv1a(opt) };
  const { manifest, bin } = serializeModel(model, { ...extra, training });
  ctx.writeArtifact(`${rel}/weights.bin`, bin, 'checkpoint', description);
  ctx.writeArtifact(`${rel}/${training.file}`, opt, 'checkpoint', `${description} (Adam state)`);
  ctx.writeArtifact(`${rel}/manifest.json`, manifest, 'checkpoint', description); // last: the folder is complete once it exists
}

/**
 * docs/methods.md §A9 on Amazon: the top-10 titles of each test row → recommendations.jsonl (`{"row": <0-based
 * test.csv row>, "titles": [...]}`, as the Flower kind writes) and `recommendationMetrics` over them with
 * the 8 popularity groups of title_counts.json (cross-checked against groups8_titles.json when present).
 */
export function amazonListMetrics(
  ctx: RunContext,
  data: SeqData,
  dir: string,
  rows: { next: number }[],
  rowIdx: number[],
  top: Int32Array[],
  groupOf: Int32Array | undefined,
): Record<string, number> {
  const titleOfIndex: string[] = [];
  if (groupOf)
    groupOf.forEach((g, id) => {
      if (titleOfIndex[g] === undefined) titleOfIndex[g] = data.catalogue.title(id) ?? `#${id}`;
    });
  const title = (i: number) => (groupOf ? titleOfIndex[i] : (data.catalogue.title(i) ?? `#${i}`));
  const lists = top.map((t) => Array.from(t, title));
  ctx.writeArtifact(
    'recommendations.jsonl',
    lists.map((titles, i) => JSON.stringify({ row: rowIdx[i], titles })).join('\n') + '\n',
    'recommendations',
    `top-10 titles per test row (full ranking${groupOf ? ' by title' : ''}); score with \`flowloop metrics\``,
  );
  const countsFile = join(dir, 'title_counts.json');
  if (!existsSync(countsFile))
    throw new LocatedError('title_counts.json missing: the popularity groups of docs/methods.md §A9 need it', dir);
  const groups = popularityGroups(readTitleCounts(countsFile), 8);
  const released = join(dir, 'groups8_titles.json');
  if (existsSync(released)) {
    const g8 = readGroups(released, 'titles');
    const same =
      g8.length === groups.groups.length &&
      g8.every((g, i) => g.length === groups.groups[i].length && g.every((t) => groups.groupOf.get(t) === i));
    if (!same) ctx.log('groups8_titles.json differs from the docs/methods.md §A9 groups of title_counts.json: using the latter', 'warn');
  }
  return recommendationMetrics(
    lists,
    rows.map((r) => data.catalogue.title(r.next) ?? `#${r.next}`),
    groups,
  );
}
