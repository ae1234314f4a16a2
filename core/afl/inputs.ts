/**
 * AFL inputs from a config (docs/methods.md §B3, B7): the users (history + 20 candidates + target, by name), the
 * prior (a Scorer's top-1 among the candidates, a prior CSV, or none), the reward model (a Scorer, the
 * candidate file's precomputed SASRec logits, or none), its focus list (top ⌊n/4⌋ names), popularity
 * counts, and the Steam user sample.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readCandidates, readPriorCsv, type CandidateRow } from '../data/candidates';
import type { Catalogue } from '../data/catalogue';
import { loadSeqDataset, type ItemNaming, type SeqDataset, type SeqDatasetName } from '../data/sequential';
import { LocatedError } from '../experiment/context';
import type { Scorer } from '../models/scorer';
import { Rng } from '../util/random';
import type { LoopUser } from './agents';

export interface Model {
  /** What it is, for logs/tables ("SASRec (imported PyTorch weights, tfjs wasm)", "prior CSV prior_sasrec.csv"). */
  label: string;
  kind: 'scorer' | 'csv' | 'candidates-file' | 'none';
  scorer?: Scorer;
  csv?: Map<number, string>;
}

/** Dataset name from the config or the folder's name. */
export function datasetNameOf(dir: string, given?: string): SeqDatasetName {
  const n = (given ?? basename(dir)).toLowerCase();
  if (n === 'lastfm' || n === 'steam' || n === 'movielens') return n;
  throw new LocatedError(
    `cannot tell the dataset from folder "${basename(dir)}": set "datasetName" to lastfm, steam or movielens`,
    dir,
    'datasetName',
  );
}

/**
 * Resolves a prior / reward-model spec (docs/methods.md §B3 "any base model"): "none", "candidates-file", a `.csv`
 * file, or a model folder / `.onnx` file / Flower policy checkpoint loaded with loadScorer (core/models).
 * `catalogue` is the dataset's (a Flower policy scores candidates by title and refuses a catalogue other
 * than the one it was trained on).
 */
export async function loadModelSpec(
  spec: string,
  resolvePath: (p: string) => string,
  opts: { engine: 'tfjs' | 'onnx'; device?: string; configPath: string; path: string; csvAllowed: boolean; catalogue?: Catalogue },
): Promise<Model> {
  if (spec === 'none') return { label: 'none', kind: 'none' };
  if (spec === 'candidates-file')
    return { label: "the candidate file's sasrec_eval_scores (PyTorch SASRec, eval mode)", kind: 'candidates-file' };
  const p = resolvePath(spec);
  if (!existsSync(p)) throw new LocatedError(`not found: ${p}`, opts.configPath, opts.path);
  if (p.toLowerCase().endsWith('.csv')) {
    if (!opts.csvAllowed)
      throw new LocatedError(
        'a prior CSV gives only a top-1 item, not scores: the reward model needs a model folder, "candidates-file" or "none"',
        opts.configPath,
        opts.path,
      );
    const rows = readPriorCsv(p);
    return { label: `prior CSV ${basename(p)}`, kind: 'csv', csv: new Map(rows.map((r) => [r.id, r.generate])) };
  }
  const { loadScorer } = await import('../models/load');
  const engine = statSync(p).isFile() && p.endsWith('.onnx') ? 'onnx' : opts.engine;
  const scorer = await loadScorer(p, {
    engine,
    device: opts.device as import('../models/load').LoadScorerOptions['device'],
    catalogue: opts.catalogue,
  });
  return { label: scorer.description, kind: 'scorer', scorer };
}

/** Reward-model focus list (docs/methods.md §B2): names of the top ⌊n/4⌋ candidates, best first, no scores. */
export function focusList(names: string[], scores: ArrayLike<number>): string[] {
  const k = Math.floor(names.length / 4);
  return names
    .map((n, i) => [scores[i], i, n] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, , n]) => n);
}

/** Candidate scores per row from a model (null when it has none). */
export async function candidateScores(
  model: Model,
  rows: { id: number; seq: number[]; cans: number[]; sasrecEvalScores?: number[] }[],
  where: string,
): Promise<(number[] | null)[]> {
  if (model.kind === 'scorer') {
    const out: (number[] | null)[] = [];
    for (let i = 0; i < rows.length; i += 256) {
      const part = rows.slice(i, i + 256);
      const s = await model.scorer!.scoreCandidates(
        part.map((r) => r.seq),
        part.map((r) => r.cans),
      );
      for (const a of s) out.push(Array.from(a));
    }
    return out;
  }
  if (model.kind === 'candidates-file') {
    return rows.map((r) => {
      if (!r.sasrecEvalScores)
        throw new LocatedError(
          `row ${r.id} has no sasrec_eval_scores (only LastFM's candidate file carries them): use a model folder`,
          where,
        );
      return r.sasrecEvalScores;
    });
  }
  return rows.map(() => null);
}

/** Index of the largest score (first on ties, torch.argmax convention). */
export function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i;
  return k;
}

/**
 * The prior's top-1 name per row (docs/methods.md §B3); null where the model gives none. A prior CSV written with
 * the candidate file's names (the reference's) is mapped to the row's name of the same candidate.
 */
export function priorNames(
  model: Model,
  rows: (CandidateRow & { fileCansNames?: string[] })[],
  scores: (number[] | null)[],
  where: string,
): (string | null)[] {
  return rows.map((r, i) => {
    if (model.kind === 'csv') {
      const g = model.csv!.get(r.id);
      if (g === undefined) throw new LocatedError(`the prior CSV has no row for user id ${r.id}`, where);
      const k = r.cansNames.includes(g) ? -1 : (r.fileCansNames?.indexOf(g) ?? -1);
      return k >= 0 ? r.cansNames[k] : g;
    }
    const s = scores[i];
    return s ? r.cansNames[argmax(s)] : null;
  });
}

/**
 * docs/methods.md §B7 Steam: a fixed, seeded sample of users (shuffle of the row order with Rng(seed), first n,
 * kept in file order). `sample` "auto" = 200 for Steam, all users otherwise.
 */
export function sampleUsers<T extends { id: number }>(
  rows: T[],
  dataset: SeqDatasetName,
  sample: number | 'auto' | 'all',
  seed: number,
): { rows: T[]; note: string } {
  const n = sample === 'auto' ? (dataset === 'steam' ? 200 : rows.length) : sample === 'all' ? rows.length : sample;
  if (n >= rows.length) return { rows, note: `all ${rows.length} users` };
  const idx = new Rng(seed)
    .shuffle(rows.map((_, i) => i))
    .slice(0, n)
    .sort((a, b) => a - b);
  return {
    rows: idx.map((i) => rows[i]),
    note: `a seeded sample of ${n} of ${rows.length} users (Rng seed ${seed}: shuffle of the file order, first ${n}, kept in file order)`,
  };
}

/** Interaction counts per lower-cased name (training windows if present, else the val/test histories). */
export function popularityCounts(ds: SeqDataset): { counts: Map<string, number>; source: string } {
  const counts = new Map<string, number>();
  const add = (id: number) => {
    const t = ds.catalogue.title(id);
    if (t === undefined) return;
    const k = t.trim().toLowerCase();
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  if (ds.train) {
    // Training rows are sliding windows: count each window's target (each interaction once).
    for (const r of ds.train) add(r.next);
    return { counts, source: `${ds.train.length} training targets` };
  }
  const rows = [...(ds.val ?? []), ...ds.test];
  for (const r of rows) for (const id of r.seq) add(id);
  return { counts, source: `item occurrences in the val+test histories (${rows.length} rows; no training split here)` };
}

/** A candidate row named from the catalogue; `fileCansNames` = the candidate file's own names. */
export type AflRow = CandidateRow & { fileCansNames: string[] };

export interface RecInputs {
  dataset: SeqDatasetName;
  ds: SeqDataset;
  rows: AflRow[];
  sampleNote: string;
  candidatesFile: string;
  /** Item naming used for histories, candidates and targets. */
  naming: ItemNaming;
  /** Candidate slots whose file name differed from the catalogue's (renamed). */
  renamed: number;
}

/**
 * docs/methods.md §B7 naming: history, candidate and target names come from their ids through the dataset's
 * catalogue (MovieLens: title minus " (year)", article moved to the front), not from the candidate file,
 * whose names keep the reference's quirks (MovieLens "A Affair to Remembern", "Two Friends "; Steam
 * "Depths of Fear" for "Depths of Fear :: Knossos"). So prompts, matching and the per-round popularity
 * lookup all use the catalogue's names. With the catalogue in `reference` naming the file's names come back.
 */
export function nameRows(rows: CandidateRow[], catalogue: Catalogue, file: string): { rows: AflRow[]; renamed: number } {
  let renamed = 0;
  const name = (id: number, r: CandidateRow) => {
    const t = catalogue.title(id);
    if (t === undefined) throw new LocatedError(`user ${r.id}: item id ${id} is not in catalogue ${catalogue.name}`, file);
    return t;
  };
  const out = rows.map((r) => {
    const cansNames = r.cans.map((id) => name(id, r));
    cansNames.forEach((n, k) => {
      if (n !== r.cansNames[k]) renamed++;
    });
    return { ...r, seqNames: r.seq.map((id) => name(id, r)), cansNames, correctAnswer: name(r.next, r), fileCansNames: r.cansNames };
  });
  return { rows: out, renamed };
}

/** Loads the dataset (catalogue in `naming`) and its candidate file, names the rows from the catalogue (nameRows), then samples users. */
export function loadRecRows(
  datasetDir: string,
  name: SeqDatasetName,
  candidatesFile: string | undefined,
  sample: number | 'auto' | 'all',
  seed: number,
  limit?: number,
  naming: ItemNaming = 'methods',
): RecInputs {
  const ds = loadSeqDataset(datasetDir, name, { naming });
  const file = candidatesFile ?? ds.candidatesFile ?? join(datasetDir, 'test_candidates.jsonl');
  const named = nameRows(readCandidates(file), ds.catalogue, file);
  let rows = named.rows;
  const s = sampleUsers(rows, name, sample, seed);
  rows = s.rows;
  let note = s.note;
  if (limit !== undefined && limit < rows.length) {
    rows = rows.slice(0, limit);
    note += `, first ${limit} of them (users.limit)`;
  }
  return { dataset: name, ds, rows, sampleNote: note, candidatesFile: file, naming, renamed: named.renamed };
}

/** LoopUsers for a variant (the ablations switch the prior and/or the reward model off). */
export function buildUsers(
  rows: CandidateRow[],
  prior: { names: (string | null)[]; scores: (number[] | null)[] } | null,
  reward: (number[] | null)[] | null,
): LoopUser[] {
  return rows.map((r, i) => loopUser(r, prior ? prior.names[i] : null, prior ? prior.scores[i] : null, reward ? reward[i] : null));
}

/**
 * One LoopUser from a candidate row or user-simulation sample: its prior (and the base model's scores),
 * and the reward model's scores with the focus list from them; without reward scores, `focus` (a focus
 * list given with the data, else none).
 */
export function loopUser(
  r: Pick<CandidateRow, 'id' | 'seqNames' | 'cansNames' | 'correctAnswer'>,
  prior: string | null,
  priorScores: number[] | null,
  rewardScores: number[] | null,
  focus: string[] | null = null,
): LoopUser {
  return {
    id: r.id,
    history: r.seqNames,
    candidates: r.cansNames,
    target: r.correctAnswer,
    prior,
    priorScores,
    focus: rewardScores ? focusList(r.cansNames, rewardScores) : focus,
    rewardScores,
  };
}
