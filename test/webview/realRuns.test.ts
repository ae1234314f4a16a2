import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompareViewState, LossViewState, TrieViewState } from '../../webview/contract';
import { fmt as fmtNum } from '../../webview/common/dom';
import { cellText } from '../../webview/compare/tables';
import { buildViewState, viewNotApplicable, applicableViews } from '../../extension/viewState';
import { buildRunPage, buildRunsState, siblingRuns } from '../../extension/runPage';
import { flattenMetrics, readEvents, readMetrics, readRunInfo } from '../../core/experiment/runStore';
import { runSingle } from '../../core/experiment/runner';
import { headline } from '../../core/experiment/headline';
import type { ProgressEvent } from '../../core/experiment/events';
import { buildSchema } from '../../core/experiment/schema';
import { BASELINES } from '../../core/experiment/baselines';
import { realRun, REAL_CONFIGS } from '../realRuns';
import { ROOT } from '../../harness/paths';
import { screenshot, type ViewPage } from '../../harness/webviewPage';
import { viewSuite } from './viewSuite';
import type { ViewName, ViewState } from '../../webview/contract';

/** Saves the page as test-artifacts/<name>.png (docs/screenshots/ with UPDATE_SCREENSHOTS=1), checks that it had no CSP violation or page error, and closes it. */
async function shotAndClose(v: ViewPage, name: string): Promise<void> {
  await screenshot(v.page, name);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
}

/**
 * Ends a test on a view of real runs: its screenshot (dark theme), then the same state in the light theme once
 * `ready` shows, saved as <name>-light.png (README: light and dark).
 */
async function bothThemes(
  v: ViewPage,
  view: ViewName,
  state: ViewState,
  name: string,
  size: { width: number; height: number },
  ready: string,
): Promise<void> {
  await shotAndClose(v, name);
  const light = await views.open(view, { ...size, theme: 'light' });
  await light.send({ type: 'init', state });
  await light.page.waitForSelector(ready, { timeout: 60_000 });
  await light.page.waitForFunction(() => [...document.images].every((i) => i.complete), undefined, { timeout: 60_000 });
  await shotAndClose(light, `${name}-light`);
}

// The views on runs made here (test/realRuns.ts: the RQ1 demo, the quick sequential run, AFL with the
// built-in agents), not on recorded fixtures: each defect the views showed on real runs has a check below.
const views = viewSuite();

test('trie view colours every checkpoint of a real demo run (SFT and Flower, to the final one), the legend names every colour, the tooltip follows the slider', async () => {
  const demo = await realRun('demo');
  const state = buildViewState('trie', [demo.runDir]) as TrieViewState;
  const withPolicy = readEvents(demo.runDir).filter(
    (e) => e.type === 'trie-snapshot' && e.nodes.some((n) => typeof n.policy === 'number'),
  ).length;
  assert.ok(
    state.snapshots.length >= 40 && withPolicy === state.snapshots.length,
    `${state.snapshots.length} snapshots, ${withPolicy} with policy values`,
  );
  const v = await views.open('trie', { width: 1300, height: 800 });
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('#trie g.node');
  const legendClasses = await v.page.locator('#legend .swatch').evaluateAll((els) => els.map((e) => e.getAttribute('data-cls')));
  const grey: string[] = [];
  for (let i = 0; i < state.snapshots.length; i++) {
    const before = await v.page.evaluate(() => Number(document.body.dataset.rendered ?? 0));
    await v.page.evaluate((k) => {
      const s = document.querySelector('#checkpoint') as HTMLInputElement;
      s.value = String(k);
      s.dispatchEvent(new Event('input'));
    }, i);
    await v.page.waitForFunction((b) => Number(document.body.dataset.rendered ?? 0) > b, before);
    const drawn = await v.page.locator('#trie g.node').evaluateAll((els) =>
      els.map((g) => ({
        cls: [...g.classList].filter((c) => c !== 'node' && c !== 'hit')[0],
        opacity: Number(g.querySelector('rect')?.getAttribute('fill-opacity')),
      })),
    );
    const label = await v.page.locator('#checkpoint-label').textContent();
    const bad = drawn.filter((d) => d.cls === 'nopolicy' || (['over', 'under', 'match'].includes(d.cls) && !(d.opacity >= 0.4)));
    if (bad.length) grey.push(`${label}: ${bad.length} of ${drawn.length} cells grey or faint (${JSON.stringify(bad.slice(0, 3))})`);
    for (const c of new Set(drawn.map((d) => d.cls)))
      assert.ok(legendClasses.includes(c), `colour class "${c}" at ${label} has no legend entry (legend: ${legendClasses.join(', ')})`);
  }
  assert.deepEqual(grey, [], 'every checkpoint with policy values is coloured');
  assert.match(
    (await v.page.locator('#checkpoint-label').textContent()) ?? '',
    /^flower epoch \d+ \((\d+)\/\1\)$/,
    'the last checkpoint is the final Flower one',
  );
  // hover the heaviest child of the root at the final checkpoint, then move the slider: the tooltip follows
  const top = state.snapshots.at(-1) as any;
  const rootChildren = [...top.id]
    .map((id: number, i: number) => ({ id, parent: top.parent[i], flow: top.flow[i] }))
    .filter((n) => n.parent === 0)
    .sort((a, b) => b.flow - a.flow);
  await v.page.locator(`#trie g.node[data-id="${rootChildren[0].id}"]`).hover();
  const tipFinal = await v.page.locator('.tooltip').textContent();
  await v.page.evaluate(() => {
    const s = document.querySelector('#checkpoint') as HTMLInputElement;
    s.value = '0';
    s.dispatchEvent(new Event('input'));
  });
  await v.page.waitForFunction((t) => {
    const el = document.querySelector('.tooltip');
    return el && !el.classList.contains('hidden') && el.textContent !== t;
  }, tipFinal);
  const pFirst = state.snapshots[0] as any;
  const k = [...pFirst.id].indexOf(rootChildren[0].id);
  assert.match(
    (await v.page.locator('.tooltip').textContent()) ?? '',
    new RegExp(String(pFirst.policy[k]).slice(0, 4).replace('.', '\\.')),
    "the tooltip shows checkpoint 0's policy value",
  );
  await bothThemes(v, 'trie', state, 'trie-demo', { width: 1300, height: 800 }, '#trie g.node');
});

test('compare view on real runs: SFT and Flower distribution rows for the demo, the quick run in a sequential table (not under Flower), the AFL table, every other run named with why', async () => {
  const [demo, quick, afl] = [await realRun('demo'), await realRun('quick'), await realRun('afl')];
  const stop = new AbortController();
  stop.abort('stopped by the test');
  const cancelled = await runSingle({ configPath: REAL_CONFIGS.quick, outDir: join(demo.runDir, '..'), signal: stop.signal });
  assert.equal(cancelled.status, 'cancelled');
  const state = buildViewState('compare', [demo.runDir, quick.runDir, afl.runDir, cancelled.runDir]) as CompareViewState;
  const v = await views.open('compare', { height: 1200 });
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('section[data-table="distribution"]');
  const dist = v.page.locator('section[data-table="distribution"]');
  assert.deepEqual(await dist.locator('tr.run td.run').allTextContents(), ['demo-rq1 · sft', 'demo-rq1 · flower']);
  const m = flattenMetrics(readMetrics(demo.runDir)!);
  for (const [i, o] of ['sft', 'flower'].entries()) {
    const cells = await dist.locator('tr.run').nth(i).locator('td.num').allTextContents();
    assert.deepEqual(
      cells.slice(0, 4),
      [m[`${o}/kl(target||gen)`], m[`${o}/kl(gen||target)`], m[`${o}/js`], m[`${o}/coverage`]].map((x) => cellText(x)),
    );
  }
  assert.equal(
    await v.page.locator('section[data-table="flower"] td.run', { hasText: 'smoke' }).count(),
    0,
    'a SASRec run is not a Flower row',
  );
  const seq = v.page.locator('section[data-table="sequential"]');
  assert.deepEqual(await seq.locator('tr.run td.run').allTextContents(), ['smoke · sasrec']);
  const q = flattenMetrics(readMetrics(quick.runDir)!);
  assert.equal(await seq.locator('tr.run td.num').last().textContent(), cellText(q['test/cand_hr@1']));
  const aflRows = await v.page.locator('section[data-table="afl"] tr.run td.run').allTextContents();
  assert.deepEqual(aflRows, ['afl-small']);
  assert.match((await v.page.locator('#left-out').textContent()) ?? '', new RegExp(`smoke — cancelled`));
  assert.doesNotMatch((await v.page.locator('body').textContent()) ?? '', /reports no Flower or AFL metrics/);
  await bothThemes(v, 'compare', state, 'compare-real-runs', { width: 1100, height: 1200 }, 'section[data-table="distribution"]');
});

test("progress of a real demo run: each progress event carries the run's share (never going back), stages named SFT then Flower", async () => {
  const demo = await realRun('demo');
  const ps = readEvents(demo.runDir).filter((e): e is ProgressEvent => e.type === 'progress');
  assert.ok(ps.length > 20 && ps.every((p) => p.run && p.run.share >= 0 && p.run.share <= 1), 'every progress event has run.share');
  const shares = ps.map((p) => p.run!.share);
  const back = shares.findIndex((s, i) => i > 0 && s < shares[i - 1] - 1e-9);
  assert.equal(
    back,
    -1,
    `the share went back at event ${back}: ${ps[back - 1]?.phase} ${shares[back - 1]} → ${ps[back]?.phase} ${shares[back]}`,
  );
  const stages = [
    ...new Set(ps.filter((p) => p.run!.epoch !== undefined).map((p) => `${p.run!.stage} (${p.run!.stageIndex}/${p.run!.stages})`)),
  ];
  assert.deepEqual(stages, ['SFT (1/2)', 'Flower (2/2)']);
  // mid-run: the first Flower epoch is past half of the run, not "100%" of an epoch
  const firstFlower = ps.find((p) => p.run!.stage === 'Flower')!;
  assert.ok(firstFlower.run!.share >= 0.44 && firstFlower.run!.share < 0.5, `share at the first Flower step ${firstFlower.run!.share}`);
  assert.ok(shares.at(-1)! >= 0.9, `last share ${shares.at(-1)}`);
});

test('every real run writes plots/ (the one-epoch quick run too); the headline metric names its metrics.json key and value', async () => {
  for (const name of ['demo', 'quick', 'afl'] as const) {
    const r = await realRun(name);
    const plots = existsSync(join(r.runDir, 'plots')) ? readdirSync(join(r.runDir, 'plots')).filter((f) => f.endsWith('.svg')) : [];
    assert.ok(plots.length >= 1, `${name}: no plots/*.svg in ${r.runDir}`);
  }
  for (const name of ['demo', 'quick', 'afl'] as const) {
    const r = await realRun(name);
    const info = readRunInfo(r.runDir)!;
    const flat = flattenMetrics(readMetrics(r.runDir)!);
    assert.ok(info.keyMetric, `${name}: no key metric`);
    assert.equal(
      flat[info.keyMetric!.name],
      info.keyMetric!.value,
      `${name}: key metric ${info.keyMetric!.name} is not the metrics.json value of that name`,
    );
  }
  assert.equal(
    readRunInfo((await realRun('quick')).runDir)!.keyMetric!.name,
    'test/cand_hr@1',
    "the quick run's headline says it is HR@1 among the candidates",
  );
  assert.equal(
    readRunInfo((await realRun('afl')).runDir)!.keyMetric!.name,
    'recommendation.afl.hr',
    "AFL's headline is its metrics.json key",
  );
});

test('views are offered only where they apply to a real run, with the reason otherwise', async () => {
  const [demo, quick, afl] = [await realRun('demo'), await realRun('quick'), await realRun('afl')];
  assert.deepEqual(applicableViews(demo.runDir), ['loss', 'trie', 'compare']);
  assert.deepEqual(applicableViews(quick.runDir), ['loss', 'compare']);
  assert.deepEqual(applicableViews(afl.runDir), ['loss', 'transcripts', 'compare']);
  assert.match(viewNotApplicable('trie', quick.runDir) ?? '', /Flower run's prefix tree.*smoke is a sequential run/);
  assert.match(viewNotApplicable('transcripts', demo.runDir) ?? '', /dialogues of an AFL run.*demo-rq1 is a flower run/);
  // the tree's context value carries the kind the menus match on (package.json view/item/context)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const when = (cmd: string) =>
    pkg.contributes.menus['view/item/context']
      .filter((m: { command: string }) => m.command === cmd)
      .map((m: { when: string }) => m.when)
      .join(' ');
  assert.match(when('flowloop.showTrieFlow'), /kind-flower/);
  assert.match(when('flowloop.showTranscripts'), /kind-afl/);
});

test('user-facing text cites the project\'s docs readably: no "METHODS" in the schema hovers, the template picker or the baselines', async () => {
  const texts: string[] = [];
  const walk = (o: unknown): void => {
    if (typeof o === 'string') texts.push(o);
    else if (o && typeof o === 'object') for (const v of Object.values(o)) walk(v);
  };
  walk(buildSchema());
  // the template picker shows each example's description
  const examples = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? examples(join(d, e.name)) : e.name.endsWith('.flowloop.json') ? [join(d, e.name)] : [],
    );
  for (const f of examples(join(ROOT, 'examples'))) texts.push(JSON.parse(readFileSync(f, 'utf8')).description ?? '');
  walk(BASELINES);
  const bad = texts.filter((t) => /\bMETHODS\b/.test(t));
  assert.deepEqual(
    bad.map((t) => t.slice(0, 120)),
    [],
  );
});

test('runs table on real runs: one row per run and per variant (demo: sft and flower), config columns that differ, metric columns, sorting, filtering, selection → Compare', async () => {
  const [demo, quick, afl] = [await realRun('demo'), await realRun('quick'), await realRun('afl')];
  const state = buildRunsState([demo.runDir, quick.runDir, afl.runDir]);
  const v = await views.open('runs', { width: 1400, height: 700 });
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('#runs tr.row');
  const keys = await v.page.locator('#runs tr.row').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  const demoId = readRunInfo(demo.runDir)!.id,
    quickId = readRunInfo(quick.runDir)!.id,
    aflId = readRunInfo(afl.runDir)!.id;
  assert.deepEqual([...keys].sort(), [`${demoId}·sft`, `${demoId}·flower`, quickId, aflId].sort());
  const headers = await v.page
    .locator('#runs th')
    .evaluateAll((els) => els.map((e) => ({ col: e.getAttribute('data-col'), cls: e.className })));
  const cols = headers.map((x) => x.col).filter(Boolean) as string[];
  for (const c of [
    'run',
    'variant',
    'kind',
    'status',
    'config:dataset',
    'config:epochs',
    'config:seed',
    'metric:kl(target||gen)',
    'metric:coverage',
    'metric:test/cand_hr@1',
    'metric:AFL HR@1',
  ]) {
    assert.ok(cols.includes(c), `no column ${c}: ${cols.join(', ')}`);
  }
  assert.ok(!cols.includes('config:name') && !cols.includes('config:description'), 'identity/prose are not config columns');
  // the flower row's KL is the metrics.json value
  const m = flattenMetrics(readMetrics(demo.runDir)!);
  const klIdx = cols.indexOf('metric:kl(target||gen)') + 1; // + the checkbox column
  const flowerKl = await v.page.locator(`#runs tr.row[data-key="${demoId}·flower"] td`).nth(klIdx).textContent();
  assert.equal(Number(flowerKl), Number(m['flower/kl(target||gen)'].toPrecision(4)));
  // sort by KL ascending: flower (better fit) before sft; rows without KL last
  await v.page.locator('#runs th[data-col="metric:kl(target||gen)"]').click();
  await v.page.locator('#runs th[data-col="metric:kl(target||gen)"]').click();
  await v.page.waitForSelector('#runs th.sorted-asc[data-col="metric:kl(target||gen)"]');
  const sorted = await v.page.locator('#runs tr.row').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  assert.deepEqual(sorted.slice(0, 2), [`${demoId}·flower`, `${demoId}·sft`]);
  // filter: kind and a metric threshold
  await v.page.evaluate(() => {
    const f = document.querySelector('#filter') as HTMLInputElement & { value: string };
    f.value = 'flower coverage>0.95';
    f.dispatchEvent(new Event('input'));
  });
  await v.page.waitForFunction(() => document.querySelectorAll('#runs tr.row').length === 1);
  assert.equal(await v.page.locator('#runs tr.row').getAttribute('data-key'), `${demoId}·flower`);
  await v.page.evaluate(() => {
    const f = document.querySelector('#filter') as HTMLInputElement & { value: string };
    f.value = '';
    f.dispatchEvent(new Event('input'));
  });
  await v.page.waitForFunction(() => document.querySelectorAll('#runs tr.row').length === 4);
  // selection feeds the comparison
  await v.page.locator(`#runs tr.row[data-key="${quickId}"]`).click();
  await v.page.locator(`#runs tr.row[data-key="${aflId}"]`).click();
  await v.page.locator('#compare-selected').click();
  const open = (await v.sent()).find((x) => x.type === 'open') as { target: string; runDirs: string[] } | undefined;
  assert.deepEqual(open && { target: open.target, runDirs: [...open.runDirs].sort() }, {
    target: 'compare',
    runDirs: [quick.runDir, afl.runDir].sort(),
  });
  assert.deepEqual(((await v.state()) as { selected: string[] }).selected.sort(), [quickId, aflId].sort(), 'the selection persists');
  await bothThemes(v, 'runs', state, 'runs-table', { width: 1400, height: 700 }, '#runs tr.row');
});

test("run page on real runs: the demo's distribution.svg and plots inline, final metrics, links to the views that apply; a rerun with --set seed shows the config diff", async () => {
  const demo = await realRun('demo');
  const page = buildRunPage(demo.runDir, siblingRuns(demo.runDir));
  const v = await views.open('run', { width: 1300, height: 1000 });
  await v.send({ type: 'init', state: page });
  await v.page.waitForSelector('#plots figure', { timeout: 60_000 });
  assert.equal(await v.page.locator('#run-status').textContent(), 'finished');
  const figures = await v.page.locator('#plots figure').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
  assert.ok(figures.includes('distribution.svg') && figures.some((f) => f?.startsWith('plots/')), figures.join(', '));
  // every inline plot decodes (data URLs decode asynchronously: wait for it)
  await v.page.waitForFunction(
    () =>
      [...document.querySelectorAll('#plots img')].every(
        (e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0,
      ),
    undefined,
    { timeout: 60_000 },
  );
  assert.match((await v.page.locator('#metrics').textContent()) ?? '', /flower\/kl\(target\|\|gen\)/);
  assert.equal(await v.page.locator('#open-trie').getAttribute('disabled'), null, 'the trie view applies to a Flower run');
  assert.notEqual(await v.page.locator('#open-transcripts').getAttribute('disabled'), null, 'transcripts do not apply to a Flower run');
  await v.page.locator('#open-trie').click();
  assert.ok((await v.sent()).some((x) => x.type === 'open' && (x as any).target === 'trie'));
  await bothThemes(v, 'run', page, 'run-page', { width: 1300, height: 1000 }, '#plots figure');
  // the quick config run twice into a fresh runs folder, the second with another seed: its page names the
  // previous run of that config and the changed value
  const out = mkdtempSync(join(tmpdir(), 'flowloop-rerun-'));
  const first = await runSingle({ configPath: REAL_CONFIGS.quick, outDir: out });
  const again = await runSingle({ configPath: REAL_CONFIGS.quick, set: ['seed=8'], outDir: out });
  assert.equal(again.status, 'finished');
  const p2 = buildRunPage(again.runDir, siblingRuns(again.runDir));
  assert.equal(p2.previous?.dir, first.runDir);
  assert.deepEqual(p2.configDiff, [{ key: 'seed', before: '7', after: '8' }]);
});

test('run page of a degraded run shows it yellow with the reason; the runs table marks it', async () => {
  // a run folder whose run.json says degraded (written by the runner's contract: test/core/degraded.test.ts)
  const quick = await realRun('quick');
  const again = await runSingle({ configPath: REAL_CONFIGS.quick, set: ['seed=9'], outDir: join(quick.runDir, '..') });
  const info = readRunInfo(again.runDir)!;
  writeFileSync(join(again.runDir, 'run.json'), JSON.stringify({ ...info, status: 'degraded', degraded: ['122/122 LLM calls failed'] }));
  const v = await views.open('run');
  await v.send({ type: 'init', state: buildRunPage(again.runDir, []) });
  await v.page.waitForSelector('#run-status');
  assert.equal(await v.page.locator('#run-status').textContent(), 'degraded');
  assert.match((await v.page.locator('#run-status').getAttribute('class')) ?? '', /degraded/);
  const bg = await v.page.locator('#run-status').evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(bg, 'rgb(204, 167, 0)', 'yellow (--vscode-charts-yellow)');
  assert.match((await v.page.locator('[data-warning]').textContent()) ?? '', /degraded: 122\/122 LLM calls failed/);
  await v.page.close();
  const t = await views.open('runs');
  await t.send({ type: 'init', state: buildRunsState([again.runDir]) });
  await t.page.waitForSelector('#runs td.status.degraded');
  assert.equal(await t.page.locator('#runs td.status.degraded').getAttribute('title'), '122/122 LLM calls failed');
  await t.page.close();
});

test('the finish toast states the result that matters for each real run kind', async () => {
  const [demo, quick, afl] = [await realRun('demo'), await realRun('quick'), await realRun('afl')];
  const dm = flattenMetrics(readMetrics(demo.runDir)!);
  const d = headline('flower', readMetrics(demo.runDir)!)!;
  const f3 = (x: number) => Number(x.toPrecision(3)).toString();
  assert.equal(
    d,
    `KL(target‖gen) Flower ${f3(dm['flower/kl(target||gen)'])} vs SFT ${f3(dm['sft/kl(target||gen)'])}, coverage ${Math.round(100 * dm['flower/coverage'])}% vs ${Math.round(100 * dm['sft/coverage'])}%`,
  );
  assert.match(
    headline('sequential', readMetrics(quick.runDir)!)!,
    /^test HR@10 [\d.]+, NDCG@10 [\d.]+, HR@1 among the candidates [\d.]+$/,
  );
  assert.match(headline('afl', readMetrics(afl.runDir)!)!, /^AFL HR@1 [\d.]+ vs Rec Agent [\d.]+, base model [\d.]+ \(5 users\)$/);
});

test('loss curves on real runs: one chart per metric (GFN and SFT losses on their own axes), a line per variant (sft, flower), the last value in the legend, x by epoch, runs overlaid with a colour each', async () => {
  const [demo, quick] = [await realRun('demo'), await realRun('quick')];
  const state = buildViewState('loss', [demo.runDir, quick.runDir]) as LossViewState;
  const names = [...new Set(state.metrics.map((m) => m.name))];
  const v = await views.open('loss', { width: 1200, height: 900 });
  await v.send({ type: 'init', state });
  await v.page.waitForFunction((n) => document.querySelectorAll('#charts .chart').length === n, names.length);
  const charts = await v.page.locator('#charts .chart').evaluateAll((els) => els.map((e) => e.getAttribute('data-chart')));
  assert.deepEqual([...charts].sort(), names.map((n) => `m:${n}`).sort(), 'one chart per metric name');
  // the JS fit curve: one line for SFT and one for Flower, the legend shows each one's last value
  const js = v.page.locator('#charts .chart[data-chart="m:fit/js"]');
  const legend = await js
    .locator('.u-legend tr.u-series')
    .evaluateAll((rows) =>
      rows.slice(1).map((r) => ({ label: r.querySelector('.u-label')?.textContent, value: r.querySelector('.u-value')?.textContent })),
    );
  const last = (series: string) => state.metrics.filter((m) => m.name === 'fit/js' && m.series === series).at(-1)!.value;
  assert.deepEqual(legend.map((l) => l.label?.replace(/^.* · /, '')).sort(), ['flower', 'sft']);
  for (const l of legend) assert.equal(l.value, fmtNum(last(l.label!.replace(/^.* · /, ''))), `legend value of ${l.label}`);
  // x by epoch: the choice is kept in the view's state and the charts are rebuilt on it
  await v.page.evaluate(() => {
    const d = document.querySelector('#x-axis') as HTMLElement & { value: string };
    d.value = 'epoch';
    d.dispatchEvent(new Event('change'));
  });
  await v.page.waitForFunction(
    () =>
      [...document.querySelectorAll('#charts .u-axis')].some((a) => a.textContent?.includes('epoch')) ||
      document.querySelector('#charts')?.textContent?.includes('epoch'),
  );
  assert.equal(((await v.state()) as { x: string }).x, 'epoch');
  await bothThemes(v, 'loss', state, 'loss-real-runs', { width: 1200, height: 900 }, '#charts .chart canvas');
});

test("compare view marks a degraded run's rows (yellow, ⚠, the reason on hover)", async () => {
  const quick = await realRun('quick');
  const again = await runSingle({
    configPath: REAL_CONFIGS.quick,
    set: ['seed=10'],
    outDir: mkdtempSync(join(tmpdir(), 'flowloop-degraded-compare-')),
  });
  const info = readRunInfo(again.runDir)!;
  writeFileSync(join(again.runDir, 'run.json'), JSON.stringify({ ...info, status: 'degraded', degraded: ['64/64 LLM calls failed'] }));
  const state = buildViewState('compare', [quick.runDir, again.runDir]) as CompareViewState;
  const v = await views.open('compare');
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('section[data-table="sequential"] tr.run');
  const row = v.page.locator(`section[data-table="sequential"] tr.run[data-run="${info.id}"]`);
  assert.match((await row.getAttribute('class')) ?? '', /degraded/);
  assert.match((await row.locator('td.run').textContent()) ?? '', /^⚠ /);
  assert.equal(await row.locator('td.run').getAttribute('title'), 'degraded: 64/64 LLM calls failed');
  assert.doesNotMatch(
    (await v.page.locator(`section[data-table="sequential"] tr.run[data-run="${readRunInfo(quick.runDir)!.id}"]`).getAttribute('class')) ??
      '',
    /degraded/,
  );
  await v.page.close();
});
