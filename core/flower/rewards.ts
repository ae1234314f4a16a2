/**
 * Item rewards R(i) (METHODS A2): by default the number of times a title occurs in the training rows'
 * history lists (`title_counts.json` holds exactly these), or any user-supplied `{title: reward}` file
 * (read by core/trie's `readRewardFile`, located errors).
 */
import { readRewardFile, type TitleRewards } from '../trie';

export type { TitleRewards };

/**
 * METHODS A2 (default reward) computed from data: R(i) = count of title i in the history lists of the
 * training rows, titles merged by string. Equals title_counts.json for the Amazon datasets.
 */
export function rewardsFromHistories(histories: Iterable<string[]>): TitleRewards {
  const counts = new Map<string, number>();
  for (const h of histories) for (const t of h) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { titles: [...counts.keys()], rewards: Float64Array.from(counts.values()) };
}

/**
 * Rewards for every catalogue title: R(i) from `rewards` where the title has one, else `minReward`
 * (a catalogue title absent from the history counts — 28 of 2,653 Movies items — still has to be
 * reachable by constrained decoding, and a zero reward would make its log R_p = −∞ in the GFN term).
 * Titles of `rewards` not in the catalogue are kept too (they are valid generation targets).
 */
export function catalogueRewards(catalogueTitles: string[], rewards: TitleRewards, minReward: number): TitleRewards & { filled: number } {
  const byTitle = new Map<string, number>();
  rewards.titles.forEach((t, i) => byTitle.set(t, rewards.rewards[i]));
  const titles: string[] = [];
  const vals: number[] = [];
  const seen = new Set<string>();
  let filled = 0;
  for (const t of [...catalogueTitles, ...rewards.titles]) {
    if (seen.has(t)) continue;
    seen.add(t);
    const r = byTitle.get(t);
    titles.push(t);
    if (r === undefined || !(r > 0)) { vals.push(minReward); filled++; } else vals.push(r);
  }
  return { titles, rewards: Float64Array.from(vals), filled };
}

/** METHODS A2 from a file: `{title: reward}` (title_counts.json or user-supplied). */
export function loadRewards(file: string): TitleRewards {
  return readRewardFile(file);
}

/** P*(i) = R(i) / Σ_j R(j) (METHODS A2). */
export function targetDistribution(r: TitleRewards): Float64Array {
  let s = 0;
  for (const v of r.rewards) s += v;
  return r.rewards.map((v) => v / s);
}
