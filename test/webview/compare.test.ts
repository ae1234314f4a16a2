import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type CompareViewState } from '../../webview/contract';
import { cellText } from '../../webview/compare/tables';
import { fixture, screenshot } from '../../harness/webviewPage';
import { viewSuite } from './viewSuite';

// Real results (see fixtures/makeCompareFixture.ts): three short Movies_and_TV runs (SFT with main/temp/d3
// decodings, Flower, IFairLRS; 1 epoch, 1,000 test rows), a rule-based AFL LastFM run's metrics.json, and
// the AFL rounds sweep (examples/afl-rounds-sweep.flowloop.json).
const state = fixture<CompareViewState>('compare-real.json');
const [sft, flower, ifair, afl] = state.runs;
const top = (r: typeof flower) => r.metrics as Record<string, number>;
const views = viewSuite('compare');

test('compare view shows Flower, AFL and user-simulation tables with paper reference rows', async () => {
  const v = await views.open('compare', { height: 1100 });
  assert.deepEqual(await v.sent(), [{ type: 'ready', view: 'compare', protocol: PROTOCOL_VERSION }]);
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('section[data-table="flower"]');
  const table = v.page.locator('section[data-table="flower"]');
  assert.deepEqual(await table.locator('th').allTextContents(), ['run', 'NDCG@10', 'HR@10', 'DGU', 'MGU', 'H', 'TTR']);
  assert.deepEqual(await table.locator('tr.run td.run').allTextContents(), [
    sft.name,
    `${sft.name} · temp`,
    `${sft.name} · d3`,
    flower.name,
    ifair.name,
  ]);
  const m = top(flower);
  const flowerRow = table.locator('tr.run').nth(3);
  assert.deepEqual(
    await flowerRow.locator('td.num').allTextContents(),
    [m['ndcg@10'], m['hr@10'], m.dgu, m.mgu, m.entropy, m.ttr].map((x) => cellText(x)),
  );
  assert.deepEqual(await table.locator('tr.run').nth(1).locator('td.num').first().textContent(), cellText(top(sft)['temp/ndcg@10']));
  // paper rows of the methods present (SFT + constrained decoding = BIGRec; the temp and d3 decodings; Flower; IFairLRS)
  assert.deepEqual(
    await table.locator('tr.reference td.run').allTextContents(),
    ['BIGRec', 'Temp', 'D3', 'IFairLRS', 'Flower'].map((x) => `paper · ${x} (Movies)`),
  );
  assert.deepEqual(await table.locator('tr.reference', { hasText: 'paper · Flower (Movies)' }).locator('td.num').allTextContents(), [
    '0.0959',
    '0.1199',
    '0.076',
    '0.026',
    '8.808',
    '–',
  ]);
  const aflT = v.page.locator('section[data-table="afl"]');
  const am = afl.metrics as { recommendation: { afl: { hr: number }; curve: unknown[] } };
  assert.equal(await aflT.locator('th').count(), 1 + 3 + am.recommendation.curve.length);
  assert.equal(await aflT.locator('tr.run').first().locator('td.num').nth(2).textContent(), cellText(am.recommendation.afl.hr));
  assert.equal(await aflT.locator('tr.run').count(), 4, 'the run and its three ablations');
  assert.deepEqual(
    await aflT
      .locator('tr.reference td.num')
      .allTextContents()
      .then((x) => x.slice(0, 3)),
    ['0.2869', '0.3197', '0.377'],
  );
  assert.equal(await v.page.locator('section[data-table="usersim"] tr.run').count(), 9, '3 ratios × 3 judges');
  // one sweep chart per metric the config names, in its order
  const charts = await v.page.locator('#sweep .sweep-chart').evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')));
  assert.deepEqual(
    charts,
    state.sweep!.metrics!.map((m) => m.toLowerCase().replace(/\./g, '/')),
  );
  assert.equal(await v.page.locator('#sweep .sweep-chart canvas').count(), charts.length);
  await screenshot(v.page, 'compare');
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('compare view exports CSV and Markdown to the host, copies, and saves the paper-row choice', async () => {
  const v = await views.open('compare');
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('section[data-table="flower"]');
  await v.page.locator('#export-csv').click();
  await v.page.locator('#export-md').click();
  await v.page.locator('#copy-md').click();
  const sent = (await v.sent()).slice(1) as { type: string; format?: string; text: string; suggestedName?: string }[];
  assert.deepEqual(
    sent.map((s) => [s.type, s.format, s.suggestedName]),
    [
      ['export', 'csv', 'flowloop-compare.csv'],
      ['export', 'markdown', 'flowloop-compare.md'],
      ['copy', undefined, undefined],
    ],
  );
  const m = top(flower);
  assert.ok(
    sent[0].text.includes(`${flower.name},flowloop,${m['ndcg@10']},${m['hr@10']},${m.dgu},${m.mgu},${m.entropy},${m.ttr}`),
    sent[0].text.slice(0, 400),
  );
  assert.ok(sent[0].text.includes('paper · Flower (Movies),paper,0.0959,0.1199,0.076,0.026,8.808,\n'));
  assert.match(
    sent[1].text,
    /^### Flower: accuracy, fairness, diversity \(@10\)\n\n\| run \| NDCG@10 \| HR@10 \| DGU \| MGU \| H \| TTR \|/,
  );
  assert.equal(sent[2].text, sent[1].text);
  // paper rows: none (saved), then a run-finished increment updates a run's numbers
  await v.page.locator('#paper-rows').click();
  await v.page.locator('#paper-rows vscode-option[value="none"]').click();
  await v.page.waitForFunction(() => document.querySelectorAll('tr.reference').length === 0);
  assert.deepEqual(await v.state(), { paper: 'none' });
  await v.send({
    type: 'events',
    events: [{ type: 'run-finished', runId: flower.runId, t: 1, durationMs: 1, metrics: { 'ndcg@10': 0.123456, 'hr@10': 0.5 } }],
  });
  await v.page.waitForFunction(() =>
    [...document.querySelectorAll('section[data-table="flower"] td.num')].some((td) => td.textContent === '0.1235'),
  );
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});
