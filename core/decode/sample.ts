/**
 * docs/methods.md §A4 sampling of one title per training example from the policy restricted to the trie: at each
 * state the next token is drawn from softmax(log p / T) renormalised over the state's trie children (the
 * reference sets disallowed logits to −inf and samples). Draws use the seeded Rng.
 * When the policy offers incremental decoding sessions (docs/methods.md §A6; `hasSessions`), the unfinished samples
 * are the session's states (step 0: one state per history row, shared by that row's `count` samples), so
 * each step runs only the new tokens; the draws are the same as on the stateless path.
 */
import { yieldIfDue } from '../experiment/context';
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { Rng } from '../util/random';
import { hasSessions, type DecodeSession, type DecodeStats, type StepPolicy } from './policy';
import { maxChildren, nodePolicyIds } from './mask';

export interface SampleOptions {
  temperature: number;
  rng: Rng;
  /** Samples per history row (default 1). */
  count?: number;
  /** Stop (and drop the sample) after this many tokens; default: the trie's depth bound. */
  maxTokens?: number;
  stats?: DecodeStats;
}

export interface SampledTitle {
  /** Index of the history row this sample belongs to (samples are row-major: row 0's `count` first). */
  row: number;
  titleIndex: number;
  /** Policy ids of the path incl. the terminal (the policy's input for re-scoring). */
  tokens: number[];
  /** Trie nodes of the path (root excluded): `trie.logRp(node)` gives ℓ*_j of docs/methods.md §A4. */
  nodes: number[];
}

/** Sample `count` titles per history row from the policy, constrained to the trie. */
export async function sampleTitles(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  histories: number[][],
  opts: SampleOptions,
): Promise<SampledTitle[]> {
  const count = opts.count ?? 1;
  const T = opts.temperature;
  if (!(T > 0)) throw new Error(`sampling: temperature must be > 0 (got ${T})`);
  const { rng, stats } = opts;
  const now = () => performance.now();
  let t0 = now();
  const pid = nodePolicyIds(trie, vocab);
  const w = new Float64Array(Math.max(1, maxChildren(trie)));
  if (stats) stats.maskMs += now() - t0;
  const { childStart, childCount, titleOf } = trie;
  const inv = 1 / T;
  const n = histories.length * count;
  const node = new Int32Array(n); // current state per sample
  const tokens: number[][] = Array.from({ length: n }, () => []);
  const nodes: number[][] = Array.from({ length: n }, () => []);
  const done = new Uint8Array(n);
  let maxTokens = opts.maxTokens ?? 0;
  if (!maxTokens) for (let v = 0; v < trie.size; v++) maxTokens = Math.max(maxTokens, trie.depth[v]);
  if (n === 0) return [];
  const incremental = hasSessions(policy) ? policy : undefined;
  let session: DecodeSession | undefined;
  const stateOf = new Int32Array(n); // incremental: index of sample i's state in the session
  try {
    for (let step = 0; step < maxTokens; step++) {
      const active: number[] = [];
      for (let i = 0; i < n; i++) if (!done[i]) active.push(i);
      if (active.length === 0) break;
      t0 = now();
      await yieldIfDue(); // keep signals and IPC cancel messages flowing during long decodes
      let lps: Float32Array[];
      if (!incremental) {
        lps = await policy.nextLogProbs(
          active.map((i) => histories[Math.floor(i / count)]),
          active.map((i) => tokens[i]),
        );
      } else if (!session) {
        const start = await incremental.startSession(histories); // state r = history row r, shared by its samples
        session = start.session;
        lps = start.logProbs;
        for (let i = 0; i < n; i++) stateOf[i] = Math.floor(i / count);
      } else {
        const parents = new Int32Array(active.length);
        const toks = new Int32Array(active.length);
        for (let a = 0; a < active.length; a++) {
          const i = active[a];
          parents[a] = stateOf[i];
          toks[a] = tokens[i][tokens[i].length - 1];
          stateOf[i] = a;
        }
        lps = await session.step(parents, toks);
      }
      if (stats) {
        stats.policyMs += now() - t0;
        stats.steps++;
        stats.states += active.length;
      }
      for (let a = 0; a < active.length; a++) {
        const i = active[a];
        const lp = incremental ? lps[stateOf[i]] : lps[a];
        t0 = now();
        const c0 = childStart[node[i]],
          k = childCount[node[i]];
        const t1 = now();
        if (stats) stats.maskMs += t1 - t0;
        let max = -Infinity;
        for (let j = 0; j < k; j++) {
          const x = lp[pid[c0 + j]] * inv;
          w[j] = x;
          if (x > max) max = x;
        }
        let sum = 0;
        for (let j = 0; j < k; j++) {
          w[j] = Math.exp(w[j] - max);
          sum += w[j];
        }
        if (!(sum > 0) || !Number.isFinite(sum)) {
          sum = k;
          for (let j2 = 0; j2 < k; j2++) w[j2] = 1;
        } // all -inf: uniform
        let r = rng.next() * sum;
        let j = 0;
        for (; j < k - 1; j++) {
          r -= w[j];
          if (r < 0) break;
        }
        const c = c0 + j;
        node[i] = c;
        tokens[i].push(pid[c]);
        nodes[i].push(c);
        if (titleOf[c] >= 0 && trie.token[c] === trie.terminalToken) done[i] = 1;
        if (stats) stats.selectMs += now() - t1;
      }
    }
  } finally {
    session?.dispose();
  }
  const out: SampledTitle[] = [];
  for (let i = 0; i < n; i++) {
    if (!done[i]) continue; // hit maxTokens: not a catalogue title
    out.push({ row: Math.floor(i / count), titleIndex: titleOf[node[i]], tokens: tokens[i], nodes: nodes[i] });
  }
  return out;
}
