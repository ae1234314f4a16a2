import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrieSnapshotEvent } from '../../core/experiment/events';
import { packTrieSnapshot, PROTOCOL_VERSION } from '../../webview/contract';
import { fixture, fixtureEvents, screenshot } from '../../harness/webviewPage';
import { viewSuite } from './viewSuite';
import { MATCH_LOG2 } from '../../webview/trie/render';

// Real CDs_and_Vinyl trie snapshot (core/trie + qwen2.5, top 2,000 of 30,028 nodes, no policy), and the
// checkpoints of a real demo run (100 movie titles; SFT epochs 0-4 then Flower epochs 0-4; real policy
// probabilities on the top 120 of 478 nodes), see fixtures/make*Fixture.ts.
const real = fixture<TrieSnapshotEvent[]>('trie-cds.json');
const demo = fixtureEvents('demo-rq1.events.jsonl').filter((e): e is TrieSnapshotEvent => e.type === 'trie-snapshot');
/** The colour class the view must give a node: policy vs target flow, |log2 ratio| < log2(1.1) = match (render.ts MATCH_LOG2). */
function expectedClass(s: TrieSnapshotEvent, id: number): string {
  const n = s.nodes.find((x) => x.id === id)!;
  const l = Math.log2(n.policy! / n.flow);
  return Math.abs(l) < MATCH_LOG2 ? 'match' : l > 0 ? 'over' : 'under';
}
const views = viewSuite('trie');

test('trie view posts ready, draws the icicle of a real CDs snapshot and zooms on click', async () => {
  const v = await views.open('trie');
  assert.deepEqual(await v.sent(), [{ type: 'ready', view: 'trie', protocol: PROTOCOL_VERSION }]);
  await v.send({ type: 'init', state: { view: 'trie', snapshots: real } });
  await v.page.waitForSelector('#trie g.node');
  const drawn = await v.page.locator('#trie g.node').count();
  assert.ok(drawn > 20 && drawn < 2000, `drawn nodes: ${drawn} (expected aggregation to keep it well under the 2,000 in the snapshot)`);
  assert.match(
    (await v.page.locator('#status').textContent()) ?? '',
    /nodes drawn \(\+\d+ merged groups\) of 2000 in the snapshot \(30028 in the full trie\)/,
  );
  assert.ok((await v.page.locator('#trie g.node.missing').count()) >= 1, 'the flow of children left out of the snapshot is drawn');
  // the root column holds one node spanning the full height, sized by F(root) = 1
  const rootH = await v.page.locator('#trie g.node[data-id="0"] rect').getAttribute('height');
  assert.ok(Number(rootH) > 400, `root height ${rootH}`);
  // the heaviest child of the root: click it, it becomes the focus (breadcrumb grows, it is drawn at full height)
  const top = real[0].nodes.filter((n) => n.parent === 0).sort((a, b) => b.flow - a.flow)[0];
  await v.page.locator(`#trie g.node[data-id="${top.id}"]`).click();
  await v.page.waitForFunction(
    (id) => document.querySelectorAll('#breadcrumb a.crumb').length === 2 && document.querySelector(`#breadcrumb a.crumb[data-id="${id}"]`),
    top.id,
  );
  const focusH = Number(await v.page.locator(`#trie g.node[data-id="${top.id}"] rect`).getAttribute('height'));
  assert.ok(focusH > 400, `focused node height ${focusH}`);
  const st = (await v.state()) as { focus: { id: number } };
  assert.deepEqual(st.focus, { id: top.id }, 'zoom is saved with setState');
  await v.page.keyboard.press('Escape');
  await v.page.waitForFunction(() => document.querySelectorAll('#breadcrumb a.crumb').length === 1);
  await v.page.locator(`#trie g.node[data-id="${top.id}"]`).click();
  await v.page.waitForFunction(() => document.querySelectorAll('#breadcrumb a.crumb').length === 2);
  // tooltip shows the decoded token text, R_p and the policy probability line
  await v.page.locator(`#trie g.node[data-id="${top.id}"]`).hover();
  const tip = await v.page.locator('.tooltip').textContent();
  assert.match(tip ?? '', /R_p = F\(s\)\/F\(parent\)/);
  assert.match(tip ?? '', /not measured/);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('trie view expands a "+N more" aggregate lazily and finds a title by search', async () => {
  const v = await views.open('trie');
  await v.send({ type: 'init', state: { view: 'trie', snapshots: real } });
  await v.page.waitForSelector('#trie g.node.agg');
  const before = await v.page.locator('#trie g.node').count();
  await v.page.locator('#trie g.node.agg').first().click();
  await v.page.waitForSelector('#breadcrumb span.crumb');
  assert.match((await v.page.locator('#breadcrumb span.crumb').textContent()) ?? '', /\+\d+ smaller/);
  assert.ok((await v.page.locator('#trie g.node').count()) > 1, `drawn after expanding (before: ${before})`);
  // search the 50th heaviest title present in the snapshot
  const titles = real[0].nodes.filter((n) => n.terminal && n.title).sort((a, b) => b.flow - a.flow);
  const want = titles[Math.min(50, titles.length - 1)];
  await v.page.locator('#search').click();
  await v.page.keyboard.type(want.title!);
  await v.page.keyboard.press('Enter');
  await v.page.waitForSelector(`#trie g.node.hit[data-id="${want.id}"]`);
  assert.equal(((await v.state()) as { search: string }).search, want.title);
  assert.doesNotMatch((await v.page.locator('#status').textContent()) ?? '', /no title/);
  await v.page.locator('#search').click();
  await v.page.keyboard.press('Control+A');
  await v.page.keyboard.type('zzz no such title');
  await v.page.locator('#search-btn').click();
  await v.page.waitForFunction(() =>
    /no title in this snapshot matches "zzz no such title"/.test(document.getElementById('status')!.textContent ?? ''),
  );
  assert.equal(await v.page.locator('#trie g.node.hit').count(), 0);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('trie view colours over/under-generation per checkpoint of a real run and restores its zoom from saved state', async () => {
  assert.equal(demo.length, 10);
  const root = demo[0].nodes.find((n) => n.parent < 0)!;
  const top = demo[0].nodes.filter((n) => n.parent === root.id).sort((a, b) => b.flow - a.flow)[0];
  const v = await views.open('trie', { savedState: { focus: { id: root.id }, checkpoint: 0, search: '' } });
  await v.send({ type: 'init', state: { view: 'trie', snapshots: demo.slice(0, 5) } });
  await v.page.waitForSelector('#trie g.node');
  assert.match((await v.page.locator('#checkpoint-label').textContent()) ?? '', /sft epoch 0 \(1\/5\)/);
  const cls = () => v.page.locator(`#trie g.node[data-id="${top.id}"]`).getAttribute('class');
  assert.match((await cls()) ?? '', new RegExp(expectedClass(demo[0], top.id)));
  // the Flower checkpoints arrive as increments; the slider was on checkpoint 0 (saved), so it stays there
  await v.send({ type: 'events', events: demo.slice(5) });
  await v.page.waitForFunction(() => (document.getElementById('checkpoint') as HTMLInputElement).max === '9');
  assert.match((await v.page.locator('#checkpoint-label').textContent()) ?? '', /sft epoch 0 \(1\/10\)/);
  await v.page.locator('#checkpoint').fill('9');
  await v.page.waitForFunction(() => /flower epoch 4/.test(document.getElementById('checkpoint-label')!.textContent ?? ''));
  assert.equal(((await v.state()) as { checkpoint: number }).checkpoint, 9);
  for (const n of demo[9].nodes.filter((x) => x.parent === root.id)) {
    const c = await v.page
      .locator(`#trie g.node[data-id="${n.id}"]`)
      .getAttribute('class')
      .catch(() => null);
    if (c) assert.match(c, new RegExp(expectedClass(demo[9], n.id)), `node ${n.id} ${JSON.stringify(n.text)}`);
  }
  // colour by the step (P(token | parent) vs R_p): check the nodes below the heaviest first token
  await v.page.locator('#colour-mode').click();
  await v.page.locator('#colour-mode vscode-option[value="step"]').click();
  await v.page.waitForFunction(() => (window as unknown as { __state?: { mode?: string } }).__state?.mode === 'step');
  const s9 = demo[9];
  const pol = new Map(s9.nodes.map((n) => [n.id, n]));
  let checked = 0;
  for (const n of s9.nodes.filter((x) => pol.get(x.parent)?.parent === root.id)) {
    const c = await v.page
      .locator(`#trie g.node[data-id="${n.id}"]`)
      .getAttribute('class', { timeout: 200 })
      .catch(() => null);
    if (!c) continue;
    const p = pol.get(n.parent)!;
    const l = Math.log2(n.policy! / p.policy! / n.rp);
    assert.match(c, new RegExp(Math.abs(l) < MATCH_LOG2 ? 'match' : l > 0 ? 'over' : 'under'), `step colour of node ${n.id}`);
    checked++;
  }
  assert.ok(checked > 3, `checked ${checked} depth-2 nodes`);
  await v.page.locator(`#trie g.node[data-id="${top.id}"]`).hover();
  await screenshot(v.page, 'trie');
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
  // a reopened panel restores the saved focus
  const top2 = real[0].nodes.filter((n) => n.parent === 0).sort((a, b) => b.flow - a.flow)[0];
  const top3 = real[0].nodes.filter((n) => n.parent === top2.id).sort((a, b) => b.flow - a.flow)[0];
  const w = await views.open('trie', { savedState: { focus: { id: top3.id }, checkpoint: -1, search: '' } });
  await w.send({ type: 'init', state: { view: 'trie', snapshots: real } });
  await w.page.waitForFunction(() => document.querySelectorAll('#breadcrumb a.crumb').length === 3);
  await w.page.close();
});

test('trie view draws a packed snapshot (the fast wire form) exactly like the event form', async () => {
  const ids = async (snapshots: Parameters<typeof packTrieSnapshot>[0][] | ReturnType<typeof packTrieSnapshot>[]) => {
    const v = await views.open('trie');
    await v.send({ type: 'init', state: { view: 'trie', snapshots } });
    await v.page.waitForSelector('#trie g.node');
    const out = await v.page
      .locator('#trie g.node')
      .evaluateAll((els) =>
        els.map((e) => `${e.getAttribute('data-id')} ${e.getAttribute('class')} ${e.querySelector('rect')!.getAttribute('height')}`),
      );
    assert.deepEqual(await v.problems(), []);
    await v.page.close();
    return out;
  };
  const plain = await ids(demo.slice(9));
  assert.ok(plain.length > 20);
  assert.deepEqual(await ids(demo.slice(9).map(packTrieSnapshot)), plain);
});
