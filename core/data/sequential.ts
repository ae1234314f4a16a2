/**
 * Sequential datasets of AFL (docs/methods.md §B7): LastFM, Steam, MovieLens. Splits are JSON Lines of padded
 * 10-item windows; readers return unpadded sequences, oldest item first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Catalogue } from './catalogue';
import { LocatedError, asObject, eachLine, intArrayField, intField, readJsonl, where } from './lines';
import { MovielensNaming, movielensCatalogue } from './movielens';

/**
 * `methods`: the sound names of docs/methods.md §B7 (default). `reference`: the names exactly as the released
 * code built them (and as they appear in the `test_candidates.jsonl` files): MovieLens quirks (see
 * movielens.ts) and Steam's truncation at a second `::`. LastFM is the same under both.
 */
export type ItemNaming = MovielensNaming;

export type SeqDatasetName = 'lastfm' | 'steam' | 'movielens';

export interface SeqRow {
  /** 0-based row number in the split file. */
  row: number;
  /** Item ids, unpadded, oldest first. */
  seq: number[];
  /** The target next item id. */
  next: number;
  /** MovieLens only: ratings aligned with `seq`. */
  ratings?: number[];
  /** MovieLens only: rating of `next`. */
  nextRating?: number;
}

export interface SeqDataset {
  name: SeqDatasetName;
  catalogue: Catalogue;
  /** Padding id = number of items (LastFM 4606, Steam 3581, MovieLens 1682). */
  padId: number;
  numItems: number;
  train?: SeqRow[];
  val?: SeqRow[];
  test: SeqRow[];
  /** Path of `test_candidates.jsonl` when present. */
  candidatesFile?: string;
}

/** Pad ids of the released splits (= item count). */
export const SEQ_PAD: Record<SeqDatasetName, number> = { lastfm: 4606, steam: 3581, movielens: 1682 };

/**
 * Reads an `id::name` file (LastFM/Steam `id2name.txt`). Naming `methods` (default): the name is
 * everything after the FIRST `::` (Steam id 354 is "Depths of Fear :: Knossos"). Naming `reference`:
 * what the released code did, `line.split('::')[1].strip()` ("Depths of Fear"), which is the name in
 * `steam/test_candidates.jsonl`. Bad ids and duplicate ids are located `file:line`.
 */
export function readId2Name(file: string, name = 'catalogue', naming: MovielensNaming = 'methods'): Catalogue {
  const cat = new Catalogue(name);
  eachLine(file, (line, lineNo) => {
    if (line.trim() === '') return;
    const k = line.indexOf('::');
    if (k < 0) throw new LocatedError("expected 'id::name'", where(file, lineNo));
    const idText = line.slice(0, k);
    const id = Number(idText);
    if (idText.trim() === '' || !Number.isInteger(id) || id < 0)
      throw new LocatedError(`bad item id ${JSON.stringify(idText)}`, where(file, lineNo));
    if (cat.title(id) !== undefined) throw new LocatedError(`duplicate item id ${id}`, where(file, lineNo));
    cat.add(id, naming === 'reference' ? line.split('::')[1].trim() : line.slice(k + 2));
  });
  return cat;
}

/**
 * Removes padding from a released window: the real items form a prefix, pads fill the rest. `lenSeq`
 * must equal the number of real items, except the reference's empty-history rows (all pads, len_seq 1).
 */
export function unpad(seq: number[], padId: number, lenSeq?: number): number[] {
  let n = seq.indexOf(padId);
  if (n < 0) n = seq.length;
  for (let i = n; i < seq.length; i++) if (seq[i] !== padId) throw new Error(`item ${seq[i]} after padding at position ${i}`);
  if (lenSeq !== undefined && lenSeq !== n && !(n === 0 && lenSeq === 1)) {
    throw new Error(`len_seq ${lenSeq} but ${n} non-pad items`);
  }
  return seq.slice(0, n);
}

function checkIds(ids: number[], numItems: number, what: string): void {
  for (const id of ids) if (id < 0 || id >= numItems) throw new Error(`${what}: item id ${id} outside 0..${numItems - 1}`);
}

/**
 * Reads one split file. LastFM/Steam rows: `{row, seq (padded), len_seq, next}`; MovieLens rows:
 * `{row, seq_with_ratings: [[id, rating]...], len_seq, next_with_rating: [id, rating]}`.
 */
export function readSeqSplit(file: string, padId: number): SeqRow[] {
  return readJsonl(file, (v, lineNo) => {
    const o = asObject(v);
    const row = 'row' in o ? intField(o, 'row') : lineNo - 1;
    if ('seq_with_ratings' in o) {
      const pairs = o.seq_with_ratings;
      if (!Array.isArray(pairs)) throw new Error('field "seq_with_ratings" must be an array');
      const seq: number[] = [];
      const ratings: number[] = [];
      for (const p of pairs) {
        if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => typeof x === 'number' && Number.isInteger(x))) {
          throw new Error('each "seq_with_ratings" entry must be [item id, rating]');
        }
        if (p[0] === padId) continue;
        seq.push(p[0]);
        ratings.push(p[1]);
      }
      const nr = o.next_with_rating;
      if (!Array.isArray(nr) || nr.length !== 2 || !nr.every((x) => typeof x === 'number' && Number.isInteger(x))) {
        throw new Error('field "next_with_rating" must be [item id, rating]');
      }
      checkIds([...seq, nr[0]], padId, 'seq_with_ratings/next_with_rating');
      if ('len_seq' in o && intField(o, 'len_seq') !== seq.length) throw new Error(`len_seq ${o.len_seq} but ${seq.length} items`);
      return { row, seq, next: nr[0], ratings, nextRating: nr[1] };
    }
    const seq = unpad(intArrayField(o, 'seq'), padId, 'len_seq' in o ? intField(o, 'len_seq') : undefined);
    const next = intField(o, 'next');
    checkIds([...seq, next], padId, 'seq/next');
    return { row, seq, next };
  });
}

/**
 * Loads a sequential dataset folder (`../shared/data/<lastfm|steam|movielens>`): the catalogue
 * (`id2name.txt`, or MovieLens `u.item` named per docs/methods.md §B7) and whichever of train/val/test.jsonl exist
 * (test is required).
 */
export function loadSeqDataset(dir: string, name: SeqDatasetName, opts: { naming?: ItemNaming } = {}): SeqDataset {
  const padId = SEQ_PAD[name];
  const catalogue =
    name === 'movielens' ? movielensCatalogue(join(dir, 'u.item'), opts.naming) : readId2Name(join(dir, 'id2name.txt'), name, opts.naming);
  if (catalogue.size !== padId) throw new LocatedError(`catalogue has ${catalogue.size} items, expected ${padId}`, dir);
  const split = (s: string): SeqRow[] | undefined => {
    const f = join(dir, `${s}.jsonl`);
    return existsSync(f) ? readSeqSplit(f, padId) : undefined;
  };
  const test = split('test');
  if (!test) throw new LocatedError('test.jsonl is missing', dir);
  const cands = join(dir, 'test_candidates.jsonl');
  return {
    name,
    catalogue,
    padId,
    numItems: padId,
    train: split('train'),
    val: split('val'),
    test,
    candidatesFile: existsSync(cands) ? cands : undefined,
  };
}
