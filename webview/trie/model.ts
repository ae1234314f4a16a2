/**
 * The trie behind the flow explorer, rebuilt from `trie-snapshot` events (core/experiment/events.ts):
 * flat arrays indexed by a dense node index, children sorted by target flow F(s) descending (docs/methods.md §A3),
 * and one policy-probability array per checkpoint (NaN where a snapshot did not measure a node).
 * Node ids are stable for one dataset + tokenizer, so the structure is the union of all snapshots' nodes.
 */
import type { TrieSnapshotEvent } from '../../core/experiment/events';
import type { PackedTrieSnapshot } from '../contract';

export type AnySnapshot = TrieSnapshotEvent | PackedTrieSnapshot;

export interface Checkpoint {
  label: string;
  step: number;
  /** policy[i] = the policy's probability of reaching node i's prefix at this checkpoint (NaN = not measured). */
  policy: Float64Array;
  hasPolicy: boolean;
}

/** A snapshot in columns (packed snapshots are used as they are; events are converted once). */
interface Columns {
  meta: Omit<PackedTrieSnapshot, 'id' | 'parent' | 'token' | 'flow' | 'rp' | 'policy' | 'terminal' | 'strings' | 'type'>;
  id: Int32Array;
  parent: Int32Array;
  flow: Float64Array;
  rp: Float64Array;
  policy?: Float64Array;
  terminal: Uint8Array;
  text: string[];
  title: (string | null | undefined)[];
}

function columns(s: AnySnapshot): Columns {
  const meta = {
    runId: s.runId,
    t: s.t,
    checkpoint: s.checkpoint,
    step: s.step,
    dataset: s.dataset,
    tokenizer: s.tokenizer,
    totalNodes: s.totalNodes,
  };
  if (s.type === 'packed-trie-snapshot') {
    const { text, title } = JSON.parse(s.strings) as { text: string[]; title: (string | null)[] };
    return { meta, id: s.id, parent: s.parent, flow: s.flow, rp: s.rp, policy: s.policy, terminal: s.terminal, text, title };
  }
  const n = s.nodes.length;
  const c: Columns = {
    meta,
    id: new Int32Array(n),
    parent: new Int32Array(n),
    flow: new Float64Array(n),
    rp: new Float64Array(n),
    terminal: new Uint8Array(n),
    text: new Array(n),
    title: new Array(n),
  };
  s.nodes.forEach((x, i) => {
    c.id[i] = x.id;
    c.parent[i] = x.parent;
    c.flow[i] = x.flow;
    c.rp[i] = x.rp;
    c.terminal[i] = x.terminal ? 1 : 0;
    c.text[i] = x.text;
    c.title[i] = x.title;
    if (typeof x.policy === 'number') (c.policy ??= new Float64Array(n).fill(NaN))[i] = x.policy;
  });
  return c;
}

export class TrieModel {
  size = 0;
  /** Node id (the core trie's node index) of each dense index. */
  id = new Int32Array(0);
  parent = new Int32Array(0); // dense index, -1 for the root
  depth = new Int32Array(0);
  flow = new Float64Array(0); // F(s), F(root) = 1
  rp = new Float64Array(0); // R_p = F(s)/F(parent)
  text: string[] = [];
  title: (string | undefined)[] = [];
  terminal = new Uint8Array(0);
  /** Children of i = childList[childStart[i] .. childStart[i+1]), sorted by flow descending. */
  childStart = new Int32Array(1);
  childList = new Int32Array(0);
  root = -1;
  readonly checkpoints: Checkpoint[] = [];
  /** Dense index of a node id (-1 if absent); ids are trie node indices, so an array serves as the map. */
  private byId = new Int32Array(0);
  dataset = '';
  tokenizer = '';
  totalNodes = 0;

  constructor(snapshots: AnySnapshot[]) {
    const cols = snapshots.map(columns);
    let maxId = -1;
    for (const c of cols) for (let i = 0; i < c.id.length; i++) if (c.id[i] > maxId) maxId = c.id[i];
    const byId = (this.byId = new Int32Array(maxId + 1).fill(-1));
    // union of all snapshots' nodes, first occurrence wins
    let size = 0;
    for (const c of cols) for (let i = 0; i < c.id.length; i++) if (byId[c.id[i]] < 0) byId[c.id[i]] = size++;
    this.size = size;
    this.id = new Int32Array(size);
    this.parent = new Int32Array(size);
    this.depth = new Int32Array(size);
    this.flow = new Float64Array(size);
    this.rp = new Float64Array(size);
    this.text = new Array(size);
    this.title = new Array(size);
    this.terminal = new Uint8Array(size);
    const parentId = new Int32Array(size);
    const filled = new Uint8Array(size);
    for (const c of cols) {
      for (let i = 0; i < c.id.length; i++) {
        const k = byId[c.id[i]];
        if (filled[k]) continue;
        filled[k] = 1;
        this.id[k] = c.id[i];
        parentId[k] = c.parent[i];
        this.flow[k] = c.flow[i];
        this.rp[k] = c.rp[i];
        this.text[k] = c.text[i];
        this.title[k] = c.title[i] ?? undefined;
        this.terminal[k] = c.terminal[i];
      }
    }
    let root = -1;
    const counts = new Int32Array(size + 1);
    for (let k = 0; k < size; k++) {
      const pid = parentId[k];
      const p = pid < 0 ? -1 : pid < byId.length ? byId[pid] : -1;
      if (pid >= 0 && p < 0) throw new Error(`trie-snapshot: node ${this.id[k]} names parent ${pid}, which no snapshot contains`);
      this.parent[k] = p;
      if (p === -1) {
        if (root !== -1) throw new Error(`trie-snapshot: two roots (${this.id[root]} and ${this.id[k]})`);
        root = k;
      } else counts[p]++;
    }
    if (root === -1 && size > 0) throw new Error('trie-snapshot: no root node (parent -1)');
    this.root = root;
    this.childStart = new Int32Array(size + 1);
    for (let i = 0; i < size; i++) this.childStart[i + 1] = this.childStart[i] + counts[i];
    this.childList = new Int32Array(Math.max(0, size - 1));
    const fill = this.childStart.slice(0, size);
    for (let i = 0; i < size; i++) if (this.parent[i] >= 0) this.childList[fill[this.parent[i]]++] = i;
    const flow = this.flow;
    for (let i = 0; i < size; i++) {
      const a = this.childStart[i],
        b = this.childStart[i + 1];
      if (b - a > 1) this.childList.subarray(a, b).sort((x, y) => flow[y] - flow[x] || x - y);
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
    for (const c of cols) this.addColumns(c);
  }

  /** Dense index of a node id, -1 if the model does not hold it. */
  indexOf(id: number): number {
    return id >= 0 && id < this.byId.length ? this.byId[id] : -1;
  }

  /** Adds one checkpoint's policy overlay; returns false when the snapshot holds nodes unknown to the model (rebuild). */
  addCheckpoint(s: AnySnapshot): boolean {
    return this.addColumns(columns(s));
  }

  private addColumns(c: Columns): boolean {
    const policy = new Float64Array(this.size).fill(NaN);
    let hasPolicy = false;
    for (let i = 0; i < c.id.length; i++) {
      const k = this.indexOf(c.id[i]);
      if (k < 0) return false;
      if (c.policy && !Number.isNaN(c.policy[i])) {
        policy[k] = c.policy[i];
        hasPolicy = true;
      }
    }
    this.dataset = c.meta.dataset;
    this.tokenizer = c.meta.tokenizer;
    this.totalNodes = Math.max(this.totalNodes, c.meta.totalNodes);
    this.checkpoints.push({ label: c.meta.checkpoint, step: c.meta.step, policy, hasPolicy });
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
    return this.pathTo(i)
      .slice(1)
      .map((v) => this.text[v])
      .join('');
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
