/**
 * Full-vocabulary (unconstrained) sampling of GFN training paths — the reference's RQ1 training
 * (without_history/gfn/utils.py): the policy samples any token; a path that leaves the title tree gets
 * ℓ* = −15 for every token from the first invalid one on and the non-terminal log-reward at every state
 * (docs/methods.md §A4: log_r[t] = −15 + Σ_{j<t} ℓ*_j), so sub-trajectory balance pushes the policy's probability
 * of invalid tokens down. A path that ends with the terminal at a title node is scored as usual.
 */
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { StepPolicy } from '../decode';
import type { Rng } from '../util/random';
import { NON_TERMINAL_LOG_R, subtbLogRewards } from './subtb';
import type { GfnSample } from './objective';

export interface FreeSample extends GfnSample {
  /** Trie title index when the path is a complete valid title, else -1. */
  titleIndex: number;
}

/** docs/methods.md §A4 log-rewards of an arbitrary sampled path (policy ids, terminal included if it ended). */
export function freePathLogRewards(trie: PrefixTree, vocab: PolicyVocab, tokens: number[]): FreeSample {
  const ell: number[] = [];
  let node = 0;
  let k = tokens.length;
  const ended = k > 0 && tokens[k - 1] === vocab.terminal;
  if (ended) k--;
  for (let j = 0; j < k; j++) {
    const child = node >= 0 ? trie.child(node, vocab.toTokenizer(tokens[j])) : -1;
    ell.push(child >= 0 ? trie.logRp(child) : NON_TERMINAL_LOG_R);
    node = child;
  }
  const input = tokens.slice(0, k);
  const leaf = ended && node >= 0 ? trie.child(node, vocab.toTokenizer(vocab.terminal)) : -1;
  if (leaf >= 0 && trie.titleOf[leaf] >= 0) return { input, logR: subtbLogRewards(ell, trie.logRp(leaf)), titleIndex: trie.titleOf[leaf] };
  // not a title: every state keeps the non-terminal log-reward
  const logR: number[] = [];
  let cum = 0;
  for (let t = 0; t <= k; t++) {
    logR.push(NON_TERMINAL_LOG_R + cum);
    if (t < k) cum += ell[t];
  }
  return { input, logR, titleIndex: -1 };
}

/** One full-vocabulary sample per history (pad and BOS excluded), at most `maxTokens` tokens before the terminal. */
export async function sampleUnconstrained(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  histories: number[][],
  opts: { temperature: number; rng: Rng; maxTokens: number },
): Promise<FreeSample[]> {
  const n = histories.length;
  const tokens: number[][] = histories.map(() => []);
  const done = new Uint8Array(n);
  const inv = 1 / opts.temperature;
  const w = new Float64Array(vocab.size);
  for (let step = 0; step <= opts.maxTokens; step++) {
    const active: number[] = [];
    for (let i = 0; i < n; i++) if (!done[i]) active.push(i);
    if (!active.length) break;
    const lps = await policy.nextLogProbs(
      active.map((i) => histories[i]),
      active.map((i) => tokens[i]),
    );
    active.forEach((i, a) => {
      const lp = lps[a];
      let mx = -Infinity;
      for (let v = 2; v < vocab.size; v++) mx = Math.max(mx, lp[v] * inv);
      w[0] = 0;
      w[1] = 0;
      for (let v = 2; v < vocab.size; v++) w[v] = Math.exp(lp[v] * inv - mx);
      // the last allowed step can only terminate
      const tok = step === opts.maxTokens ? vocab.terminal : opts.rng.categorical(w);
      tokens[i].push(tok);
      if (tok === vocab.terminal) done[i] = 1;
    });
  }
  return tokens.map((t) => freePathLogRewards(trie, vocab, t));
}
