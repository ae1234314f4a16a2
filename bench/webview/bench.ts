/**
 * Trie view benchmark: from the same input (the plain `trie-snapshot` event of the whole Video_Games tree,
 * ~34k nodes, already in the page) to first paint, in headless Chromium (playwright-core, /usr/bin/chromium),
 * a fresh page per measurement:
 *  - ours: the timer starts, the snapshot is packed (webview/contract.ts packTrieSnapshot, what the
 *    extension host does before posting; bundled into the page) and posted as `init`, the view models,
 *    lays out and builds its DOM (it draws the nodes of at least a pixel and aggregates the rest);
 *  - ours, unpacked: the same event posted as is (the path of a host that does not pack);
 *  - naive: a plain d3 icicle drawing every node (bench/webview/naive.ts), the event posted as is;
 *  - naive, culled: the same icicle skipping rects under a pixel (it draws about as many nodes as ours).
 * First paint = the first animation frame after the view set body[data-rendered]. Repeats alternate the
 * four (ours, naive, ours unpacked, naive culled); ratios are taken within a repeat (peer / ours, above 1:
 * ours faster). Writes bench/results/<date>-webview.json.
 *   node --import tsx bench/webview/bench.ts   (BENCH_REPEATS=7)
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { TrieSnapshotEvent } from '../../core/experiment/events';
import { loadTokenizer } from '../../core/tokenize';
import { buildTrieFromRewardFile } from '../../core/trie';
import { bundleView, launch, openView } from '../../harness/webviewPage';
import { ROOT, shared } from '../../harness/paths';
import { fmtSpread, loadAverage, median, recordResult, spread } from '../results';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);

/** One cold measurement: fresh page, start the timer, (pack,) post init, wait for the frame after the DOM is built. */
type Measure = { ms: number; drawn: number; marks: Record<string, number> };

async function firstPaint(
  browser: Browser,
  bundle: { js: string; css: string },
  snap: TrieSnapshotEvent,
  pack: boolean,
  zoomMs?: number[],
): Promise<Measure> {
  const v = await openView(browser, 'trie', bundle, { width: 1200, height: 800 });
  await v.page.waitForFunction(() => (window as unknown as { __sent: unknown[] }).__sent.length > 0); // ready posted
  // the input is in the page before any timer starts (the same object for every view)
  await v.page.evaluate((s) => {
    (window as unknown as { __snap: unknown }).__snap = s;
  }, snap);
  const r = await v.page.evaluate(
    (packIt) =>
      new Promise<Measure>((resolve) => {
        const w = window as unknown as { __snap: unknown; __flowloopPack?: (s: unknown) => unknown };
        const obs = new MutationObserver(() => {
          if (!document.body.dataset.rendered) return;
          obs.disconnect();
          requestAnimationFrame(() =>
            resolve({
              ms: performance.now() - t0,
              drawn: Number(document.body.dataset.drawn ?? document.querySelectorAll('g.node').length),
              // the view's own marks (webview/trie/main.ts), as ms after the timer started
              marks: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime - t0)])),
            }),
          );
        });
        obs.observe(document.body, { attributes: true, attributeFilter: ['data-rendered'] });
        const t0 = performance.now();
        const sent = packIt ? w.__flowloopPack!(w.__snap) : w.__snap;
        window.postMessage({ type: 'init', state: { view: 'trie', snapshots: [sent] } }, '*');
      }),
    pack,
  );
  if (zoomMs) {
    // responsiveness: click the tallest node of the second column (zoom into that prefix), 5 times down the tree
    for (let i = 0; i < 5; i++) {
      zoomMs.push(
        await v.page.evaluate(
          () =>
            new Promise<number>((resolve) => {
              const col1 = [...document.querySelectorAll('#trie g.node:not(.agg):not(.missing)')].filter((g) =>
                g.getAttribute('transform')!.startsWith('translate(120,'),
              );
              const target = col1.sort(
                (a, b) => Number(b.querySelector('rect')!.getAttribute('height')) - Number(a.querySelector('rect')!.getAttribute('height')),
              )[0];
              const r0 = Number(document.body.dataset.rendered);
              const obs = new MutationObserver(() => {
                if (Number(document.body.dataset.rendered) <= r0) return;
                obs.disconnect();
                requestAnimationFrame(() => resolve(performance.now() - t0));
              });
              obs.observe(document.body, { attributes: true, attributeFilter: ['data-rendered'] });
              const t0 = performance.now();
              target.dispatchEvent(new MouseEvent('click', { bubbles: true }));
            }),
        ),
      );
    }
  }
  await v.page.close();
  return r;
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const tBuild = performance.now();
  const tok = loadTokenizer('qwen2.5');
  const trie = buildTrieFromRewardFile(shared('amazon', 'Video_Games', 'title_counts.json'), tok);
  const snapshot: TrieSnapshotEvent = {
    type: 'trie-snapshot',
    runId: 'bench',
    t: Date.now(),
    checkpoint: 'target only',
    step: 0,
    dataset: 'Video_Games',
    tokenizer: tok.name,
    totalNodes: trie.size,
    nodes: trie.snapshot(trie.size, (ids) => tok.decode(ids)),
  };
  const buildMs = performance.now() - tBuild;
  const bundleJs = (entry: string, cull?: boolean) =>
    build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      minify: true,
      logLevel: 'silent',
      define: cull === undefined ? undefined : { __CULL__: String(cull) },
    }).then((r) => r.outputFiles[0].text);
  const [browser, view, packJs, naiveJs, culledJs] = await Promise.all([
    launch(),
    bundleView('trie'),
    bundleJs('bench/webview/pack.ts'),
    bundleJs('bench/webview/naive.ts', false),
    bundleJs('bench/webview/naive.ts', true),
  ]);
  // ours with the host's packing step available in the page (the view's own bundle is unchanged)
  const ours = { js: `${packJs}\n${view.js}`, css: view.css };
  const naive = { js: naiveJs, css: view.css };
  const culled = { js: culledJs, css: view.css };
  try {
    await firstPaint(browser, ours, snapshot, true); // warm-up (Chromium caches)
    const t = { ours: [] as number[], unpacked: [] as number[], naive: [] as number[], culled: [] as number[], zoom: [] as number[] };
    const ratio = { naive: [] as number[], culled: [] as number[] };
    const drawn = { ours: 0, naive: 0, culled: 0 };
    const marks: Record<string, number[]> = {};
    for (let i = 0; i < REPEATS; i++) {
      const a = await firstPaint(browser, ours, snapshot, true, t.zoom);
      t.ours.push(a.ms);
      drawn.ours = a.drawn;
      for (const [k, x] of Object.entries(a.marks)) (marks[k] ??= []).push(x);
      const b = await firstPaint(browser, naive, snapshot, false);
      t.naive.push(b.ms);
      drawn.naive = b.drawn;
      t.unpacked.push((await firstPaint(browser, view, snapshot, false)).ms);
      const c = await firstPaint(browser, culled, snapshot, false);
      t.culled.push(c.ms);
      drawn.culled = c.drawn;
      ratio.naive.push(b.ms / a.ms);
      ratio.culled.push(c.ms / a.ms);
    }
    const ms = (xs: number[]) => spread(xs, 0);
    const r = { naive: spread(ratio.naive, 1), culled: spread(ratio.culled, 1) };
    const nodes = snapshot.nodes.length;
    recordResult('webview', loadBefore, {
      summary:
        `trie view, Video_Games (${nodes} nodes), plain snapshot in the page → first paint, ${REPEATS} alternating repeats: ` +
        `ours (packing included, ${drawn.ours} drawn) ${fmtSpread(ms(t.ours), ' ms')}; naive icicle (${drawn.naive} drawn) ${fmtSpread(ms(t.naive), ' ms')} = ${fmtSpread(r.naive, '×')} ours; ` +
        `naive culled (${drawn.culled} drawn) ${fmtSpread(ms(t.culled), ' ms')} = ${fmtSpread(r.culled, '×')} ours`,
      protocol:
        'each measurement a fresh page; the same plain trie-snapshot event is put in the page first; timer → (ours: packTrieSnapshot) → postMessage init → view draws → first animation frame after body[data-rendered]; repeats alternate ours, naive, ours unpacked, naive culled; ratio = peer / ours within a repeat',
      views: {
        ours: 'webview/trie (aggregates nodes under a pixel), snapshot packed by webview/contract.ts packTrieSnapshot inside the timer, as extension/viewState.ts sends it',
        oursUnpacked: 'webview/trie, the plain event posted as is',
        naive: 'bench/webview/naive.ts: d3 stratify + partition of every node, one SVG rect per node',
        naiveCulled: 'bench/webview/naive.ts built with __CULL__: the same, rects under one pixel skipped',
      },
      firstPaintMs: { ours: ms(t.ours), oursUnpacked: ms(t.unpacked), naive: ms(t.naive), naiveCulled: ms(t.culled) },
      ratio: r,
      drawnNodes: drawn,
      /** Click on a prefix → next frame after the zoomed icicle is drawn (5 successive zooms per repeat). */
      zoomClickMs: ms(t.zoom),
      /** Median ms after the timer started at which our view reached each step (message received, model built, layout, DOM). */
      stepsMs: Object.fromEntries(Object.entries(marks).map(([k, xs]) => [k, median(xs)])),
      nodes,
      snapshotBuildMs: Math.round(buildMs),
      targetMs: 1000,
      pass: median(t.ours) <= 1000,
      dataset: 'Video_Games',
      tokenizer: tok.name,
      versions: { node: process.versions.node, chromium: browser.version() },
      repeats: REPEATS,
    });
  } finally {
    await browser.close();
  }
}
void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
