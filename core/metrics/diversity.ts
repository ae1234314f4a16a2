/** docs/methods.md §A9: word-level diversity of the recommended titles. */

/** Whitespace-split words of all titles (every slot counts; empty tokens dropped). */
export function words(titles: Iterable<string>): string[] {
  const out: string[] = [];
  for (const t of titles) for (const w of t.split(/\s+/)) if (w !== '') out.push(w);
  return out;
}

/**
 * docs/methods.md §A9: H = −Σ_w p(w) log2 p(w) over the whitespace-split words of all recommended titles (case
 * and punctuation kept, as split). 0 for no words.
 */
export function wordEntropy(titles: Iterable<string>): number {
  const counts = new Map<string, number>();
  let total = 0;
  for (const w of words(titles)) {
    counts.set(w, (counts.get(w) ?? 0) + 1);
    total++;
  }
  let h = 0;
  for (const c of counts.values()) {
    const p = c / total;
    h -= p * Math.log2(p);
  }
  return h === 0 ? 0 : h;
}

/** docs/methods.md §A9: TTR = distinct words / total words over all recommended titles (0 for no words). */
export function ttr(titles: Iterable<string>): number {
  const w = words(titles);
  return w.length === 0 ? 0 : new Set(w).size / w.length;
}

/** Number of distinct recommended titles. */
export function distinctTitles(titles: Iterable<string>): number {
  return new Set(titles).size;
}
