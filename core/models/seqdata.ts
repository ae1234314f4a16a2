/**
 * The rows a sequential recommender trains and is evaluated on, from either dataset family:
 *  - Amazon (docs/methods.md §A10): train.jsonl history ids -> next item id; valid.csv / test.csv the same;
 *  - LastFM / Steam / MovieLens (docs/methods.md §B7): train/val/test.jsonl windows; test_candidates.jsonl.
 * Readers are core/data's; this only maps them to {seq, next} rows.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { Catalogue } from '../data/catalogue';
import { readEvalCsv, readItemsTsv, readTrainJsonl } from '../data/amazon';
import { loadSeqDataset, type SeqDatasetName } from '../data/sequential';
import { readCandidates, type CandidateRow } from '../data/candidates';
import type { TrainRow } from './train';

export type DatasetFormat = 'auto' | 'amazon' | SeqDatasetName;

export interface SeqData {
  name: string;
  format: Exclude<DatasetFormat, 'auto'>;
  catalogue: Catalogue;
  numItems: number;
  train: TrainRow[];
  valid: TrainRow[];
  test: TrainRow[];
  /** 20-candidate lists of the test users (LastFM/Steam/MovieLens). */
  candidates?: CandidateRow[];
  /** Files the rows came from (for the run log). */
  files: string[];
}

const SEQ_NAMES: SeqDatasetName[] = ['lastfm', 'steam', 'movielens'];

/** Which family a folder belongs to (`auto`: Amazon by items.tsv + valid.csv, else by folder name). */
export function detectFormat(dir: string, format: DatasetFormat): Exclude<DatasetFormat, 'auto'> {
  if (format !== 'auto') return format;
  if (existsSync(join(dir, 'items.tsv')) && existsSync(join(dir, 'valid.csv'))) return 'amazon';
  const base = basename(resolve(dir)).toLowerCase();
  const hit = SEQ_NAMES.find((n) => base.includes(n));
  if (hit) return hit;
  throw new LocatedError(
    'cannot tell the dataset format: no items.tsv + valid.csv (Amazon) and the folder name is not lastfm/steam/movielens; set "datasetFormat"',
    dir,
  );
}

export async function loadSeqData(dir: string, format: DatasetFormat = 'auto'): Promise<SeqData> {
  if (!existsSync(dir)) throw new LocatedError('dataset folder not found', dir);
  const fmt = detectFormat(dir, format);
  if (fmt === 'amazon') {
    const name = basename(resolve(dir));
    const catalogue = readItemsTsv(join(dir, 'items.tsv'), name);
    let maxId = -1;
    for (const id of catalogue.ids()) maxId = Math.max(maxId, id);
    const numItems = maxId + 1;
    const map = (rows: { historyIds: number[]; itemId: number }[], file: string): TrainRow[] =>
      rows.map((r, i) => {
        for (const id of [...r.historyIds, r.itemId])
          if (id < 0 || id >= numItems)
            throw new LocatedError(`item id ${id} is not in items.tsv (0..${numItems - 1})`, `${file}:${i + 2}`);
        return { seq: r.historyIds, next: r.itemId };
      });
    const files = ['train.jsonl', 'valid.csv', 'test.csv'].map((f) => join(dir, f));
    return {
      name,
      format: fmt,
      catalogue,
      numItems,
      train: map(readTrainJsonl(files[0]), files[0]),
      valid: map(readEvalCsv(files[1]), files[1]),
      test: map(readEvalCsv(files[2]), files[2]),
      files,
    };
  }
  const ds = loadSeqDataset(dir, fmt);
  const cands = ds.candidatesFile ? readCandidates(ds.candidatesFile) : undefined;
  return {
    name: fmt,
    format: fmt,
    catalogue: ds.catalogue,
    numItems: ds.numItems,
    train: ds.train ?? [],
    valid: ds.val ?? [],
    test: ds.test,
    candidates: cands,
    files: ['train.jsonl', 'val.jsonl', 'test.jsonl']
      .map((f) => join(dir, f))
      .filter(existsSync)
      .concat(ds.candidatesFile ? [ds.candidatesFile] : []),
  };
}

/** A seeded random subset of `n` rows in their original order (n = 0 or ≥ length: all rows). */
export function subsetRows<T>(rows: T[], n: number, rng: { int(n: number): number }): T[] {
  if (!n || n >= rows.length) return rows;
  const idx = rows.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(idx.length - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => rows[i]);
}
