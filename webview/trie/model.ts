/**
 * The trie behind the flow explorer, rebuilt from `trie-snapshot` events (core/experiment/events.ts):
 * flat arrays indexed by a dense node index, children sorted by target flow F(s) descending (METHODS A3),
 * and one policy-probability array per checkpoint (NaN where a snapshot did not measure a node).
 * Node ids are stable for one dataset + tokenizer, so the structure is the union of all snapshots' nodes.
 */
import type { TrieSnapshotEvent, TrieSnapshotNode } from '../../core/experiment/events';

export interface Checkpoint {
  label: string;
  step: number;
  /** policy[i] = the policy's probability of reaching node i's prefix at this checkpoint (NaN = not measured). */
  policy: Float64Array;
  hasPolicy: boolean;
}

export class TrieModel {
  readonly size: number;
  /** Node id (the core trie's node index) of each dense index. */
  readonly id: Int32Array;
  readonly parent: Int32Array; // dense index, -1 for the root
  readonly depth: Int32Array;
  readonly flow: Float64Array; // F(s), F(root) = 1
  readonly rp: Float64Array; // R_p = F(s)/F(parent)
  readonly text: string[];
  readonly title: (string | undefined)[];
  readonly terminal: Uint8Array;
  /** Children of i = childList[childStart[i] .. childStart[i+1]), sorted by flow descending. */
  readonly childStart: Int32Array;
  readonly childList: Int32Array;
  readonly root: number;
  readonly checkpoints: Checkpoint[] = [];
  readonly index = new Map<number, number>();
  dataset = '';
  tokenizer = '';
  totalNodes = 0;

  constructor(snapshots: TrieSnapshotEvent[]) {
    const byId = new Map<number, TrieSnapshotNode>();
    for (const s of snapshots) for (const n of s.nodes) if (!byId.has(n.id)) byId.set(n.id, n);
    const nodes = [...byId.values()];
    const size = (this.size = nodes.length);
    this.id = new Int32Array(size);
    this.parent = new Int32Array(size);
    this.depth = new Int32Array(size);
    this.flow = new Float64Array(size);
    this.rp = new Float64Array(size);
    this.text = new Array(size);
    this.title = new Array(size);
    this.terminal = new Uint8Array(size);
    nodes.forEach((n, i) => {
      this.index.set(n.id, i);
      this.id[i] = n.id;
      this.flow[i] = n.flow;
      this.rp[i] = n.rp;
      this.text[i] = n.text;
      this.title[i] = n.title;
      this.terminal[i] = n.terminal ? 1 : 0;
    });
    let root = -1;
    const counts = new Int32Array(size + 1);
    nodes.forEach((n, i) => {
      const p = n.parent < 0 ? -1 : this.index.get(n.parent) ?? -2;
      if (p === -2) throw new Error(`trie-snapshot: node ${n.id} names parent ${n.parent}, which no snapshot contains`);
      this.parent[i] = p;
      if (p === -1) {
        if (root !== -1) throw new Error(`trie-snapshot: two roots (${this.id[root]} and ${n.id})`);
        root = i;
      } else counts[p]++;
    });
    if (root === -1 && size > 0) throw new Error('trie-snapshot: no root node (parent -1)');
    this.root = root;
    this.childStart = new Int32Array(size + 1);
    for (let i = 0; i < size; i++) this.childStart[i + 1] = this.childStart[i] + counts[i];
    this.childList = new Int32Array(Math.max(0, size - 1));
    const fill = this.childStart.slice(0, size);
    for (let i = 0; i < size; i++) if (this.parent[i] >= 0) this.childList[fill[this.parent[i]]++] = i;
    for (let i = 0; i < size; i++) {
      const a = this.childStart[i], b = this.childStart[i + 1];
      if (b - a > 1) this.childList.subarray(a, b).sort((x, y) => this.flow[y] - this.flow[x] || x - y);
    }
    // depth by a walk from the root (parents may come after children in the node list)
    const stack = root >= 0 ? [root] : [];
    while (stack.length) {
      const v = stack.pop()!;
      for (let k = this.childStart[v]; k < this.childStart[v + 1]; k++) {
        const c = this.childList[k];
        this.depth[c] = this.depth[v] + 1;
        stack.push(c);
      }
    }
    for (const s of snapshots) this.addCheckpoint(s);
  }

  /** Adds one checkpoint's policy overlay; returns false when the snapshot holds nodes unknown to the model (rebuild). */
  addCheckpoint(s: TrieSnapshotEvent): boolean {
    const policy = new Float64Array(this.size).fill(NaN);
    let hasPolicy = false;
    for (const n of s.nodes) {
      const i = this.index.get(n.id);
      if (i === undefined) return false;
      if (typeof n.policy === 'number') {
        policy[i] = n.policy;
        hasPolicy = true;
      }
    }
    this.dataset = s.dataset;
    this.tokenizer = s.tokenizer;
    this.totalNodes = Math.max(this.totalNodes, s.totalNodes);
    this.checkpoints.push({ label: s.checkpoint, step: s.step, policy, hasPolicy });
    return true;
  }

  children(i: number): Int32Array {
    return this.childList.subarray(this.childStart[i], this.childStart[i + 1]);
  }

  /** Ancestors from the root to i (inclusive). */
  pathTo(i: number): number[] {
    const out: number[] = [];
    for (let v = i; v >= 0; v = this.parent[v]) out.push(v);
    return out.reverse();
  }

  /** Decoded prefix text of node i (concatenated token texts from the root). */
  prefixText(i: number): string {
    return this.pathTo(i).slice(1).map((v) => this.text[v]).join('');
  }

  /**
   * Title search: an exact (case-insensitive) title match first, else the substring match with the
   * largest flow. Returns the terminal node's index or -1.
   */
  findTitle(query: string): number {
    const q = query.trim().toLowerCase();
    if (!q) return -1;
    let best = -1;
    for (let i = 0; i < this.size; i++) {
      const t = this.title[i];
      if (!this.terminal[i] || !t) continue;
      const tl = t.toLowerCase();
      if (tl === q) return i;
      if (tl.includes(q) && (best < 0 || this.flow[i] > this.flow[best])) best = i;
    }
    return best;
  }
}
