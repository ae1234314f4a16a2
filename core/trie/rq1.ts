/**
 * docs/methods.md §A9, RQ1 distribution fitting without history: the trie of the 100 (or 1500)
 * selected movie titles with their counts (`../shared/data/movies_rq1/select_<n>_Movies.json`, a copy of
 * the 100-title file ships in examples/).
 */
import { join } from 'node:path';
import type { Tokenizer } from '../tokenize';
import type { PrefixTree, TrieBuildOptions } from './prefixTree';
import { buildTrieFromRewardFile } from './rewards';

/** Path of the RQ1 selection file with `n` titles inside a movies_rq1 folder. */
export function rq1File(dir: string, n: 100 | 1500 = 100): string {
  return join(dir, `select_${n}_Movies.json`);
}

/** Build the RQ1 trie from a movies_rq1 folder (or directly from a `select_<n>_Movies.json` file). */
export function buildRq1Trie(dirOrFile: string, tok: Tokenizer, n: 100 | 1500 = 100, opts?: TrieBuildOptions): PrefixTree {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : rq1File(dirOrFile, n);
  return buildTrieFromRewardFile(file, tok, opts);
}
