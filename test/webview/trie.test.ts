import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { TrieSnapshotEvent } from '../../core/experiment/events';
import { PROTOCOL_VERSION } from '../../webview/contract';
import { bundleView, fixture, launch, openView, screenshot } from './harness';

// Real CDs_and_Vinyl trie snapshot (core/trie + qwen2.5, top 2,000 of 30,028 nodes); the policy fixture's
// probabilities are synthetic (see make-trie-fixture.ts).
const real = fixture<TrieSnapshotEvent[]>('trie-cds.json');
const synthetic = fixture<TrieSnapshotEvent[]>('trie-cds-policy.synthetic.json');
let browser: Browser;
let bundle: { js: string; css: string };

before(async () => { [browser, bundle] = await Promise.all([launch(), bundleView('trie')]); });
after(async () => { await browser?.close(); });

test('trie view posts ready, draws the icicle of a real CDs snapshot and zooms on click', async () => {
  const v = await openView(browser, 'trie', bundle);
  assert.deepEqual(await v.sent(), [{ type: 'ready', view: 'trie', protocol: PROTOCOL_VERSION }]);
  await v.send({ type: 'init', state: { view: 'trie', snapshots: real } });
  await v.page.waitForSelector('#trie g.node');
  const drawn = await v.page.locator('#trie g.node').count();
  assert.ok(drawn > 20 && drawn < 2000, `drawn nodes: ${drawn} (expected aggregation to keep it well under the 2,000 in the snapshot)`);
  assert.match(await v.page.locator('#status').textContent() ?? '', /of 2000 in the snapshot \(30028 in the full trie\)/);
  // the root column holds one node spanning the full height, sized by F(root) = 1
  const rootH = await v.page.locator('#trie g.node[data-id="0"] rect').getAttribute('height');
  assert.ok(Number(rootH) > 400, `root height ${rootH}`);
  // the heaviest child of the root: click it, it becomes the focus (breadcrumb grows, it is drawn at full height)
  const top = real[0].nodes.filter((n) => n.parent === 0).sort((a, b) => b.flow - a.flow)[0];
  await v.page.locator(`#trie g.node[data-id="${top.id}"]`).click();
  await v.page.waitForFunction((id) => document.querySelectorAll('#breadcrumb a.crumb').length === 2 && document.querySelector(`#breadcrumb a.crumb[data-id="${id}"]`), top.id);
  const focusH = Number(await v.page.locator(`#trie g.node[data-id="${top.id}"] rect`).getAttribute('height'));
  assert.ok(focusH > 400, `focused node height ${focusH}`);
  const st = (await v.state()) as { focus: { id: number } };
  assert.deepEqual(st.focus, { id: top.id }, 'zoom is saved with setState');
  // tooltip shows the decoded token text, R_p and the policy probability line
  await v.page.locator(`#trie g.node[data-id="${top.id}"]`).hover();
  const tip = await v.page.locator('.tooltip').textContent();
  assert.match(tip ?? '', /R_p = F\(s\)\/F\(parent\)/);
  assert.match(tip ?? '', /not measured/);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('trie view expands a "+N more" aggregate lazily and finds a title by search', async () => {
  const v = await openView(browser, 'trie', bundle);
  await v.send({ type: 'init', state: { view: 'trie', snapshots: real } });
  await v.page.waitForSelector('#trie g.node.agg');
  const before = await v.page.locator('#trie g.node').count();
  await v.page.locator('#trie g.node.agg').first().click();
  await v.page.waitForSelector('#breadcrumb span.crumb');
  assert.match(await v.page.locator('#breadcrumb span.crumb').textContent() ?? '', /\+\d+ smaller/);
  assert.ok(await v.page.locator('#trie g.node').count() > 1, `drawn after expanding (before: ${before})`);
  // search the 50th heaviest title present in the snapshot
  const titles = real[0].nodes.filter((n) => n.terminal && n.title).sort((a, b) => b.flow - a.flow);
  const want = titles[Math.min(50, titles.length - 1)];
  await v.page.locator('#search').click();
  await v.page.keyboard.type(want.title!);
  await v.page.keyboard.press('Enter');
  await v.page.waitForSelector(`#trie g.node.hit[data-id="${want.id}"]`);
  assert.equal(((await v.state()) as { search: string }).search, want.title);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('trie view colours over/under-generation per checkpoint and restores its zoom from saved state', async () => {
  const top = synthetic[0].nodes.filter((n) => n.parent === 0).sort((a, b) => b.flow - a.flow)[0];
  const v = await openView(browser, 'trie', bundle, { savedState: { focus: { id: 0 }, checkpoint: 0, search: '' } });
  await v.send({ type: 'init', state: { view: 'trie', snapshots: synthetic.slice(0, 1) } });
  await v.page.waitForSelector('#trie g.node');
  // uniform-over-children policy: the heaviest first token is under-generated (its F ≫ 1/#children)
  assert.match(await v.page.locator(`#trie g.node[data-id="${top.id}"]`).getAttribute('class') ?? '', /under/);
  // a second checkpoint arrives as an increment; slider follows the newest (sharpened: the heaviest is over-generated)
  await v.send({ type: 'events', events: synthetic.slice(1) });
  await v.page.waitForFunction(() => (document.getElementById('checkpoint') as HTMLInputElement).max === '1');
  assert.match(await v.page.locator('#checkpoint-label').textContent() ?? '', /popularity-sharpened/);
  assert.match(await v.page.locator(`#trie g.node[data-id="${top.id}"]`).getAttribute('class') ?? '', /over/);
  await screenshot(v.page, 'trie');
  // slide back to checkpoint 0
  await v.page.locator('#checkpoint').fill('0');
  await v.page.waitForFunction(() => /uniform/.test(document.getElementById('checkpoint-label')!.textContent ?? ''));
  assert.equal(((await v.state()) as { checkpoint: number }).checkpoint, 0);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
  // a reopened panel restores the saved focus
  const top2 = real[0].nodes.filter((n) => n.parent === top.id).sort((a, b) => b.flow - a.flow)[0];
  const w = await openView(browser, 'trie', bundle, { savedState: { focus: { id: top2.id }, checkpoint: -1, search: '' } });
  await w.send({ type: 'init', state: { view: 'trie', snapshots: real } });
  await w.page.waitForFunction(() => document.querySelectorAll('#breadcrumb a.crumb').length === 3);
  await w.page.close();
});
