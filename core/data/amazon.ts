/**
 * Flower's Amazon datasets (docs/methods.md §A10): `items.tsv`, `train.jsonl`, `valid.csv`/`test.csv` (11 columns,
 * list cells are Python list literals), `title_counts.json` (item reward R, docs/methods.md §A2) and the
 * 8-popularity-group files.
 */
import { basename, join, resolve } from 'node:path';
import { Catalogue } from './catalogue';
import { readCsv } from './csv';
import {
  LocatedError,
  asObject,
  eachLine,
  intArrayField,
  intField,
  readJsonObjectEntries,
  readJsonl,
  strArrayField,
  strField,
  where,
} from './lines';
import { PyLiteralError, parsePyIntList, parsePyNumberList, parsePyStringList } from './pyliteral';

export interface AmazonTrainRow {
  /** 0-based row of train.jsonl (the reference's training-cache order). */
  row: number;
  historyIds: number[];
  historyTitles: string[];
  itemId: number;
  itemTitle: string;
}

export interface AmazonEvalRow extends AmazonTrainRow {
  userId: string;
  historyAsins: string[];
  itemAsin: string;
  historyRatings: number[];
  rating: number;
  historyTimestamps: number[];
  timestamp: number;
}

export interface AmazonDataset {
  /** Folder name, e.g. "CDs_and_Vinyl". */
  name: string;
  dir: string;
  catalogue: Catalogue;
  train: AmazonTrainRow[];
  valid: AmazonEvalRow[];
  test: AmazonEvalRow[];
  /** Item reward R(title) (docs/methods.md §A2), in the file's order. */
  titleCounts: Map<string, number>;
  /** The released 8 popularity groups ("0" most popular), titles and ids. */
  groupsTitles: string[][];
  groupsIds: number[][];
}

/** Columns of valid.csv / test.csv, in order. */
export const EVAL_COLUMNS = [
  'user_id',
  'item_asins',
  'item_asin',
  'history_item_id',
  'item_id',
  'history_item_title',
  'item_title',
  'history_rating',
  'rating',
  'history_timestamp',
  'timestamp',
] as const;

/** Reads `items.tsv` (`title<TAB>id` per line; several ids may share one title). */
export function readItemsTsv(file: string, name = basename(resolve(file, '..'))): Catalogue {
  const cat = new Catalogue(name);
  eachLine(file, (line, lineNo) => {
    if (line === '') return;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new LocatedError("expected 'title<TAB>id'", where(file, lineNo));
    const idText = line.slice(tab + 1);
    const id = Number(idText);
    if (idText.trim() === '' || !Number.isInteger(id) || id < 0)
      throw new LocatedError(`bad item id ${JSON.stringify(idText)}`, where(file, lineNo));
    if (cat.title(id) !== undefined) throw new LocatedError(`duplicate item id ${id}`, where(file, lineNo));
    cat.add(id, line.slice(0, tab));
  });
  return cat;
}

/** Reads `train.jsonl` ({row, history_item_id, item_id, history_item_title, item_title}). */
export function readTrainJsonl(file: string): AmazonTrainRow[] {
  return readJsonl(file, (v, lineNo) => {
    const o = asObject(v);
    const historyIds = intArrayField(o, 'history_item_id');
    const historyTitles = strArrayField(o, 'history_item_title');
    if (historyIds.length !== historyTitles.length)
      throw new Error(`history_item_id has ${historyIds.length} ids but history_item_title ${historyTitles.length} titles`);
    return {
      row: 'row' in o ? intField(o, 'row') : lineNo - 1,
      historyIds,
      historyTitles,
      itemId: intField(o, 'item_id'),
      itemTitle: strField(o, 'item_title'),
    };
  });
}

/**
 * Reads `valid.csv` / `test.csv`: a real CSV layer (csv-parse: quoted cells, "" escapes) and a real
 * Python-literal parser for the list cells. A bad cell is a LocatedError `file:line` naming the column.
 */
export function readEvalCsv(file: string): AmazonEvalRow[] {
  const { rows } = readCsv(file, EVAL_COLUMNS);
  return rows.map(({ fields, line }, row) => {
    let col = '';
    try {
      const cell = (c: (typeof EVAL_COLUMNS)[number]) => {
        col = c;
        return fields[EVAL_COLUMNS.indexOf(c)];
      };
      const int = (c: (typeof EVAL_COLUMNS)[number]) => {
        const t = cell(c);
        const n = Number(t);
        if (t.trim() === '' || !Number.isInteger(n)) throw new Error(`expected an integer, got ${JSON.stringify(t)}`);
        return n;
      };
      const num = (c: (typeof EVAL_COLUMNS)[number]) => {
        const t = cell(c);
        const n = Number(t);
        if (t.trim() === '' || !Number.isFinite(n)) throw new Error(`expected a number, got ${JSON.stringify(t)}`);
        return n;
      };
      const r: AmazonEvalRow = {
        row,
        userId: cell('user_id'),
        historyAsins: parsePyStringList(cell('item_asins')),
        itemAsin: cell('item_asin'),
        historyIds: parsePyIntList(cell('history_item_id')),
        itemId: int('item_id'),
        historyTitles: parsePyStringList(cell('history_item_title')),
        itemTitle: cell('item_title'),
        historyRatings: parsePyNumberList(cell('history_rating')),
        rating: num('rating'),
        historyTimestamps: parsePyIntList(cell('history_timestamp')),
        timestamp: int('timestamp'),
      };
      col = '';
      const n = r.historyIds.length;
      for (const [k, len] of [
        ['history_item_title', r.historyTitles.length],
        ['item_asins', r.historyAsins.length],
        ['history_rating', r.historyRatings.length],
        ['history_timestamp', r.historyTimestamps.length],
      ] as const) {
        if (len !== n) throw new Error(`${k} has ${len} entries but history_item_id ${n}`);
      }
      return r;
    } catch (e) {
      const msg = e instanceof PyLiteralError ? `bad Python literal: ${e.message}` : (e as Error).message;
      throw new LocatedError(col ? `column ${col}: ${msg}` : msg, where(file, line));
    }
  });
}

/**
 * Reads `title_counts.json` ({title: R}, docs/methods.md §A2) keeping the FILE ORDER of the titles (ties in the
 * popularity sort are broken by it). Every value must be a non-negative finite number.
 */
export function readTitleCounts(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const { key, value, where: at } of readJsonObjectEntries(file)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new LocatedError(`count must be a non-negative number, got ${JSON.stringify(value)}`, at, `$[${JSON.stringify(key)}]`);
    }
    if (m.has(key)) throw new LocatedError(`duplicate title ${JSON.stringify(key)}`, at, `$[${JSON.stringify(key)}]`);
    m.set(key, value);
  }
  return m;
}

/**
 * Reads a groups file (`groups8_titles.json` / `groups8_ids.json`: {"0": [...], …, "7": [...]}, "0" most
 * popular), groups in key order; the ids file holds ids as strings and they are converted.
 * (Relation to the data, asserted by the tests: groups8_titles = docs/methods.md §A9 groups of title_counts.json;
 * groups8_ids = for each of those titles the LAST id with that title in items.tsv.)
 */
export function readGroups(file: string, kind: 'titles'): string[][];
export function readGroups(file: string, kind: 'ids'): number[][];
export function readGroups(file: string, kind: 'titles' | 'ids'): string[][] | number[][] {
  const entries = readJsonObjectEntries(file);
  const out: (string[] | number[])[] = [];
  entries.forEach(({ key, value: list, where: at }, i) => {
    const path = `$[${JSON.stringify(key)}]`;
    if (key !== String(i))
      throw new LocatedError(`group keys must be "0".."${entries.length - 1}" in order, found ${JSON.stringify(key)}`, at, path);
    if (!Array.isArray(list)) throw new LocatedError('group must be an array', at, path);
    if (kind === 'titles') {
      const bad = list.findIndex((x) => typeof x !== 'string');
      if (bad >= 0) throw new LocatedError('titles must be strings', at, `${path}[${bad}]`);
      out.push(list as string[]);
    } else {
      const ids = list.map((x) => (typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN));
      const bad = ids.findIndex((x) => !Number.isInteger(x));
      if (bad >= 0) throw new LocatedError(`bad item id ${JSON.stringify(list[bad])}`, at, `${path}[${bad}]`);
      out.push(ids);
    }
  });
  return out as string[][] | number[][];
}

/** Loads every file of an Amazon dataset folder (`../shared/data/amazon/<name>`). */
export async function loadAmazon(dir: string): Promise<AmazonDataset> {
  const name = basename(resolve(dir));
  return {
    name,
    dir,
    catalogue: readItemsTsv(join(dir, 'items.tsv'), name),
    train: readTrainJsonl(join(dir, 'train.jsonl')),
    valid: readEvalCsv(join(dir, 'valid.csv')),
    test: readEvalCsv(join(dir, 'test.csv')),
    titleCounts: readTitleCounts(join(dir, 'title_counts.json')),
    groupsTitles: readGroups(join(dir, 'groups8_titles.json'), 'titles'),
    groupsIds: readGroups(join(dir, 'groups8_ids.json'), 'ids'),
  };
}

/**
 * docs/methods.md §A10: CDs holds one junk title (an HTML fragment beginning `<span`, the 2nd most popular).
 * Readers keep it (the reference does); a caller that wants it gone filters with this predicate.
 */
export function isJunkTitle(title: string): boolean {
  return title.trimStart().startsWith('<span');
}
