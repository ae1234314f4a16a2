/**
 * Icicle layout of the visible part of the trie (d3-hierarchy `partition`): columns = depth below the
 * focus, band height ∝ target flow F(s) (docs/methods.md §A3). Only what can be seen is put into the hierarchy:
 * children thinner than `minPx` are aggregated into one "+N more" node (expanded lazily when clicked),
 * and nothing deeper than the columns that fit is visited — so a ~30k-node trie lays out only a few
 * hundred to a few thousand rectangles.
 */
import { hierarchy, partition, type HierarchyRectangularNode } from 'd3-hierarchy';
import type { TrieModel } from './model';

/** What the layout's root shows: a node, or the tail of a node's children from rank `from` (an aggregate). */
export type Focus = { node: number } | { parent: number; from: number };

/** VisNode.node of an aggregate ("+N more") and of the flow not covered by the snapshot's nodes. */
export const AGG = -1;
export const MISSING = -2;

export interface VisNode {
  /** Dense node index for a real node; AGG for an aggregate; MISSING for children absent from the snapshot. */
  node: number;
  /** Aggregate: the parent whose children from rank `from` on are merged. */
  parent: number;
  from: number;
  count: number;
  flow: number;
}

export interface LayoutOptions {
  width: number;
  height: number;
  colWidth: number;
  minPx: number;
}

export interface Layout {
  nodes: HierarchyRectangularNode<VisNode>[];
  root: HierarchyRectangularNode<VisNode>;
  levels: number;
}

function aggregate(model: TrieModel, parent: number, from: number): VisNode {
  const ch = model.children(parent);
  let flow = 0;
  for (let k = from; k < ch.length; k++) flow += model.flow[ch[k]];
  return { node: -1, parent, from, count: ch.length - from, flow };
}

export function focusNode(model: TrieModel, f: Focus): VisNode {
  if ('node' in f) return { node: f.node, parent: model.parent[f.node], from: 0, count: 1, flow: model.flow[f.node] };
  return aggregate(model, f.parent, f.from);
}

/** Lays out the focus and `levels` columns below it. */
export function layoutIcicle(model: TrieModel, focus: Focus, o: LayoutOptions): Layout {
  const levels = Math.max(1, Math.floor(o.width / o.colWidth));
  const rootVis = focusNode(model, focus);
  const scale = o.height / (rootVis.flow || 1);
  // column of a node = its depth - depth0 (an aggregate focus sits one column left of its members)
  const depth0 = rootVis.node >= 0 ? model.depth[rootVis.node] : model.depth[rootVis.parent];

  // children of a real node, or the members of an aggregate, as (parent, first rank)
  const childrenOf = (v: VisNode): VisNode[] | undefined => {
    let parent: number, from: number, d: number;
    if (v.node >= 0) {
      parent = v.node;
      from = 0;
      d = model.depth[v.node] - depth0 + 1;
    } else if (v === rootVis) {
      parent = v.parent;
      from = v.from;
      d = 0; // an aggregate as the focus: its members form column 1
    } else return undefined; // aggregates inside the view expand only when clicked
    if (d >= levels) return undefined;
    if (v.flow * scale < o.minPx) return undefined;
    const ch = model.children(parent);
    const out: VisNode[] = [];
    let k = from;
    for (; k < ch.length; k++) {
      const c = ch[k];
      if (model.flow[c] * scale < o.minPx) break; // sorted by flow: the rest are smaller still
      out.push({ node: c, parent, from: 0, count: 1, flow: model.flow[c] });
    }
    if (k < ch.length) {
      const rest = aggregate(model, parent, k);
      if (rest.count === 1) out.push({ node: ch[k], parent, from: 0, count: 1, flow: model.flow[ch[k]] });
      else out.push(rest);
    }
    if (v.node >= 0) {
      // a snapshot holds only the heaviest nodes: show the flow of the children it left out
      let covered = 0;
      for (let j = 0; j < ch.length; j++) covered += model.flow[ch[j]];
      const deficit = v.flow - covered;
      if (deficit * scale >= o.minPx && deficit > 1e-9 * v.flow) out.push({ node: MISSING, parent, from: -1, count: 0, flow: deficit });
    }
    return out.length ? out : undefined;
  };

  const h = hierarchy<VisNode>(rootVis, childrenOf);
  h.each((n) => {
    (n as { value?: number }).value = n.data.flow;
  });
  const cols = h.height + 1;
  const root = partition<VisNode>()
    .size([o.height, cols * o.colWidth])
    .round(false)(h);
  return { nodes: root.descendants(), root, levels };
}
