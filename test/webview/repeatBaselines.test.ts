// The comparison shows `flowloop baselines --repeat N` results as mean ± std: a real, tiny repeat (the quick
// sequential config, baseline sasrec, seeds 7 and 8) made here through the CLI's own entry, then its summary
// (baselines-<name>.json) read by the host and drawn by the compare view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompareViewState } from '../../webview/contract';
import { cellText, toCsv, repeatTable } from '../../webview/compare/tables';
import { buildViewState } from '../../extension/viewState';
import { flattenMetrics, readMetrics } from '../../core/experiment/runStore';
import { main as baselines } from '../../core/cli/baselines';
import { REAL_CONFIGS } from '../realRuns';
import { viewSuite } from './viewSuite';

const views = viewSuite();

test('compare view: a `baselines --repeat 2` summary shows as mean ± std per baseline (numbers from the two seeds’ runs), CSV with a std column', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flowloop-repeat-'));
  const code = await baselines([REAL_CONFIGS.quick, '--only', 'sasrec', '--repeat', '2', '--out', out]);
  assert.equal(code, 0, 'flowloop baselines --repeat 2 finished');
  const file = readdirSync(out).find((f) => /^baselines-.+\.json$/.test(f));
  assert.ok(file, `no baselines-<name>.json in ${readdirSync(out).join(', ')}`);
  const summary = JSON.parse(readFileSync(join(out, file), 'utf8'));
  const runDirs: string[] = summary.rows[0].runs;
  assert.equal(runDirs.length, 2, 'one run per seed');

  const state = buildViewState('compare', runDirs) as CompareViewState;
  assert.equal(state.repeats?.length, 1, 'the summary beside the runs is found');
  const rep = state.repeats![0];
  assert.deepEqual(rep.seeds, [7, 8]);
  assert.ok(rep.columns.includes('test/hr@10'), rep.columns.join(', '));
  // mean and sample std of each column, from the two runs' own metrics.json
  const per = runDirs.map((d) => flattenMetrics(readMetrics(d)!));
  const expected = rep.columns.map((k) => {
    const [a, b] = per.map((m) => m[k]);
    const mean = (a + b) / 2;
    return cellText(mean, Math.sqrt((a - mean) ** 2 + (b - mean) ** 2));
  });

  const v = await views.open('compare', { height: 900 });
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('section[data-table="repeat"] tr.run');
  const row = v.page.locator('section[data-table="repeat"] tr.run').first();
  assert.equal(await row.locator('td.run').textContent(), 'sasrec (2 of 2 seeds)');
  const cells = await row.locator('td.num').allTextContents();
  assert.deepEqual(cells, expected);
  assert.ok(
    cells.every((c) => / ± /.test(c)),
    cells.join(' | '),
  );
  const headers = await v.page.locator('section[data-table="repeat"] th').allTextContents();
  assert.deepEqual(headers, ['run', ...rep.columns]);
  // the seeds' own runs are still compared one by one in the sequential table
  assert.equal(await v.page.locator('section[data-table="sequential"] tr.run').count(), 2);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();

  const csv = toCsv([repeatTable(rep)]).split('\n');
  assert.deepEqual(csv[1].split(',').slice(2, 4), [`${rep.columns[0]} mean`, `${rep.columns[0]} std`]);
});
