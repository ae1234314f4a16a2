// The runs table follows a running run (its progress and metric events, not only its start and end), and a
// run has one colour in every panel (loss curves, runs table, run page), from its identity. On runs made
// here (test/realRuns.ts): the quick sequential run and AFL with the built-in agents on 5 LastFM users.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { LossViewState } from '../../webview/contract';
import { buildViewState } from '../../extension/viewState';
import { buildRunPage, buildRunsState } from '../../extension/runPage';
import { readEvents, readRunInfo } from '../../core/experiment/runStore';
import { formatRunProgress } from '../../core/experiment/runProgress';
import type { RunEvent } from '../../core/experiment/events';
import { realRun } from '../realRuns';
import { viewSuite } from './viewSuite';

const views = viewSuite();

/** The text of a row's cell under the column `col` (the first cell is the selection box). */
async function cellOf(page: Page, rowKey: string, col: string): Promise<string> {
  return page.evaluate(
    ([k, c]) => {
      const cols = [...document.querySelectorAll('#runs th')].map((th) => th.getAttribute('data-col'));
      const i = cols.indexOf(c);
      const row = document.querySelector(`#runs tr.row[data-key="${k}"]`);
      return i < 0 || !row ? `(no ${i < 0 ? 'column ' + c : 'row ' + k})` : (row.children[i]?.textContent ?? '');
    },
    [rowKey, col] as const,
  );
}

test("runs table: a running run's row follows its progress and metric events (the status bar's wording, the latest metric), not only its start and end", async () => {
  const quick = await realRun('quick');
  // the quick run as it was halfway: run.json "running" (this process stands in for its worker), the first half of its events
  const dir = join(mkdtempSync(join(tmpdir(), 'flowloop-runs-live-')), 'run');
  cpSync(quick.runDir, dir, { recursive: true });
  const info = readRunInfo(quick.runDir)!;
  writeFileSync(
    join(dir, 'run.json'),
    JSON.stringify({ ...info, status: 'running', pid: process.pid, durationMs: undefined, keyMetric: undefined }),
  );
  writeFileSync(join(dir, 'metrics.json'), '{}');
  const events = readEvents(quick.runDir).filter((e) => e.type !== 'run-finished');
  const live = events.filter((e) => e.type === 'progress' || e.type === 'metric');
  assert.ok(
    live.filter((e) => e.type === 'progress').length >= 3 && live.some((e) => e.type === 'metric'),
    `the quick run has progress and metric events (${live.length})`,
  );
  const half = events.findIndex((e) => e.type === 'progress') + 1; // just after its first progress event
  const state = buildRunsState([dir], () => events.slice(0, half));
  const row = state.runs[0];
  assert.equal(row.status, 'running');
  assert.ok(row.live?.progress, 'the host builds the live cells from the events so far');

  const v = await views.open('runs', { width: 1400, height: 500 });
  await v.send({ type: 'init', state });
  await v.page.waitForSelector('#runs th[data-col="progress"]');
  const lastProgress = (upTo: number) =>
    formatRunProgress(
      (
        events
          .slice(0, upTo)
          .filter((e) => e.type === 'progress')
          .at(-1) as Extract<RunEvent, { type: 'progress' }>
      ).run!,
    );
  assert.equal(await cellOf(v.page, info.id, 'progress'), lastProgress(half));
  // the rest arrives as increments, in a few batches: the row follows each one
  const rest = events.slice(half);
  const seen = new Set<string>();
  for (let k = 0; k < rest.length; k += Math.ceil(rest.length / 4)) {
    const batch = rest.slice(k, k + Math.ceil(rest.length / 4));
    const before = await v.page.evaluate(() => Number(document.body.dataset.rendered ?? 0));
    await v.send({ type: 'events', events: batch });
    if (!batch.some((e) => e.type === 'progress' || e.type === 'metric')) continue;
    await v.page.waitForFunction((b) => Number(document.body.dataset.rendered ?? 0) > b, before);
    const upTo = half + k + batch.length;
    const progress = await cellOf(v.page, info.id, 'progress');
    assert.equal(progress, lastProgress(upTo), `after ${upTo} events`);
    seen.add(progress);
    const m = events
      .slice(0, upTo)
      .filter((e) => e.type === 'metric')
      .at(-1) as Extract<RunEvent, { type: 'metric' }>;
    const latest = await cellOf(v.page, info.id, 'latest');
    assert.ok(latest.startsWith(`${m.name}${m.series ? ` (${m.series})` : ''} `) && latest.endsWith(`(step ${m.step})`), latest);
  }
  assert.ok(seen.size >= 2, `the progress cell changed during the run: ${[...seen].join(' | ')}`);
  // the run ends: the host sends a fresh init with the final status; the live columns go away
  await v.send({ type: 'init', state: buildRunsState([quick.runDir]) });
  await v.page.waitForFunction(() => !document.querySelector('#runs th[data-col="progress"]'));
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('a run has the same colour in every panel (from its id, not its place): loss curves in two orders, the runs table, the run page', async () => {
  const [quick, afl] = [await realRun('quick'), await realRun('afl')];
  const aflId = readRunInfo(afl.runDir)!.id;
  const quickId = readRunInfo(quick.runDir)!.id;
  const legendColours = async (dirs: string[]) => {
    const v = await views.open('loss', { width: 1100, height: 800 });
    await v.send({ type: 'init', state: buildViewState('loss', dirs) as LossViewState });
    await v.page.waitForSelector('#charts .chart .u-legend tr.u-series .u-marker');
    // legend label "<run name> · <metric>" → the marker's colour
    const out = await v.page.locator('#charts .chart .u-legend tr.u-series').evaluateAll((rows) =>
      rows
        .map((r) => ({ label: r.querySelector('.u-label')?.textContent ?? '', marker: r.querySelector('.u-marker') as HTMLElement | null }))
        .filter((x) => x.marker && x.label.includes(' · '))
        .map((x) => [x.label, getComputedStyle(x.marker!).borderColor]),
    );
    assert.deepEqual(await v.problems(), []);
    await v.page.close();
    return new Map(out as [string, string][]);
  };
  const a = await legendColours([quick.runDir, afl.runDir]);
  const b = await legendColours([afl.runDir, quick.runDir]);
  const aflName = readRunInfo(afl.runDir)!.name;
  const aflLabels = [...a.keys()].filter((l) => l.startsWith(`${aflName} · `));
  assert.ok(aflLabels.length >= 1, `AFL series in the legend: ${[...a.keys()].join(', ')}`);
  for (const l of [...a.keys()]) assert.equal(b.get(l), a.get(l), `${l}: the colour changed with the run's place in the panel`);
  const aflColour = a.get(aflLabels[0])!;

  const t = await views.open('runs');
  await t.send({ type: 'init', state: buildRunsState([afl.runDir, quick.runDir]) });
  await t.page.waitForSelector('#runs tr.row span.run-colour');
  const swatch = (key: string) =>
    t.page.locator(`#runs tr.row[data-key="${key}"] span.run-colour`).evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(await swatch(aflId), aflColour, "the runs table's swatch is the run's curve colour");
  assert.notEqual(await swatch(quickId), '', 'every row has a swatch');
  await t.page.close();

  const p = await views.open('run');
  await p.send({ type: 'init', state: buildRunPage(afl.runDir, []) });
  await p.page.waitForSelector('#run-colour');
  assert.equal(await p.page.locator('#run-colour').evaluate((e) => getComputedStyle(e).backgroundColor), aflColour, 'the run page');
  await p.page.close();
});
