/** docs/methods.md §A9: popularity groups, data/recommendation shares, DGU and MGU. */

export interface PopularityGroups {
  /** Titles of each group, group 0 = most popular. */
  groups: string[][];
  /** Group index of every training title. */
  groupOf: Map<string, number>;
  /** Data share g_d(G) = Σ_{i∈G} R(i) / Σ R. */
  gd: number[];
}

/**
 * docs/methods.md §A9: sort the training titles by R descending (a STABLE sort: ties keep the order of
 * `titleCounts`, i.e. of title_counts.json), split into `n` groups of equal title count with the first
 * `count % n` groups one title larger, and compute each group's data share g_d.
 */
export function popularityGroups(titleCounts: Map<string, number> | Record<string, number>, n = 8): PopularityGroups {
  const entries = titleCounts instanceof Map ? [...titleCounts.entries()] : Object.entries(titleCounts);
  if (entries.length < n) throw new Error(`popularityGroups: ${entries.length} titles cannot fill ${n} groups`);
  const sorted = entries
    .map((e, i) => [e, i] as const)
    .sort((a, b) => b[0][1] - a[0][1] || a[1] - b[1])
    .map(([e]) => e);
  const total = sorted.reduce((s, [, r]) => s + r, 0);
  const base = Math.floor(sorted.length / n);
  const extra = sorted.length % n;
  const groups: string[][] = [];
  const gd: number[] = [];
  const groupOf = new Map<string, number>();
  let at = 0;
  for (let g = 0; g < n; g++) {
    const size = base + (g < extra ? 1 : 0);
    const slice = sorted.slice(at, at + size);
    at += size;
    groups.push(slice.map(([t]) => t));
    gd.push(total > 0 ? slice.reduce((s, [, r]) => s + r, 0) / total : 0);
    for (const [t] of slice) groupOf.set(t, g);
  }
  return { groups, groupOf, gd };
}

export interface GroupUnfairness {
  /** DGU = max_G(g_r − g_d) − min_G(g_r − g_d). */
  dgu: number;
  /** MGU = mean_G |g_r − g_d|. */
  mgu: number;
  /** Recommendation share g_r(G) = recommended slots in G / ALL recommended slots. */
  gr: number[];
  gd: number[];
  /** Share of slots whose title is in no group (not a training title); counted in the denominator of g_r. */
  ungrouped: number;
  /** Total recommended slots. */
  slots: number;
}

/**
 * docs/methods.md §A9: DGU and MGU of recommendation lists. Every slot of every list counts (10 per test row);
 * a title outside all groups (never in a training history) counts in the denominator only, so Σ g_r =
 * 1 − ungrouped.
 */
export function groupUnfairness(recs: string[][], groups: PopularityGroups): GroupUnfairness {
  const n = groups.groups.length;
  const counts = new Array<number>(n).fill(0);
  let slots = 0;
  let ungrouped = 0;
  for (const list of recs) {
    for (const t of list) {
      slots++;
      const g = groups.groupOf.get(t);
      if (g === undefined) ungrouped++;
      else counts[g]++;
    }
  }
  const gr = counts.map((c) => (slots > 0 ? c / slots : 0));
  const diff = gr.map((x, g) => x - groups.gd[g]);
  return {
    dgu: Math.max(...diff) - Math.min(...diff),
    mgu: diff.reduce((s, d) => s + Math.abs(d), 0) / n,
    gr,
    gd: groups.gd.slice(),
    ungrouped: slots > 0 ? ungrouped / slots : 0,
    slots,
  };
}
