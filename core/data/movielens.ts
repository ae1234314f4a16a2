/**
 * MovieLens-100K `u.item` (ISO-8859-1, `id|title|date|video date|url|19 genre flags`) and the item naming
 * rule of docs/methods.md §B7. Ids in the LLaRA splits are 0-based: split id = u.item id − 1; pad = 1682.
 */
import { Catalogue } from './catalogue';
import { LocatedError, eachLine, where } from './lines';

/**
 * How u.item titles become item names.
 * - `methods` (default, docs/methods.md §B7): drop the trailing " (year)"; a title whose main part ends in
 *   ", The" / ", A" / ", An" (optionally followed by an alternative title in parentheses) gets the article
 *   moved to the front: "Star Maker, The (Uomo delle stelle, L') (1995)" → "The Star Maker (Uomo delle
 *   stelle, L')", "Good, The Bad and The Ugly, The (1966)" → "The Good, The Bad and The Ugly".
 * - `reference`: byte-for-byte what the released LLaRA/AFL code produced (the names in
 *   `movielens/test_candidates.jsonl`): `title[:-7]` then, if ", The" occurs anywhere, "The " + title with
 *   every ", The" deleted; else if ", A" occurs, "A " + title with every ", A" deleted (so ", An" →
 *   "A …n"); else ", An" likewise. Quirks kept: "A Affair to Remembern", "Two Friends " (trailing space).
 */
export type MovielensNaming = 'methods' | 'reference';

/** docs/methods.md §B7: MovieLens item name from a u.item title (see {@link MovielensNaming}). */
export function movielensName(title: string, naming: MovielensNaming = 'methods'): string {
  if (naming === 'reference') {
    let name = title.slice(0, Math.max(0, title.length - 7));
    for (const art of ['The', 'A', 'An']) {
      if (name.includes(`, ${art}`)) {
        name = `${art} ${name.split(`, ${art}`).join('')}`;
        break;
      }
    }
    return name;
  }
  // " (1995)" at the end, possibly followed by a medium marker such as " (V)" which is kept.
  let name = title.trim().replace(/\s*\(\d{4}\)(\s*\([^()]*\))?\s*$/, (_m, tail: string | undefined) => (tail ? ` ${tail.trim()}` : ''));
  const m = /^(.*), (The|A|An)( \([^()]*\))?$/.exec(name);
  if (m) name = `${m[2]} ${m[1]}${m[3] ?? ''}`;
  return name;
}

export interface MovielensItem {
  /** 0-based id used by the splits (u.item id − 1). */
  id: number;
  /** The u.item id (1-based). */
  itemId: number;
  /** Raw u.item title, e.g. "Toy Story (1995)". */
  rawTitle: string;
  /** Name after {@link movielensName}. */
  name: string;
  releaseDate: string;
  url: string;
  /** 19 genre flags (unknown, Action, …, Western). */
  genres: number[];
}

/** Reads `u.item` (ISO-8859-1). A row without 24 `|`-separated fields or a bad id is located `file:line`. */
export function readMovielensItems(file: string, naming: MovielensNaming = 'methods'): MovielensItem[] {
  const items: MovielensItem[] = [];
  const seen = new Set<number>();
  eachLine(
    file,
    (line, lineNo) => {
      if (line.trim() === '') return;
      const f = line.split('|');
      if (f.length !== 24) throw new LocatedError(`expected 24 '|'-separated fields, got ${f.length}`, where(file, lineNo));
      const itemId = Number(f[0]);
      if (!Number.isInteger(itemId) || itemId < 1) throw new LocatedError(`bad item id ${JSON.stringify(f[0])}`, where(file, lineNo));
      if (seen.has(itemId)) throw new LocatedError(`duplicate item id ${itemId}`, where(file, lineNo));
      seen.add(itemId);
      const genres = f.slice(5).map(Number);
      if (genres.some((g) => g !== 0 && g !== 1)) throw new LocatedError('genre flags must be 0 or 1', where(file, lineNo));
      items.push({ id: itemId - 1, itemId, rawTitle: f[1], name: movielensName(f[1], naming), releaseDate: f[2], url: f[4], genres });
    },
    'latin1',
  );
  return items;
}

/** Catalogue of MovieLens items keyed by the 0-based split id. */
export function movielensCatalogue(file: string, naming: MovielensNaming = 'methods'): Catalogue {
  const cat = new Catalogue('movielens');
  for (const it of readMovielensItems(file, naming)) cat.add(it.id, it.name);
  return cat;
}
