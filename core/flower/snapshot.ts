/**
 * Trie snapshots for the trie view: the top nodes by target flow with the policy's
 * probability of reaching each prefix, P_π(s) = Π π(y_j | s_j) along the path (full-vocabulary
 * probabilities, docs/methods.md §A4), averaged over a few histories (or the empty history for RQ1).
 */
import type { TrieSnapshotNode } from '../experiment/events';
import type { PrefixTree } from '../trie';
import type { Tokenizer } from '../tokenize';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { StepPolicy } from '../decode';

/** Nodes of `trie.snapshot(maxNodes)` (top flow, ties shallower first), same selection rule. */
export function topFlowNodes(trie: PrefixTree, maxNodes: number): number[] {
  const idx = Array.from({ length: trie.size }, (_, i) => i);
  idx.sort((a, b) => trie.flow[b] - trie.flow[a] || trie.depth[a] - trie.depth[b] || a - b);
  return idx.slice(0, Math.min(maxNodes, trie.size)).sort((a, b) => a - b);
}

/**
 * Policy probability of reaching each node in `nodes` (ancestor-closed), averaged over `histories`.
 * One policy call: a row per (history, parent node with a selected child).
 */
export async function policyPrefixProbs(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  histories: number[][],
  nodes: number[],
): Promise<Map<number, number>> {
  const set = new Set(nodes);
  const parents = [...new Set(nodes.filter((v) => v > 0).map((v) => trie.parent[v]))].sort((a, b) => a - b);
  const prefOf = new Map(parents.map((p) => [p, vocab.encode(trie.prefix(p))]));
  const hs: number[][] = [];
  const ps: number[][] = [];
  for (const h of histories)
    for (const p of parents) {
      hs.push(h);
      ps.push(prefOf.get(p)!);
    }
  const lps = await policy.nextLogProbs(hs, ps);
  const out = new Map<number, number>();
  const H = histories.length;
  // per history: P(node) = P(parent) · π(token | parent), nodes in BFS order (ids ascending = breadth-first)
  const sorted = [...set].sort((a, b) => a - b);
  const acc = new Map<number, number>();
  for (let h = 0; h < H; h++) {
    const p = new Map<number, number>([[0, 1]]);
    for (const v of sorted) {
      if (v === 0) continue;
      const par = trie.parent[v];
      const row = h * parents.length + parents.indexOf(par);
      const pid = vocab.toPolicy(trie.token[v]);
      p.set(v, (p.get(par) ?? 0) * Math.exp(lps[row][pid]));
    }
    for (const [v, x] of p) acc.set(v, (acc.get(v) ?? 0) + x);
  }
  for (const [v, x] of acc) out.set(v, x / H);
  return out;
}

/** The snapshot nodes with the policy's probability filled in. */
export async function policySnapshot(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  tok: Tokenizer,
  histories: number[][],
  maxNodes: number,
): Promise<TrieSnapshotNode[]> {
  const nodes = topFlowNodes(trie, maxNodes);
  const probs = await policyPrefixProbs(policy, trie, vocab, histories.length ? histories : [[]], nodes);
  return trie.snapshot(
    maxNodes,
    (ids) => tok.decode(ids),
    (v) => probs.get(v) ?? NaN,
  );
}
