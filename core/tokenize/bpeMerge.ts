/**
 * The BPE merge step of a byte-level BPE tokenizer (Qwen2/2.5, GPT-2, Llama 3 style; docs/methods.md §A3), for
 * the `@lenml/tokenizers` model object. The library's own merge looks every candidate pair up as
 * `JSON.stringify([a, b])` in a 151k-entry map and runs a heap per word; this one keys the ranks by the pair
 * itself (a map per left token) and scans the few symbols of a pre-tokenized word directly. The rule is the
 * same — repeatedly merge the adjacent pair of lowest merge rank, the leftmost one on a tie, until no pair has a
 * rank — so the ids are identical (test/core/tokenize.test.ts checks every title of the shipped datasets and
 * random text against the library's own merge). Normalisation, pre-tokenization, added tokens, the vocabulary
 * look-up and decoding stay the library's.
 */

/** The parts of the library's BPE model object this module reads and replaces. */
export interface LibraryBpeModel {
  merges?: unknown;
  bpe?: (word: string) => string[];
  end_of_word_suffix?: string | null;
  continuing_subword_suffix?: string | null;
  max_length_to_cache?: number;
}

/** Merge ranks: ranks.get(left)?.get(right) = the pair's line in `merges` (lower merges first). */
export type MergeRanks = Map<string, Map<string, number>>;

export function mergeRanks(merges: readonly (readonly [string, string])[]): MergeRanks {
  const ranks: MergeRanks = new Map();
  merges.forEach(([a, b], rank) => {
    let right = ranks.get(a);
    if (!right) ranks.set(a, (right = new Map()));
    if (!right.has(b)) right.set(b, rank);
  });
  return ranks;
}

/**
 * BPE of one pre-tokenized word (its byte-level characters): merge the adjacent pair with the lowest rank, the
 * leftmost on a tie, until no adjacent pair is a merge (Sennrich et al. 2016; the Hugging Face tokenizers rule).
 */
export function bpeMerge(word: string, ranks: MergeRanks): string[] {
  const parts = Array.from(word);
  for (;;) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(parts[i])?.get(parts[i + 1]);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) return parts;
    parts.splice(at, 2, parts[at] + parts[at + 1]);
  }
}

/** Words longer than this keep the library's heap-based merge (quadratic scans would cost more there). */
const LONG_WORD = 256;
/** Cached words before the cache is emptied (titles repeat words heavily; a bound keeps memory flat). */
const CACHE_WORDS = 200_000;

/**
 * Replace the merge step of a loaded library BPE model by {@link bpeMerge} (with a word cache), when the model is
 * plain byte-level BPE (no word suffixes). Returns whether it did; otherwise the library's merge stays.
 */
export function useFastMerge(model: LibraryBpeModel): boolean {
  const merges = model.merges;
  const libraryBpe = model.bpe;
  if (typeof libraryBpe !== 'function' || !Array.isArray(merges) || model.end_of_word_suffix || model.continuing_subword_suffix)
    return false;
  if (!merges.every((m): m is [string, string] => Array.isArray(m) && m.length === 2)) return false;
  const ranks = mergeRanks(merges);
  const cache = new Map<string, string[]>();
  const library = libraryBpe.bind(model);
  model.bpe = (word: string): string[] => {
    if (word.length === 0) return [];
    if (word.length > LONG_WORD) return library(word);
    let out = cache.get(word);
    if (out === undefined) {
      out = bpeMerge(word, ranks);
      if (cache.size >= CACHE_WORDS) cache.clear();
      cache.set(word, out);
    }
    return out;
  };
  return true;
}
