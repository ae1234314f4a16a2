/**
 * The prefix tree of catalogue titles with flows (docs/methods.md §A3), in flat typed arrays: node 0 is the root,
 * nodes are numbered breadth-first, the children of a node are contiguous (childStart .. +childCount)
 * and sorted by token id, so the allowed next tokens of a state are one array range.
 */
import type { Tokenizer } from '../tokenize';
import type { TrieSnapshotNode } from '../experiment/events';

export type TitleEnd = 'separate' | 'joint';

export interface TrieBuildOptions {
  /**
   * docs/methods.md §A4 fix, title-end tokenization: `separate` (default, the reference's training tree)
   * = encode(title) + [terminal "\n"]; `joint` (the reference's SFT/eval tree) = encode(title + "\n") + [EOS].
   */
  titleEnd?: TitleEnd;
}

/** Token ids of one title as a path in the tree, ending with the terminal token (docs/methods.md §A3 / A4 fix). */
export function titleTokens(tok: Tokenizer, title: string, titleEnd: TitleEnd = 'separate'): number[] {
  if (titleEnd === 'joint') {
    const ids = tok.encode(title + '\n');
    ids.push(tok.eosId);
    return ids;
  }
  const ids = tok.encode(title);
  ids.push(tok.terminalId);
  return ids;
}

/**
 * Title indices sorted lexicographically by their id sequences (a shorter sequence before its extensions,
 * identical sequences by index). MSD radix by pairs of tokens: each run is sorted with a native Float64Array
 * sort of (token[pos]+1, token[pos+1]+1, index-in-run) packed into one exact double (0 = sequence ended);
 * runs that still tie recurse on the next pair. Falls back to a comparator sort when ids are too wide.
 */
export function lexicographicOrder(ids: Int32Array, off: Int32Array, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let maxTok = -1,
    minTok = 0;
  for (let i = 0; i < ids.length; i++) {
    const x = ids[i];
    if (x > maxTok) maxTok = x;
    if (x < minTok) minTok = x;
  }
  let idxBits = 1;
  while (2 ** idxBits < n) idxBits++;
  let tokBits = 1;
  while (2 ** tokBits <= maxTok + 1) tokBits++;
  if (minTok < 0 || 2 * tokBits + idxBits > 53) {
    const arr = Array.from(order).sort((a, b) => {
      const ia = off[a],
        ib = off[b];
      const la = off[a + 1] - ia,
        lb = off[b + 1] - ib;
      const m = la < lb ? la : lb;
      for (let k = 0; k < m; k++) {
        const d = ids[ia + k] - ids[ib + k];
        if (d !== 0) return d;
      }
      return la - lb || a - b;
    });
    order.set(arr);
    return order;
  }
  const T = 2 ** tokBits,
    I = 2 ** idxBits;
  const keys = new Float64Array(n);
  const scratch = new Int32Array(n);
  const at = (t: number, pos: number) => (pos < off[t + 1] - off[t] ? ids[off[t] + pos] + 1 : 0);
  const stack: number[] = [0, n, 0]; // runs [a, b) to sort from token position pos
  while (stack.length) {
    const pos = stack.pop()!,
      b = stack.pop()!,
      a = stack.pop()!;
    const m = b - a;
    const k = keys.subarray(0, m);
    for (let i = 0; i < m; i++) {
      const t = order[a + i];
      k[i] = (at(t, pos) * T + at(t, pos + 1)) * I + i;
    }
    k.sort();
    for (let i = 0; i < m; i++) scratch[i] = order[a + (k[i] % I)];
    order.set(scratch.subarray(0, m), a);
    for (let i = 0; i < m;) {
      const head = Math.floor(k[i] / I);
      let j = i + 1;
      while (j < m && Math.floor(k[j] / I) === head) j++;
      // still tied and both sequences go on past pos+1: sort the run on the next pair
      if (j - i > 1 && head % T !== 0) stack.push(a + i, a + j, pos + 2);
      i = j;
    }
  }
  return order;
}

export class PrefixTree {
  readonly size: number;
  /** Tokenizer id of the edge into the node (-1 for the root). */
  readonly token: Int32Array;
  readonly parent: Int32Array;
  readonly depth: Int32Array;
  readonly childStart: Int32Array;
  readonly childCount: Int32Array;
  /** F(s) = Σ R(i) over titles under s (docs/methods.md §A3). */
  readonly flow: Float64Array;
  /** Title index for terminal nodes, else -1 (titles whose token paths coincide share the first's node). */
  readonly titleOf: Int32Array;
  /** Title index -> its terminal node. */
  readonly leafOf: Int32Array;
  readonly titles: string[];
  /** The token of every terminal edge: the tokenizer's "\n" (`separate`) or its EOS (`joint`). */
  readonly terminalToken: number;
  readonly titleEnd: TitleEnd;
  /** Titles merged into another title's node because they tokenize identically: [merged, kept]. */
  readonly merged: [number, number][];

  private constructor(init: {
    token: Int32Array;
    parent: Int32Array;
    depth: Int32Array;
    childStart: Int32Array;
    childCount: Int32Array;
    flow: Float64Array;
    titleOf: Int32Array;
    leafOf: Int32Array;
    titles: string[];
    terminalToken: number;
    titleEnd: TitleEnd;
    merged: [number, number][];
  }) {
    this.size = init.token.length;
    this.token = init.token;
    this.parent = init.parent;
    this.depth = init.depth;
    this.childStart = init.childStart;
    this.childCount = init.childCount;
    this.flow = init.flow;
    this.titleOf = init.titleOf;
    this.leafOf = init.leafOf;
    this.titles = init.titles;
    this.terminalToken = init.terminalToken;
    this.titleEnd = init.titleEnd;
    this.merged = init.merged;
  }

  /** docs/methods.md §A3: tokenize each title alone, append the terminal, insert with its reward R(i). */
  static build(titles: string[], rewards: ArrayLike<number>, tok: Tokenizer, opts: TrieBuildOptions = {}): PrefixTree {
    const titleEnd = opts.titleEnd ?? 'separate';
    const seqs = titles.map((t) => titleTokens(tok, t, titleEnd));
    return PrefixTree.fromTokenIds(titles, seqs, rewards, titleEnd === 'joint' ? tok.eosId : tok.terminalId, titleEnd);
  }

  /**
   * docs/methods.md §A3 from pre-tokenized titles: `seqs[i]` = token ids of title i, ending with `terminalToken`
   * (which must not occur earlier in the sequence). Rewards must be finite and ≥ 0.
   * Sorts the titles lexicographically by ids, lays the tree out depth-first from the sorted run
   * (longest common prefix with the previous title), then renumbers it breadth-first.
   */
  static fromTokenIds(
    titles: string[],
    seqs: ArrayLike<number>[],
    rewards: ArrayLike<number>,
    terminalToken: number,
    titleEnd: TitleEnd = 'separate',
  ): PrefixTree {
    const n = titles.length;
    if (seqs.length !== n) throw new Error(`prefix tree: ${n} titles but ${seqs.length} token sequences`);
    if (rewards.length !== n) throw new Error(`prefix tree: ${n} titles but ${rewards.length} rewards`);
    // flatten
    const off = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) off[i + 1] = off[i] + seqs[i].length;
    const ids = new Int32Array(off[n]);
    for (let i = 0; i < n; i++) {
      const s = seqs[i];
      const o = off[i];
      const L = s.length;
      if (L === 0 || s[L - 1] !== terminalToken)
        throw new Error(
          `prefix tree: title ${i} ${JSON.stringify(titles[i])}: token sequence must end with the terminal token ${terminalToken}`,
        );
      for (let k = 0; k < L; k++) {
        const v = s[k];
        if (k < L - 1 && v === terminalToken)
          throw new Error(
            `prefix tree: title ${i} ${JSON.stringify(titles[i])} contains the terminal token ${terminalToken} before its end (a newline in the title?)`,
          );
        ids[o + k] = v;
      }
      const r = rewards[i];
      if (!(r >= 0) || !Number.isFinite(r))
        throw new Error(`prefix tree: title ${i} ${JSON.stringify(titles[i])}: reward must be a finite number ≥ 0 (got ${r})`);
    }
    const order = lexicographicOrder(ids, off, n);
    // Breadth-first layout straight from the sorted run: a title creates the nodes of its prefixes longer
    // than its longest common prefix (lcp) with the previous title. At each depth the new prefixes appear
    // in sorted order, which is breadth-first order, and a parent's children are consecutive.
    let maxLen = 0;
    for (let i = 0; i < n; i++) maxLen = Math.max(maxLen, off[i + 1] - off[i]);
    const lcps = new Int32Array(n);
    const perDepth = new Int32Array(maxLen + 2); // new nodes per depth (difference array first)
    for (let oi = 0; oi < n; oi++) {
      const t = order[oi];
      const o = off[t],
        L = off[t + 1] - o;
      let lcp = 0;
      if (oi > 0) {
        const pt = order[oi - 1];
        const po = off[pt],
          pL = off[pt + 1] - po;
        const m = L < pL ? L : pL;
        while (lcp < m && ids[o + lcp] === ids[po + lcp]) lcp++;
      }
      lcps[oi] = lcp;
      perDepth[lcp + 1]++;
      perDepth[L + 1]--;
    }
    const next = new Int32Array(maxLen + 2); // next free id per depth
    let count = 1;
    for (let d = 1; d <= maxLen; d++) {
      perDepth[d] += perDepth[d - 1];
      next[d] = count;
      count += perDepth[d];
    }
    next[maxLen + 1] = count;
    const token = new Int32Array(count),
      parent = new Int32Array(count),
      depth = new Int32Array(count);
    const childStart = new Int32Array(count),
      childCount = new Int32Array(count),
      titleOf = new Int32Array(count).fill(-1);
    const leafOf = new Int32Array(n);
    const merged: [number, number][] = [];
    const flow = new Float64Array(count);
    const pathNode = new Int32Array(maxLen + 1); // node at each depth on the current title's path
    token[0] = -1;
    parent[0] = -1;
    childStart[0] = 1;
    for (let oi = 0; oi < n; oi++) {
      const t = order[oi];
      const o = off[t],
        L = off[t + 1] - o;
      for (let d = lcps[oi] + 1; d <= L; d++) {
        const id = next[d]++;
        const p = pathNode[d - 1];
        if (childCount[p]++ === 0) childStart[p] = id;
        token[id] = ids[o + d - 1];
        parent[id] = p;
        depth[id] = d;
        childStart[id] = next[d + 1];
        pathNode[d] = id;
      }
      const leaf = pathNode[L];
      if (titleOf[leaf] >= 0) merged.push([t, titleOf[leaf]]);
      else titleOf[leaf] = t;
      leafOf[t] = leaf;
      flow[leaf] += rewards[t];
    }
    for (let i = count - 1; i > 0; i--) flow[parent[i]] += flow[i];
    return new PrefixTree({ token, parent, depth, childStart, childCount, flow, titleOf, leafOf, titles, terminalToken, titleEnd, merged });
  }

  /** Child of `node` along `token`, or -1 (binary search over the sorted children range). */
  child(node: number, token: number): number {
    let lo = this.childStart[node],
      hi = lo + this.childCount[node] - 1;
    const tk = this.token;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = tk[mid];
      if (v === token) return mid;
      if (v < token) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Node reached by a token prefix from the root, or -1. */
  walk(tokens: ArrayLike<number>): number {
    let node = 0;
    for (let i = 0; i < tokens.length && node >= 0; i++) node = this.child(node, tokens[i]);
    return node;
  }

  isTerminal(node: number): boolean {
    return this.titleOf[node] >= 0;
  }

  /** docs/methods.md §A3 process reward: log R_p = log F(node) / F(parent) (0 for the root). */
  logRp(node: number): number {
    const p = this.parent[node];
    return p < 0 ? 0 : Math.log(this.flow[node] / this.flow[p]);
  }

  /** Node ids root→terminal of a title (root excluded). */
  path(titleIndex: number): number[] {
    const out: number[] = [];
    for (let v = this.leafOf[titleIndex]; v > 0; v = this.parent[v]) out.push(v);
    return out.reverse();
  }

  /** Tokenizer ids of a title including its terminal token. */
  tokens(titleIndex: number): number[] {
    return this.path(titleIndex).map((v) => this.token[v]);
  }

  /** Token ids root→node (root excluded). */
  prefix(node: number): number[] {
    const out: number[] = [];
    for (let v = node; v > 0; v = this.parent[v]) out.push(this.token[v]);
    return out.reverse();
  }

  /** Target probability P*(i) = R(i)/ΣR of a title (docs/methods.md §A2), product of R_p along its path. */
  targetProb(titleIndex: number): number {
    return this.flow[this.leafOf[titleIndex]] / this.flow[0];
  }

  /**
   * docs/methods.md §A3 reference format (`reference_trie_qwen.json`): {prefixKey: {childTokenId: log R_p}}, root key
   * "first", other keys = token ids root→node joined by "-", natural log.
   */
  exportReference(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    const key: string[] = new Array(this.size);
    for (let v = 0; v < this.size; v++) {
      const p = this.parent[v];
      if (v > 0) key[v] = p === 0 ? String(this.token[v]) : key[p] + '-' + this.token[v];
      const c0 = this.childStart[v],
        c1 = c0 + this.childCount[v];
      if (c1 === c0) continue;
      const row: Record<string, number> = {};
      for (let c = c0; c < c1; c++) row[String(this.token[c])] = this.logRp(c);
      out[v === 0 ? 'first' : key[v]] = row;
    }
    return out;
  }

  /**
   * The top `maxNodes` nodes by flow (ties: shallower first), an ancestor-closed subtree since
   * F(parent) ≥ F(child); flows normalised so F(root) = 1, for the trie view (events.ts TrieSnapshotNode).
   * `policyProb(node)`, when given, is the policy's probability of reaching that prefix.
   */
  snapshot(maxNodes: number, decode: (ids: number[]) => string, policyProb?: (node: number) => number): TrieSnapshotNode[] {
    const k = Math.max(0, Math.min(maxNodes, this.size));
    const idx = Array.from({ length: this.size }, (_, i) => i);
    const { flow, depth } = this;
    idx.sort((a, b) => flow[b] - flow[a] || depth[a] - depth[b] || a - b);
    const chosen = idx.slice(0, k).sort((a, b) => a - b);
    const root = flow[0] > 0 ? flow[0] : 1;
    return chosen.map((v) => {
      const p = this.parent[v];
      const node: TrieSnapshotNode = {
        id: v,
        parent: p,
        token: this.token[v],
        text: v === 0 ? '' : decode([this.token[v]]),
        flow: flow[v] / root,
        rp: p < 0 ? 1 : flow[p] > 0 ? flow[v] / flow[p] : 0,
      };
      if (policyProb) node.policy = policyProb(v);
      if (this.titleOf[v] >= 0) {
        node.terminal = true;
        node.title = this.titles[this.titleOf[v]];
      }
      return node;
    });
  }
}
