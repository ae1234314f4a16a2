/**
 * Allowed next tokens of a trie state (docs/methods.md §A7 constrained decoding), without any vocabulary-sized
 * allocation per step: the allowed set of a state is its children range in the flat PrefixTree, and each
 * child's policy id comes from a per-(trie, vocab) table built once.
 */
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';

const cache = new WeakMap<PrefixTree, WeakMap<PolicyVocab, Int32Array>>();

/** node -> policy id of the token on its incoming edge (-1 for the root). Built once per (trie, vocab). */
export function nodePolicyIds(trie: PrefixTree, vocab: PolicyVocab): Int32Array {
  let inner = cache.get(trie);
  if (!inner) {
    inner = new WeakMap();
    cache.set(trie, inner);
  }
  let table = inner.get(vocab);
  if (!table) {
    table = new Int32Array(trie.size);
    table[0] = -1;
    for (let v = 1; v < trie.size; v++) {
      const p = vocab.toPolicy(trie.token[v]);
      if (p < 0)
        throw new Error(`trie token ${trie.token[v]} (node ${v}) is not in the policy vocabulary (build the PolicyVocab from this trie)`);
      table[v] = p;
    }
    inner.set(vocab, table);
  }
  return table;
}

/** Maximum number of children of any node (the size of a per-state allowed-token buffer). */
export function maxChildren(trie: PrefixTree): number {
  let m = 0;
  for (let v = 0; v < trie.size; v++) if (trie.childCount[v] > m) m = trie.childCount[v];
  return m;
}

/**
 * Log-probs with temperature over the FULL policy vocabulary (docs/methods.md §A7: not renormalised over the
 * trie's children): log softmax(log p / T). Writes into `out` (length V) and returns it; T = 1 returns `lp`.
 */
export function temperatureLogProbs(lp: Float32Array, temperature: number, out: Float32Array): Float32Array {
  if (temperature === 1) return lp;
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 (got ${temperature})`);
  const inv = 1 / temperature;
  let max = -Infinity;
  for (let i = 0; i < lp.length; i++) {
    const x = lp[i] * inv;
    if (x > max) max = x;
  }
  let sum = 0;
  for (let i = 0; i < lp.length; i++) sum += Math.exp(lp[i] * inv - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < lp.length; i++) out[i] = lp[i] * inv - lse;
  return out;
}
