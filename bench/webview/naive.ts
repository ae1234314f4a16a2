/**
 * Peers for bench/webview/bench.ts: the straightforward trie icicle — d3 stratify + partition over EVERY
 * node of the snapshot, one SVG rect per node, no aggregation, no laziness. Built twice: `__CULL__` false
 * draws every node; true skips rects under one pixel tall (the cheapest way a plain icicle draws about as
 * few nodes as ours). Same message protocol (waits for `init`, sets body[data-rendered] after drawing) so
 * the bench times all views the same way.
 */
declare const __CULL__: boolean;
import { partition, stratify } from 'd3-hierarchy';
import type { TrieSnapshotNode } from '../../core/experiment/events';

const NS = 'http://www.w3.org/2000/svg';
window.addEventListener('message', (e: MessageEvent) => {
  const m = e.data as { type?: string; state?: { snapshots?: { nodes: TrieSnapshotNode[] }[] } };
  if (m?.type !== 'init' || !m.state?.snapshots?.length) return;
  const nodes = m.state.snapshots[m.state.snapshots.length - 1].nodes;
  requestAnimationFrame(() => {
    const root = stratify<TrieSnapshotNode>()
      .id((n) => String(n.id))
      .parentId((n) => (n.parent < 0 ? null : String(n.parent)))(nodes);
    root.each((n) => {
      (n as { value?: number }).value = n.data.flow;
    });
    const width = 1000,
      height = 600;
    const laid = partition<TrieSnapshotNode>().size([height, (root.height + 1) * 120])(root);
    const svgEl = document.createElementNS(NS, 'svg');
    svgEl.setAttribute('width', String(width));
    svgEl.setAttribute('height', String(height));
    let drawn = 0;
    for (const n of laid.descendants()) {
      if (__CULL__ && n.x1 - n.x0 < 1) continue;
      drawn++;
      const r = document.createElementNS(NS, 'rect');
      r.setAttribute('x', String(n.y0));
      r.setAttribute('y', String(n.x0));
      r.setAttribute('width', '119');
      r.setAttribute('height', String(Math.max(0, n.x1 - n.x0)));
      svgEl.appendChild(r);
    }
    document.getElementById('app')!.replaceChildren(svgEl);
    document.body.dataset.rendered = '1';
    document.body.dataset.drawn = String(drawn);
  });
});
(window as unknown as { acquireVsCodeApi?: () => { postMessage(m: unknown): void } })
  .acquireVsCodeApi?.()
  .postMessage({ type: 'ready', view: 'trie', protocol: 1 });
