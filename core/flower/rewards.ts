/**
 * Item rewards R(i) (docs/methods.md §A2): by default the number of times a title occurs in the training rows'
 * history lists (`title_counts.json` holds exactly these), or any user-supplied `{title: reward}` file
 * (read by core/trie's `readRewardFile`, located errors; a reward ≤ 0 is refused here, see
 * `readPositiveRewardFile`).
 */
import { readFileSync } from 'node:fs';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { LocatedError } from '../experiment/context';
import { readRewardFile, type TitleRewards } from '../trie';
import { lineColAt } from '../util/textPosition';

export type { TitleRewards };

/** Which titles the recommend-mode prefix tree holds (schema `treeTitles`). */
export type TreeTitles = 'catalogue' | 'counted';

/**
 * docs/methods.md §A2 (default reward) computed from data: R(i) = count of title i in the history lists of the
 * training rows, titles merged by string. Equals title_counts.json for the Amazon datasets.
 */
export function rewardsFromHistories(histories: Iterable<string[]>): TitleRewards {
  const counts = new Map<string, number>();
  for (const h of histories) for (const t of h) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { titles: [...counts.keys()], rewards: Float64Array.from(counts.values()) };
}

/**
 * The titles and rewards of the recommend-mode tree (docs/methods.md §A2/A3).
 * - `counted`: exactly the titles of `rewards` with their R(i) — the reference's TRAINING tree
 *   (`reference_trie_qwen.json`); catalogue titles without a count are not in the tree (`unreachable`).
 * - `catalogue` (default): every catalogue title, R(i) from `rewards` where it has one, else `minReward`
 *   (the reference decodes over its EVAL tree, built from every catalogue title, and Flowloop uses one
 *   tree for training and decoding: a title without a count must stay reachable, and a zero reward would
 *   make its log R_p = −∞ in the GFN term). Titles of `rewards` not in the catalogue are kept too.
 * A reward ≤ 0 (or not finite) in `rewards` is an error naming the title and `source`: docs/methods.md §A2/A3 has
 * no zero-reward title (F(s) = Σ R(i) > 0 on every node), so it is never silently replaced.
 */
export function catalogueRewards(
  catalogueTitles: string[],
  rewards: TitleRewards,
  minReward: number,
  treeTitles: TreeTitles = 'catalogue',
  source = 'the reward file',
): TitleRewards & { filled: number; unreachable: string[] } {
  const byTitle = new Map<string, number>();
  rewards.titles.forEach((t, i) => {
    const r = rewards.rewards[i];
    if (!(r > 0) || !Number.isFinite(r))
      throw new Error(
        `reward of ${JSON.stringify(t)} in ${source} is ${r}: every title in the tree needs a reward > 0 (docs/methods.md §A2/A3); leave the title out instead`,
      );
    byTitle.set(t, r);
  });
  const titles: string[] = [];
  const vals: number[] = [];
  const seen = new Set<string>();
  const unreachable: string[] = [];
  let filled = 0;
  const order = treeTitles === 'counted' ? rewards.titles : [...catalogueTitles, ...rewards.titles];
  for (const t of order) {
    if (seen.has(t)) continue;
    seen.add(t);
    const r = byTitle.get(t);
    titles.push(t);
    if (r === undefined) {
      vals.push(minReward);
      filled++;
    } else vals.push(r);
  }
  if (treeTitles === 'counted') for (const t of new Set(catalogueTitles)) if (!byTitle.has(t)) unreachable.push(t);
  return { titles, rewards: Float64Array.from(vals), filled, unreachable };
}

/**
 * docs/methods.md §A2 user-supplied `{title: reward}` file for a tree: `readRewardFile` (JSON, numbers, ≥ 0, no
 * newline in a title; located errors), then every reward must be > 0 — a 0 is a LocatedError at
 * `file:line:col` naming the title (a zero-reward title has no flow: log R_p = −∞).
 */
export function readPositiveRewardFile(file: string): TitleRewards {
  const r = readRewardFile(file);
  const bad = r.titles.findIndex((_, i) => !(r.rewards[i] > 0));
  if (bad < 0) return r;
  const title = r.titles[bad];
  let where = file;
  try {
    const text = readFileSync(file, 'utf8');
    const node = findNodeAtLocation(parseTree(text)!, [title]);
    if (node) {
      const { line, col } = lineColAt(text, node.offset);
      where = `${file}:${line}:${col}`;
    }
  } catch {
    /* keep the bare file name */
  }
  throw new LocatedError(
    `reward of ${JSON.stringify(title)} is ${r.rewards[bad]}: every title needs a reward > 0 (docs/methods.md §A2/A3: a title without reward has no flow); leave the title out of the file instead`,
    where,
    `$[${JSON.stringify(title)}]`,
  );
}

/** docs/methods.md §A2 from a file: `{title: reward}` (title_counts.json or user-supplied), rewards > 0. */
export function loadRewards(file: string): TitleRewards {
  return readPositiveRewardFile(file);
}

/** P*(i) = R(i) / Σ_j R(j) (docs/methods.md §A2). */
export function targetDistribution(r: TitleRewards): Float64Array {
  let s = 0;
  for (const v of r.rewards) s += v;
  return r.rewards.map((v) => v / s);
}
